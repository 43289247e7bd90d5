//! Service model files: `models/<name>/service.yaml` beside the model's manifests.
//!
//! The file says how the pods of each Deployment behave (serving, work, lifecycle, queues,
//! fan-out), which simulated signal each autoscaler trigger reads, what resources cost, and
//! the model's default scenario (workload, duration, SLOs). See the README for the schema.

use super::dist::{CountDist, DurationDist};
use super::model::*;
use super::outcome::Slo;
use super::workload::Workload;
use crate::manifest::{self, ManifestSet, Patch, PatchValue};
use crate::policy::hpa::{ControllerConfig, MetricSpec};
use crate::policy::keda::{Scaler, StreamMode};
use crate::time::SimDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the service model schema this build reads.
pub const SERVICE_FORMAT_VERSION: u32 = 1;

/// An error in a model: the file, the field path, the value and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct ModelError {
    pub file: String,
    pub field: String,
    pub message: String,
}

/// The `.yaml`/`.yml` files of a folder other than `service.yaml`, sorted.
fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| merr(dir, "(folder)", format!("cannot read: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                && p.file_name().is_some_and(|n| n != "service.yaml")
        })
        .collect();
    entries.sort();
    Ok(entries)
}

fn merr(file: &Path, field: impl Into<String>, message: impl Into<String>) -> ModelError {
    ModelError {
        file: file.display().to_string(),
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingSpec {
    /// Requests (or jobs) a pod serves at once.
    #[serde(default = "one_u32")]
    pub concurrency: u32,
    /// Waiting requests per pod (or in the shared queue) before rejecting.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: u32,
    /// Client timeout; absent: none.
    #[serde(default)]
    pub timeout_s: Option<f64>,
    #[serde(default)]
    pub routing: Routing,
    #[serde(default)]
    pub shared_queue: bool,
}

fn one_u32() -> u32 {
    1
}
fn default_queue_limit() -> u32 {
    100
}

impl Default for ServingSpec {
    fn default() -> Self {
        ServingSpec {
            concurrency: 1,
            queue_limit: 100,
            timeout_s: None,
            routing: Routing::default(),
            shared_queue: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkSpec {
    pub service_time: DurationDist,
    #[serde(default)]
    pub cpu_seconds_per_request: f64,
    #[serde(default)]
    pub idle_cpu_millicores: f64,
    #[serde(default)]
    pub memory_base_mib: f64,
    #[serde(default)]
    pub memory_per_inflight_mib: f64,
    /// Tokens used per completed request or job (exported as a counter).
    #[serde(default)]
    pub tokens: Option<DurationDist>,
    /// Extra service time per unit of a replayed trace's per-request attribute (e.g. seconds
    /// per generated token); jobs inherit their request's attribute.
    #[serde(default)]
    pub per_unit_s: f64,
    /// Tokens counted per unit of that attribute.
    #[serde(default)]
    pub tokens_per_unit: f64,
    /// Service time by label, when the replayed attribute is categorical (a request type).
    #[serde(default)]
    pub service_time_by_label: BTreeMap<String, DurationDist>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSpec {
    /// Scheduling + image pull + process start.
    #[serde(default = "default_startup")]
    pub startup: DurationDist,
    /// Readiness probe timing; absent: from the Deployment's readinessProbe.
    #[serde(default)]
    pub readiness_initial_delay_s: Option<f64>,
    #[serde(default)]
    pub readiness_period_s: Option<f64>,
    /// Time until a deleted pod leaves the Service's endpoints.
    #[serde(default = "default_removal")]
    pub endpoint_removal_delay_s: f64,
    /// Absent: the Deployment's terminationGracePeriodSeconds.
    #[serde(default)]
    pub grace_period_s: Option<f64>,
}

fn default_startup() -> DurationDist {
    DurationDist::Deterministic { value: 10.0 }
}
fn default_removal() -> f64 {
    1.0
}

impl Default for LifecycleSpec {
    fn default() -> Self {
        LifecycleSpec {
            startup: default_startup(),
            readiness_initial_delay_s: None,
            readiness_period_s: None,
            endpoint_removal_delay_s: 1.0,
            grace_period_s: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOutSpec {
    pub queue: String,
    pub count: CountDist,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    #[serde(default)]
    pub serving: ServingSpec,
    pub work: WorkSpec,
    #[serde(default)]
    pub lifecycle: LifecycleSpec,
    /// The queues this deployment's pods pull jobs from, in priority order.
    #[serde(default)]
    pub consumes: Vec<String>,
    #[serde(default)]
    pub fan_out: Vec<FanOutSpec>,
    /// Initial replicas; absent: the Deployment's spec.replicas within its autoscaler's range.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// p95 latency SLO of this deployment's requests or jobs, in ms (the entry deployment
    /// defaults to the scenario's SLO; others are not judged without one).
    #[serde(default)]
    pub slo_p95_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub name: String,
    pub kind: QueueKind,
    /// Waiting items beyond which new jobs are rejected (default 100000).
    #[serde(default = "default_max_length")]
    pub max_length: usize,
}

fn default_max_length() -> usize {
    100_000
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerSpec {
    #[serde(default = "s15")]
    pub sync_period_s: f64,
    #[serde(default = "t01")]
    pub tolerance: f64,
    #[serde(default = "s300")]
    pub downscale_stabilization_s: f64,
    #[serde(default = "s300")]
    pub cpu_initialization_period_s: f64,
    #[serde(default = "s30")]
    pub initial_readiness_delay_s: f64,
}

fn s15() -> f64 {
    15.0
}
fn s30() -> f64 {
    30.0
}
fn s300() -> f64 {
    300.0
}
fn t01() -> f64 {
    0.1
}

impl Default for ControllerSpec {
    fn default() -> Self {
        ControllerSpec {
            sync_period_s: 15.0,
            tolerance: 0.1,
            downscale_stabilization_s: 300.0,
            cpu_initialization_period_s: 300.0,
            initial_readiness_delay_s: 30.0,
        }
    }
}

/// The default scenario of a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    #[serde(default = "day")]
    pub duration_s: f64,
    pub workload: Workload,
    #[serde(default)]
    pub slo: Slo,
    #[serde(default = "w60")]
    pub window_s: f64,
}

fn day() -> f64 {
    86_400.0
}
fn w60() -> f64 {
    60.0
}

/// The whole `service.yaml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    pub format_version: u32,
    pub name: String,
    /// The deployment that receives the workload's requests.
    pub entry: String,
    pub scenario: ScenarioSpec,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub controller: ControllerSpec,
    #[serde(default)]
    pub cost: Cost,
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
    pub deployments: BTreeMap<String, DeploymentSpec>,
    /// `autoscaler name -> trigger name (or index) -> signal`.
    #[serde(default)]
    pub bindings: BTreeMap<String, BTreeMap<String, Signal>>,
}

/// A loaded model with its default scenario.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub model: Model,
    pub scenario: ScenarioSpec,
    pub manifests: ManifestSet,
    pub dir: PathBuf,
}

/// Text sources of a model: the service file and the manifests.
#[derive(Clone, Debug)]
pub struct ModelSources {
    pub dir: PathBuf,
    pub service: (PathBuf, String),
    pub manifests: Vec<(PathBuf, String)>,
}

impl ModelSources {
    /// Read a model folder: `service.yaml` and every other `.yaml`/`.yml` file.
    pub fn read_dir(dir: &Path) -> Result<Self, ModelError> {
        let service_path = dir.join("service.yaml");
        let service = std::fs::read_to_string(&service_path).map_err(|e| {
            merr(
                &service_path,
                "(file)",
                format!("cannot read: {e}; a model folder needs a service.yaml (see the README)"),
            )
        })?;
        let mut manifests = Vec::new();
        for p in manifest_files(dir)? {
            let t = std::fs::read_to_string(&p)
                .map_err(|e| merr(&p, "(file)", format!("cannot read: {e}")))?;
            manifests.push((p, t));
        }
        Ok(ModelSources {
            dir: dir.to_path_buf(),
            service: (service_path, service),
            manifests,
        })
    }

    /// Replace the manifests with the `.yaml`/`.yml` files of `dir` (e.g. a recommendation's
    /// `manifests/` folder), keeping the service model.
    pub fn with_manifests(mut self, dir: &Path) -> Result<Self, ModelError> {
        let entries = manifest_files(dir)?;
        if entries.is_empty() {
            return Err(merr(
                dir,
                "(folder)",
                "holds no .yaml manifests; pass the folder with the ScaledObjects/HPAs to validate (e.g. output/amas/manifests)",
            ));
        }
        self.manifests.clear();
        for p in entries {
            let t = std::fs::read_to_string(&p)
                .map_err(|e| merr(&p, "(file)", format!("cannot read: {e}")))?;
            self.manifests.push((p, t));
        }
        Ok(self)
    }

    /// Apply `--set PATH=VALUE` overrides: `model.<path>` (or `workload.<path>`, `slo.<path>`)
    /// edit service.yaml; `manifest.<object>.<path>` edits the object's manifest.
    pub fn apply_overrides(&mut self, sets: &[(String, String)]) -> Result<(), ModelError> {
        for (path, value) in sets {
            let (target, rest) = path
                .split_once('.')
                .ok_or_else(|| override_error(path, "a path has at least two parts"))?;
            match target {
                "model" | "workload" | "slo" | "duration_s" => {
                    let p = match target {
                        "model" => rest.to_string(),
                        "workload" => format!("scenario.workload.{rest}"),
                        _ => format!("scenario.{target}.{rest}"),
                    };
                    let (file, text) = &self.service;
                    let patched = manifest::apply_patches(
                        file,
                        text,
                        &[Patch {
                            doc: 0,
                            path: p,
                            value: PatchValue::scalar(value),
                        }],
                    )
                    .map_err(|e| merr(file, path, e.to_string()))?;
                    self.service.1 = patched;
                }
                "manifest" => {
                    let (object, field) = rest.split_once('.').ok_or_else(|| {
                        override_error(path, "write manifest.<object name>.<field path>")
                    })?;
                    let (object, kind) = match object.split_once('/') {
                        Some((k, n)) => (n, Some(k.to_ascii_lowercase())),
                        None => (object, None),
                    };
                    let mut done = false;
                    for (file, text) in self.manifests.iter_mut() {
                        let mut set = ManifestSet::default();
                        manifest::load_str(file, text, &mut set)
                            .map_err(|e| merr(file, "(manifest)", e.to_string()))?;
                        let mut docs: Vec<(&str, usize)> = Vec::new();
                        for s in &set.scaled_objects {
                            if s.spec.name == object {
                                docs.push(("scaledobject", s.source.doc));
                            }
                        }
                        for h in &set.hpas {
                            if h.name == object {
                                docs.push(("horizontalpodautoscaler", h.source.doc));
                            }
                        }
                        for d in &set.deployments {
                            if d.name == object {
                                docs.push(("deployment", d.source.doc));
                            }
                        }
                        let pick = match &kind {
                            Some(k) => docs.iter().find(|(dk, _)| dk == k),
                            None => docs.first(),
                        };
                        if let Some((_, doc)) = pick {
                            *text = manifest::apply_patches(
                                file,
                                text,
                                &[Patch {
                                    doc: *doc,
                                    path: field.to_string(),
                                    value: PatchValue::scalar(value),
                                }],
                            )
                            .map_err(|e| merr(file, path, e.to_string()))?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        return Err(override_error(
                            path,
                            &format!("no object named {object} in the model's manifests"),
                        ));
                    }
                }
                other => {
                    let hint = crate::manifest::error::did_you_mean(
                        other,
                        &["model", "manifest", "workload", "slo"],
                    )
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                    return Err(override_error(
                        path,
                        &format!(
                            "unknown root `{other}`{hint}: paths start with model., workload., slo. or manifest.<object>."
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Parse and validate into a runnable model.
    pub fn load(&self) -> Result<LoadedModel, ModelError> {
        let (spath, stext) = &self.service;
        let file: ServiceFile = serde_saphyr::from_str(stext)
            .map_err(|e| merr(spath, "(schema)", first_lines(&e.to_string())))?;
        let mut set = ManifestSet::default();
        for (p, t) in &self.manifests {
            manifest::load_str(p, t, &mut set).map_err(|e| {
                merr(
                    p,
                    e.field.clone().unwrap_or_else(|| "(manifest)".into()),
                    e.to_string(),
                )
            })?;
            set.files.push(p.clone());
        }
        build(&self.dir, spath, file, set)
    }
}

fn first_lines(s: &str) -> String {
    s.lines().take(8).collect::<Vec<_>>().join("\n")
}

fn override_error(path: &str, msg: &str) -> ModelError {
    ModelError {
        file: "--set".into(),
        field: path.into(),
        message: msg.into(),
    }
}

fn build(
    dir: &Path,
    spath: &Path,
    mut f: ServiceFile,
    set: ManifestSet,
) -> Result<LoadedModel, ModelError> {
    let e = |field: &str, msg: String| merr(spath, field, msg);
    if f.format_version != SERVICE_FORMAT_VERSION {
        return Err(e(
            "format_version",
            format!(
                "this build reads format_version {SERVICE_FORMAT_VERSION} (found {})",
                f.format_version
            ),
        ));
    }
    let pos = |field: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(e(field, format!("must be > 0 (found {v})")))
        }
    };
    let nonneg = |field: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(e(field, format!("must be >= 0 (found {v})")))
        }
    };
    pos("scenario.duration_s", f.scenario.duration_s)?;
    pos("scenario.window_s", f.scenario.window_s)?;
    f.scenario
        .workload
        .validate()
        .map_err(|m| e("scenario.workload", m))?;
    let slo = f.scenario.slo;
    pos("scenario.slo.p95_ms", slo.p95_ms)?;
    if !(0.0..=1.0).contains(&slo.success_rate) || !(0.0..=1.0).contains(&slo.window_attainment) {
        return Err(e(
            "scenario.slo",
            "success_rate and window_attainment are fractions between 0 and 1".into(),
        ));
    }
    pos("metrics.scrape_interval_s", f.metrics.scrape_interval_s)?;
    pos(
        "metrics.metrics_server_resolution_s",
        f.metrics.metrics_server_resolution_s,
    )?;
    if f.metrics.latency_buckets_s.is_empty()
        || f.metrics.latency_buckets_s.windows(2).any(|w| w[1] <= w[0])
    {
        return Err(e(
            "metrics.latency_buckets_s",
            "must be a non-empty, strictly increasing list of seconds".into(),
        ));
    }
    let c = &f.controller;
    pos("controller.sync_period_s", c.sync_period_s)?;
    nonneg("controller.tolerance", c.tolerance)?;
    nonneg(
        "controller.downscale_stabilization_s",
        c.downscale_stabilization_s,
    )?;
    nonneg(
        "controller.cpu_initialization_period_s",
        c.cpu_initialization_period_s,
    )?;
    nonneg(
        "controller.initial_readiness_delay_s",
        c.initial_readiness_delay_s,
    )?;
    nonneg("cost.cpu_hour", f.cost.cpu_hour)?;
    nonneg("cost.gib_hour", f.cost.gib_hour)?;
    nonneg("cost.pod_hour", f.cost.pod_hour)?;
    let secs = |s: f64| SimDuration::from_micros((s * 1e6).round() as i64);
    let controller = ControllerConfig {
        sync_period: secs(c.sync_period_s),
        tolerance: c.tolerance,
        downscale_stabilization: secs(c.downscale_stabilization_s),
        cpu_initialization_period: secs(c.cpu_initialization_period_s),
        initial_readiness_delay: secs(c.initial_readiness_delay_s),
        ..ControllerConfig::default()
    };

    let mut queue_names = Vec::new();
    for (i, q) in f.queues.iter().enumerate() {
        if queue_names.contains(&q.name) {
            return Err(e(
                &format!("queues[{i}].name"),
                format!("queue {} is declared twice", q.name),
            ));
        }
        queue_names.push(q.name.clone());
    }
    let queue_idx = |field: &str, name: &str| {
        queue_names.iter().position(|q| q == name).ok_or_else(|| {
            e(
                field,
                format!(
                    "unknown queue `{name}` (declared: {})",
                    queue_names.join(", ")
                ),
            )
        })
    };

    let names: Vec<String> = f.deployments.keys().cloned().collect();
    let mut deployments = Vec::new();
    for (name, d) in f.deployments.iter_mut() {
        let p = format!("deployments.{name}");
        let Some(m) = set.deployments.iter().find(|x| &x.name == name) else {
            let known: Vec<&str> = set.deployments.iter().map(|d| d.name.as_str()).collect();
            return Err(e(
                &p,
                format!(
                    "no Deployment named {name} in the model's manifests (found: {})",
                    known.join(", ")
                ),
            ));
        };
        let s = &d.serving;
        if s.concurrency == 0 {
            return Err(e(
                &format!("{p}.serving.concurrency"),
                "must be >= 1 (found 0)".into(),
            ));
        }
        if let Some(t) = s.timeout_s {
            pos(&format!("{p}.serving.timeout_s"), t)?;
        }
        for dist in [&mut d.work.service_time, &mut d.lifecycle.startup] {
            dist.load(dir).map_err(|m| e(&p, m))?;
        }
        d.work
            .service_time
            .validate()
            .map_err(|m| e(&format!("{p}.work.service_time"), m))?;
        d.lifecycle
            .startup
            .validate()
            .map_err(|m| e(&format!("{p}.lifecycle.startup"), m))?;
        if let Some(t) = &d.work.tokens {
            t.validate()
                .map_err(|m| e(&format!("{p}.work.tokens"), m))?;
        }
        for (k, v) in [
            (
                "work.cpu_seconds_per_request",
                d.work.cpu_seconds_per_request,
            ),
            ("work.idle_cpu_millicores", d.work.idle_cpu_millicores),
            ("work.per_unit_s", d.work.per_unit_s),
            ("work.tokens_per_unit", d.work.tokens_per_unit),
            ("work.memory_base_mib", d.work.memory_base_mib),
            (
                "work.memory_per_inflight_mib",
                d.work.memory_per_inflight_mib,
            ),
            (
                "lifecycle.endpoint_removal_delay_s",
                d.lifecycle.endpoint_removal_delay_s,
            ),
        ] {
            nonneg(&format!("{p}.{k}"), v)?;
        }
        let probe = m.readiness();
        let initial_delay = d
            .lifecycle
            .readiness_initial_delay_s
            .unwrap_or(probe.map(|r| r.initial_delay_seconds as f64).unwrap_or(0.0));
        let period = d
            .lifecycle
            .readiness_period_s
            .unwrap_or(probe.map(|r| r.period_seconds as f64).unwrap_or(10.0));
        nonneg(
            &format!("{p}.lifecycle.readiness_initial_delay_s"),
            initial_delay,
        )?;
        pos(&format!("{p}.lifecycle.readiness_period_s"), period)?;
        let grace = d
            .lifecycle
            .grace_period_s
            .unwrap_or(m.termination_grace_period_seconds as f64);
        nonneg(&format!("{p}.lifecycle.grace_period_s"), grace)?;
        let consumes = d
            .consumes
            .iter()
            .enumerate()
            .map(|(i, q)| queue_idx(&format!("{p}.consumes[{i}]"), q))
            .collect::<Result<Vec<_>, _>>()?;
        let mut fan_out = Vec::new();
        for (i, fo) in d.fan_out.iter().enumerate() {
            fo.count
                .validate()
                .map_err(|m| e(&format!("{p}.fan_out[{i}].count"), m))?;
            fan_out.push((
                queue_idx(&format!("{p}.fan_out[{i}].queue"), &fo.queue)?,
                fo.count.clone(),
            ));
        }
        let mut dm = DeploymentModel::new(name, d.work.service_time.clone())
            .map_err(|m| e(&format!("{p}.work.service_time"), m))?;
        dm.concurrency = s.concurrency;
        dm.queue_limit = s.queue_limit;
        dm.timeout_us = s.timeout_s.map(|t| (t * 1e6) as i64).unwrap_or(i64::MAX);
        dm.routing = s.routing;
        dm.shared_queue = s.shared_queue;
        dm.cpu_seconds_per_request = d.work.cpu_seconds_per_request;
        dm.per_unit_s = d.work.per_unit_s;
        dm.tokens_per_unit = d.work.tokens_per_unit;
        for (label, dist) in d.work.service_time_by_label.iter_mut() {
            let field = format!("{p}.work.service_time_by_label.{label}");
            dist.load(dir).map_err(|m| e(&field, m))?;
            dist.validate().map_err(|m| e(&field, m))?;
            dm.service_by_label
                .push((label.clone(), dist.sampler().map_err(|m| e(&field, m))?));
        }
        dm.idle_cpu_millicores = d.work.idle_cpu_millicores;
        dm.memory_base_bytes = d.work.memory_base_mib * 1048576.0;
        dm.memory_per_inflight_bytes = d.work.memory_per_inflight_mib * 1048576.0;
        dm.startup = d
            .lifecycle
            .startup
            .sampler()
            .map_err(|m| e(&format!("{p}.lifecycle.startup"), m))?;
        dm.readiness_initial_delay_us = (initial_delay * 1e6) as i64;
        dm.readiness_period_us = (period * 1e6) as i64;
        dm.endpoint_removal_delay_us = (d.lifecycle.endpoint_removal_delay_s * 1e6) as i64;
        dm.grace_period_us = (grace * 1e6) as i64;
        dm.consumes = consumes;
        dm.fan_out = fan_out;
        dm.tokens = d
            .work
            .tokens
            .as_ref()
            .map(|t| t.sampler())
            .transpose()
            .map_err(|m| e(&format!("{p}.work.tokens"), m))?;
        dm.cpu_request_milli = m.cpu_request_milli().unwrap_or(0);
        dm.memory_request_bytes = m
            .containers
            .iter()
            .filter_map(|c| c.memory_request_milli)
            .sum::<i64>() as f64
            / 1000.0;
        dm.container = m
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "app".into());
        dm.initial_replicas = d.replicas.unwrap_or(m.replicas.unwrap_or(1).max(0) as u32);
        if let Some(v) = d.slo_p95_ms {
            pos(&format!("{p}.slo_p95_ms"), v)?;
        }
        dm.slo_p95_ms = d.slo_p95_ms;
        deployments.push(dm);
    }
    for (qi, q) in queue_names.iter().enumerate() {
        let consumers = deployments
            .iter()
            .filter(|d| d.consumes.contains(&qi))
            .count();
        if consumers == 0 {
            return Err(e(
                "queues",
                format!(
                    "queue {q} has no consumer: add it to `consumes:` of the deployment that processes it"
                ),
            ));
        }
        if consumers > 1 {
            return Err(e(
                "queues",
                format!("queue {q} has {consumers} consumers; one deployment consumes a queue"),
            ));
        }
    }
    let entry = names.iter().position(|n| *n == f.entry).ok_or_else(|| {
        e(
            "entry",
            format!(
                "`{}` is not one of the model's deployments ({})",
                f.entry,
                names.join(", ")
            ),
        )
    })?;

    let mut autoscalers = Vec::new();
    let mut bound_names: Vec<String> = Vec::new();
    for so in &set.scaled_objects {
        let Some(dep) = names.iter().position(|n| *n == so.spec.target_name) else {
            continue;
        };
        let bindings = f.bindings.get(&so.spec.name);
        bound_names.push(so.spec.name.clone());
        if let Some(b) = bindings {
            for k in b.keys() {
                let known = so
                    .spec
                    .triggers
                    .iter()
                    .enumerate()
                    .any(|(i, t)| t.name.as_deref() == Some(k.as_str()) || i.to_string() == *k);
                if !known {
                    let names: Vec<String> = so
                        .spec
                        .triggers
                        .iter()
                        .enumerate()
                        .map(|(i, t)| t.name.clone().unwrap_or_else(|| i.to_string()))
                        .collect();
                    return Err(e(
                        &format!("bindings.{}.{k}", so.spec.name),
                        format!(
                            "ScaledObject {} has no trigger `{k}` (triggers: {})",
                            so.spec.name,
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut signals = Vec::new();
        for (i, t) in so.spec.triggers.iter().enumerate() {
            let key = t.name.clone().unwrap_or_else(|| i.to_string());
            let field = format!("bindings.{}.{key}", so.spec.name);
            let explicit = bindings.and_then(|b| b.get(&key).or_else(|| b.get(&i.to_string())));
            let sig = match (explicit, &t.scaler) {
                (_, Scaler::Resource { .. }) => None,
                (Some(s), _) => Some(resolve(s, &field, dep, &names, &queue_names, spath)?),
                (None, Scaler::Redis { list_name, .. }) => {
                    match queue_names.iter().position(|q| q == list_name) {
                        Some(q) => Some(SignalRef::QueueLength { queue: q }),
                        None => {
                            return Err(e(
                                &field,
                                format!(
                                    "trigger {key} of {} reads Redis list {list_name}, which is not a model queue; declare it under queues or bind the trigger",
                                    so.spec.name
                                ),
                            ));
                        }
                    }
                }
                (None, Scaler::RedisStreams { stream, mode, .. }) => {
                    match queue_names.iter().position(|q| q == stream) {
                        Some(q) => Some(match mode {
                            StreamMode::PendingEntries => SignalRef::StreamPending { queue: q },
                            StreamMode::StreamLength => SignalRef::StreamLength { queue: q },
                            StreamMode::Lag => SignalRef::StreamLag { queue: q },
                        }),
                        None => {
                            return Err(e(
                                &field,
                                format!(
                                    "trigger {key} of {} reads stream {stream}, which is not a model queue",
                                    so.spec.name
                                ),
                            ));
                        }
                    }
                }
                (None, _) => {
                    return Err(e(
                        &field,
                        format!(
                            "trigger {key} ({}) of ScaledObject {} is bound to no signal: add bindings.{}.{key}: {{signal: request_rate|in_flight|latency_quantile|queue_length|stream_pending|stream_length|stream_lag|token_rate|constant, ...}}",
                            t.type_name(),
                            so.spec.name,
                            so.spec.name
                        ),
                    ));
                }
            };
            signals.push(sig);
        }
        autoscalers.push(Autoscaler {
            name: so.spec.name.clone(),
            deployment: dep,
            kind: AutoscalerKind::Keda {
                spec: Box::new(so.spec.clone()),
                signals,
            },
        });
        let d = &mut deployments[dep];
        if f.deployments[&names[dep]].replicas.is_none() {
            d.initial_replicas = d.initial_replicas.clamp(
                so.spec.min_replica_count.max(0) as u32,
                so.spec.max_replica_count.max(1) as u32,
            );
        }
    }
    for h in &set.hpas {
        let Some(dep) = names.iter().position(|n| *n == h.target_name) else {
            continue;
        };
        let bindings = f.bindings.get(&h.name);
        bound_names.push(h.name.clone());
        let mut signals = Vec::new();
        for m in &h.spec.metrics {
            let metric = match m {
                MetricSpec::Pods { metric, .. }
                | MetricSpec::Object { metric, .. }
                | MetricSpec::External { metric, .. } => metric,
                _ => continue,
            };
            let field = format!("bindings.{}.{metric}", h.name);
            let s = bindings.and_then(|b| b.get(metric)).ok_or_else(|| {
                e(
                    &field,
                    format!("metric {metric} of HPA {} is bound to no signal", h.name),
                )
            })?;
            signals.push((
                metric.clone(),
                resolve(s, &field, dep, &names, &queue_names, spath)?,
            ));
        }
        autoscalers.push(Autoscaler {
            name: h.name.clone(),
            deployment: dep,
            kind: AutoscalerKind::Hpa {
                spec: h.spec.clone(),
                signals,
            },
        });
        let d = &mut deployments[dep];
        if f.deployments[&names[dep]].replicas.is_none() {
            d.initial_replicas = d.initial_replicas.clamp(
                h.spec.min_replicas.max(0) as u32,
                h.spec.max_replicas.max(1) as u32,
            );
        }
    }
    for k in f.bindings.keys() {
        if !bound_names.contains(k) {
            return Err(e(
                &format!("bindings.{k}"),
                format!("no ScaledObject or HPA named {k} targets a model deployment"),
            ));
        }
    }
    let model = Model {
        name: f.name.clone(),
        deployments,
        queues: f
            .queues
            .iter()
            .map(|q| QueueModel {
                name: q.name.clone(),
                kind: q.kind,
                max_length: q.max_length,
            })
            .collect(),
        autoscalers,
        entry,
        metrics: f.metrics.clone(),
        controller,
        cost: f.cost,
    };
    Ok(LoadedModel {
        model,
        scenario: f.scenario,
        manifests: set,
        dir: dir.to_path_buf(),
    })
}

fn resolve(
    s: &Signal,
    field: &str,
    default_dep: usize,
    deps: &[String],
    queues: &[String],
    file: &Path,
) -> Result<SignalRef, ModelError> {
    let dep = |d: &Option<String>| match d {
        None => Ok(default_dep),
        Some(n) => deps.iter().position(|x| x == n).ok_or_else(|| {
            merr(
                file,
                field,
                format!(
                    "unknown deployment `{n}` (model deployments: {})",
                    deps.join(", ")
                ),
            )
        }),
    };
    let queue = |q: &str| {
        queues.iter().position(|x| x == q).ok_or_else(|| {
            merr(
                file,
                field,
                format!("unknown queue `{q}` (declared: {})", queues.join(", ")),
            )
        })
    };
    let window = |w: f64| {
        if w.is_finite() && w > 0.0 {
            Ok((w * 1e6) as i64)
        } else {
            Err(merr(
                file,
                format!("{field}.window_s"),
                format!("must be > 0 (found {w})"),
            ))
        }
    };
    Ok(match s {
        Signal::RequestRate {
            deployment,
            window_s,
        } => SignalRef::RequestRate {
            dep: dep(deployment)?,
            window_us: window(*window_s)?,
        },
        Signal::InFlight { deployment } => SignalRef::InFlight {
            dep: dep(deployment)?,
        },
        Signal::LatencyQuantile {
            deployment,
            quantile,
            window_s,
        } => {
            if !(0.0..=1.0).contains(quantile) {
                return Err(merr(
                    file,
                    format!("{field}.quantile"),
                    format!("must be between 0 and 1 (found {quantile})"),
                ));
            }
            SignalRef::LatencyQuantile {
                dep: dep(deployment)?,
                q: *quantile,
                window_us: window(*window_s)?,
            }
        }
        Signal::QueueLength { queue: q } => SignalRef::QueueLength { queue: queue(q)? },
        Signal::StreamPending { queue: q } => SignalRef::StreamPending { queue: queue(q)? },
        Signal::StreamLength { queue: q } => SignalRef::StreamLength { queue: queue(q)? },
        Signal::StreamLag { queue: q } => SignalRef::StreamLag { queue: queue(q)? },
        Signal::TokenRate {
            deployment,
            window_s,
        } => SignalRef::TokenRate {
            dep: dep(deployment)?,
            window_us: window(*window_s)?,
        },
        Signal::Constant { value } => SignalRef::Constant(*value),
        Signal::OfferedRate => SignalRef::OfferedRate,
    })
}

/// The embedded AMAS model's sources.
pub fn embedded_amas() -> ModelSources {
    ModelSources {
        dir: PathBuf::from("models/amas"),
        service: (
            PathBuf::from("models/amas/service.yaml"),
            include_str!("../../models/amas/service.yaml").to_string(),
        ),
        manifests: crate::models::AMAS
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect(),
    }
}
