//! Service model files: `models/<name>/service.yaml` beside the model's manifests.
//!
//! The file says how the pods of each Deployment behave (serving, work, lifecycle, queues,
//! fan-out), which simulated signal each autoscaler trigger reads, what resources cost, and
//! the model's default scenario (workload, duration, SLOs). See the README for the schema.

mod build;
mod settings;
pub mod skeleton;

use build::*;
pub use settings::{ITEM_OFF, ITEM_ON, ParsedModel, Setting};

use crate::engine::dist::{CountDist, DurationDist};
use crate::engine::model::*;
use crate::engine::outcome::Slo;
use crate::engine::workload::Workload;
use crate::manifest::{self, ManifestSet, Patch, PatchValue};
use crate::policy::hpa::ControllerConfig;
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
pub fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
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

impl ScenarioSpec {
    /// The settings of one run of this scenario with `seed`: its duration, windows and SLOs,
    /// decisions recorded, no warm-up. The one place a run's settings are assembled; callers
    /// change what they need with `..`.
    pub fn run_config(&self, seed: u64) -> crate::engine::RunConfig {
        crate::engine::RunConfig {
            duration_s: self.duration_s,
            seed,
            window_s: self.window_s,
            slo: self.slo,
            record_decisions: true,
            warmup_s: 0.0,
        }
    }
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

    /// Lay the `.yaml`/`.yml` files of `dir` over the model's manifests (e.g. a
    /// recommendation's `manifests/` folder, which holds only the files it changed): a file
    /// named like one of the model's replaces it, any other is added; the service model and
    /// the model's other files are kept.
    pub fn with_manifests(mut self, dir: &Path) -> Result<Self, ModelError> {
        let entries = manifest_files(dir)?;
        if entries.is_empty() {
            return Err(merr(
                dir,
                "(folder)",
                "holds no .yaml manifests; pass the folder with the ScaledObjects/HPAs to validate (e.g. output/amas/manifests)",
            ));
        }
        for p in entries {
            let t = std::fs::read_to_string(&p)
                .map_err(|e| merr(&p, "(file)", format!("cannot read: {e}")))?;
            // A file of the same name replaces the model's; any other is added to them.
            match self
                .manifests
                .iter_mut()
                .find(|(q, _)| q.file_name() == p.file_name())
            {
                Some(slot) => *slot = (p, t),
                None => self.manifests.push((p, t)),
            }
        }
        Ok(self)
    }

    /// Write `PATH=VALUE` settings into the files' text, every other byte kept: for the
    /// recommendation's manifests, which users read and commit. Runs compile settings from
    /// the parsed files instead (`ParsedModel`); the two agree (see the tests of `settings`).
    pub fn apply_overrides(&mut self, sets: &[(String, String)]) -> Result<(), ModelError> {
        // As runs apply them: list items switched off after every field is set.
        let mut sets: Vec<&(String, String)> = sets.iter().collect();
        sets.sort_by_key(|(_, v)| v == settings::ITEM_OFF || v == settings::ITEM_ON);
        for (path, value) in sets {
            let setting = ParsedModel::parse(self)?.setting(path)?;
            if setting.names_item() {
                if value != settings::ITEM_OFF {
                    continue;
                }
                let (Some(i), patch) = setting.patch(value) else {
                    continue;
                };
                let (name, text) = &mut self.manifests[i];
                *text = manifest::patch::remove_item(name, text, patch.doc, &patch.path)
                    .map_err(|e| merr(name, path, e.to_string()))?;
                // Its binding goes too, as runs drop it.
                if let Some((object, trigger)) = settings::switched_trigger(path) {
                    let (name, text) = &mut self.service;
                    if let Ok(t) = manifest::patch::remove_item(
                        name,
                        text,
                        0,
                        &format!("bindings.{object}.{trigger}"),
                    ) {
                        *text = t;
                    }
                    // An object left with no binding goes too (an empty entry is not a map),
                    // and then `bindings` if it is left empty.
                    for at in [format!("bindings.{object}"), "bindings".to_string()] {
                        let empty = manifest::yaml::parse(text).ok().is_some_and(|docs| {
                            docs.first()
                                .and_then(|d| d.root.as_ref())
                                .and_then(|r| manifest::patch::find(r, &manifest::split_path(&at)))
                                .is_some_and(|n| n.is_null())
                        });
                        if empty && let Ok(t) = manifest::patch::remove_item(name, text, 0, &at) {
                            *text = t;
                        }
                    }
                }
                continue;
            }
            let (file, patch) = setting.patch(value);
            let (name, text) = match file {
                None => (&self.service.0, &mut self.service.1),
                Some(i) => {
                    let (n, t) = &mut self.manifests[i];
                    (&*n, t)
                }
            };
            *text = manifest::apply_patches(name, text, &[patch])
                .map_err(|e| merr(name, path, e.to_string()))?;
        }
        Ok(())
    }

    /// Parse and validate into a runnable model.
    pub fn load(&self) -> Result<LoadedModel, ModelError> {
        ParsedModel::parse(self)?.compile(&[])
    }
}

fn first_lines(s: &str) -> String {
    s.lines().take(8).collect::<Vec<_>>().join("\n")
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
