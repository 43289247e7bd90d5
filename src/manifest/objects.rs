//! Deployments, HorizontalPodAutoscalers and KEDA ScaledObjects as scaletwin reads them.

use super::error::{ErrorKind, ManifestError, ManifestWarning};
use super::read::{Ctx, R, join, opt};
use super::yaml::{self, Kind, Node};
use crate::policy::hpa::{
    Behavior, HpaSpec, MetricSpec, MetricTarget, ObjectRef, PolicyType, ScalingPolicy,
    ScalingRules, SelectPolicy,
};
use crate::policy::keda::formula::Formula;
use crate::policy::keda::{
    Annotations, Fallback, FallbackBehavior, ScaledObjectSpec, Scaler, ScalingModifiers,
    StreamMode, Trigger, TriggerMetricType,
};
use crate::time::SimDuration;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an object was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub file: PathBuf,
    /// Index of the YAML document in the file (0-based).
    pub doc: usize,
    /// Line of the document's root.
    pub line: usize,
}

/// Lines of the fields that were read, by dotted path (for lint findings and reports).
pub type FieldLines = BTreeMap<String, usize>;

/// A readiness probe's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadinessProbe {
    pub initial_delay_seconds: i64,
    pub period_seconds: i64,
    pub failure_threshold: i64,
    pub success_threshold: i64,
}

/// A container's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub cpu_request_milli: Option<i64>,
    pub memory_request_milli: Option<i64>,
    pub cpu_limit_milli: Option<i64>,
    pub memory_limit_milli: Option<i64>,
    pub readiness: Option<ReadinessProbe>,
}

/// An `apps/v1` Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub namespace: String,
    /// `spec.replicas` (`None`: unset, the API default is 1).
    pub replicas: Option<i32>,
    pub containers: Vec<ContainerSpec>,
    pub termination_grace_period_seconds: i64,
    pub source: Source,
    pub lines: FieldLines,
}

impl Deployment {
    /// The sum of the containers' CPU requests, when every container has one.
    pub fn cpu_request_milli(&self) -> Option<i64> {
        self.containers.iter().map(|c| c.cpu_request_milli).sum()
    }
    /// The first readiness probe among the containers.
    pub fn readiness(&self) -> Option<ReadinessProbe> {
        self.containers.iter().find_map(|c| c.readiness)
    }
}

/// An `autoscaling/v2` (or `v2beta2`, `v1`) HorizontalPodAutoscaler.
#[derive(Clone, Debug, PartialEq)]
pub struct HorizontalPodAutoscaler {
    pub name: String,
    pub namespace: String,
    pub api_version: String,
    pub target_kind: String,
    pub target_name: String,
    pub spec: HpaSpec,
    pub source: Source,
    pub lines: FieldLines,
}

/// A `keda.sh/v1alpha1` ScaledObject.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaledObject {
    pub spec: ScaledObjectSpec,
    pub source: Source,
    pub lines: FieldLines,
}

/// An object of a kind scaletwin does not model (kept so the caller can say so).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub source: Source,
}

/// Everything read from a set of manifest files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManifestSet {
    pub files: Vec<PathBuf>,
    pub deployments: Vec<Deployment>,
    pub hpas: Vec<HorizontalPodAutoscaler>,
    pub scaled_objects: Vec<ScaledObject>,
    pub skipped: Vec<SkippedObject>,
    pub warnings: Vec<ManifestWarning>,
}

impl ManifestSet {
    /// The Deployment a ScaledObject or HPA targets, by namespace and name.
    pub fn deployment(&self, namespace: &str, name: &str) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.namespace == namespace && d.name == name)
    }
}

/// Read every `.yaml`/`.yml` file under the given files and folders (folders recursively, in
/// name order).
pub fn load_paths(paths: &[PathBuf]) -> Result<ManifestSet, ManifestError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(ManifestError {
            kind: ErrorKind::Io,
            file: paths.first().cloned().unwrap_or_default(),
            line: 0,
            field: None,
            value: None,
            message: "no YAML files found".into(),
            hint: Some("name files or folders that contain .yaml or .yml manifests".into()),
        });
    }
    let mut set = ManifestSet::default();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| io_error(&f, &e))?;
        load_str(&f, &text, &mut set)?;
        set.files.push(f);
    }
    Ok(set)
}

fn io_error(f: &Path, e: &std::io::Error) -> ManifestError {
    ManifestError {
        kind: ErrorKind::Io,
        file: f.to_path_buf(),
        line: 0,
        field: None,
        value: None,
        message: format!("cannot read: {e}"),
        hint: Some("check the path and its permissions".into()),
    }
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let meta = std::fs::metadata(p).map_err(|e| io_error(p, &e))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| io_error(p, &e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                collect(&e, out)?;
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// Read the objects of one file's text into `set`.
pub fn load_str(file: &Path, text: &str, set: &mut ManifestSet) -> Result<(), ManifestError> {
    let docs = yaml::parse(text).map_err(|e| ManifestError {
        kind: ErrorKind::Syntax,
        file: file.to_path_buf(),
        line: e.line,
        field: None,
        value: None,
        message: format!("YAML syntax error at column {}: {}", e.col + 1, e.message),
        hint: Some("fix the YAML (indentation, quotes, brackets) and try again".into()),
    })?;
    let mut warnings = std::mem::take(&mut set.warnings);
    let mut ctx = Ctx {
        file,
        warnings: &mut warnings,
    };
    let result = (|| {
        for (i, doc) in docs.iter().enumerate() {
            let Some(root) = &doc.root else { continue };
            object(
                &mut ctx,
                root,
                Source {
                    file: file.to_path_buf(),
                    doc: i,
                    line: root.start.line,
                },
                set,
            )?;
        }
        Ok(())
    })();
    set.warnings = warnings;
    result
}

fn object(ctx: &mut Ctx, root: &Node, source: Source, set: &mut ManifestSet) -> R<()> {
    let root = ctx.map(root, "(document)")?;
    let api = opt(root, "apiVersion")
        .map(|n| ctx.string(n, "apiVersion"))
        .transpose()?;
    let kind = opt(root, "kind")
        .map(|n| ctx.string(n, "kind"))
        .transpose()?;
    if api.is_none() && kind.is_none() && root.get("format_version").is_some() {
        // One of scaletwin's own files (a service model, an experiment) in the same folder.
        set.skipped.push(SkippedObject {
            api_version: String::new(),
            kind: "scaletwin file".into(),
            name: String::new(),
            source,
        });
        return Ok(());
    }
    let (Some(api), Some(kind)) = (api, kind) else {
        return Err(ctx.missing(
            root,
            if root.get("kind").is_none() {
                "kind"
            } else {
                "apiVersion"
            },
            "every Kubernetes object needs apiVersion and kind",
        ));
    };
    let name = || -> R<String> {
        let meta = opt(root, "metadata")
            .ok_or_else(|| ctx.missing(root, "metadata", "add metadata.name"))?;
        let n = opt(meta, "name")
            .ok_or_else(|| ctx.missing(meta, "metadata.name", "give the object a name"))?;
        ctx.string(n, "metadata.name")
    };
    match kind.as_str() {
        "List" => {
            if let Some(items) = opt(root, "items") {
                for item in ctx.seq(items, "items")? {
                    object(
                        ctx,
                        item,
                        Source {
                            line: item.start.line,
                            ..source.clone()
                        },
                        set,
                    )?;
                }
            }
        }
        "ScaledObject" => {
            if api != "keda.sh/v1alpha1" {
                let hint = if api.starts_with("keda.k8s.io") {
                    "this is the KEDA v1 schema; KEDA 2.x uses apiVersion keda.sh/v1alpha1 (see KEDA's v1->v2 migration guide: scaleTargetRef.deploymentName became scaleTargetRef.name)"
                } else {
                    "use apiVersion keda.sh/v1alpha1"
                };
                return Err(api_error(ctx, root, &api, hint));
            }
            let so = scaled_object(ctx, root, name()?, source)?;
            set.scaled_objects.push(so);
        }
        "HorizontalPodAutoscaler" => {
            if !matches!(
                api.as_str(),
                "autoscaling/v2" | "autoscaling/v2beta2" | "autoscaling/v1"
            ) {
                return Err(api_error(ctx, root, &api, "use apiVersion autoscaling/v2"));
            }
            let h = hpa(ctx, root, name()?, api, source)?;
            set.hpas.push(h);
        }
        "Deployment" => {
            if api != "apps/v1" {
                return Err(api_error(
                    ctx,
                    root,
                    &api,
                    "Deployments are read as apps/v1",
                ));
            }
            let d = deployment(ctx, root, name()?, source)?;
            set.deployments.push(d);
        }
        _ => {
            let name = name().unwrap_or_default();
            set.skipped.push(SkippedObject {
                api_version: api,
                kind,
                name,
                source,
            });
        }
    }
    Ok(())
}

fn api_error(ctx: &Ctx, root: &Node, api: &str, hint: &str) -> ManifestError {
    let node = root.get("apiVersion").unwrap_or(root);
    ManifestError {
        kind: ErrorKind::ApiVersion,
        ..ctx.error(
            node,
            "apiVersion",
            format!("apiVersion {api} is not supported"),
            Some(hint.into()),
        )
    }
}

fn namespace(ctx: &Ctx, root: &Node) -> R<String> {
    Ok(
        match opt(root, "metadata").and_then(|m| opt(m, "namespace")) {
            Some(n) => ctx.string(n, "metadata.namespace")?,
            None => "default".into(),
        },
    )
}

const I32: i64 = i32::MAX as i64;

fn deployment(ctx: &mut Ctx, root: &Node, name: String, source: Source) -> R<Deployment> {
    let namespace = namespace(ctx, root)?;
    let mut lines = FieldLines::new();
    let spec = opt(root, "spec").map(|s| ctx.map(s, "spec")).transpose()?;
    let mut replicas = None;
    let mut containers = Vec::new();
    let mut grace = 30;
    if let Some(spec) = spec {
        if let Some(r) = opt(spec, "replicas") {
            replicas = Some(ctx.int(
                r,
                "spec.replicas",
                0,
                I32,
                "replicas is a count of pods, 0 or more",
            )? as i32);
            lines.insert("spec.replicas".into(), r.start.line);
        }
        let pod = opt(spec, "template").and_then(|t| opt(t, "spec"));
        if let Some(pod) = pod {
            let pod = ctx.map(pod, "spec.template.spec")?;
            if let Some(g) = opt(pod, "terminationGracePeriodSeconds") {
                grace = ctx.int(
                    g,
                    "spec.template.spec.terminationGracePeriodSeconds",
                    0,
                    I32,
                    "seconds, 0 or more",
                )?;
            }
            if let Some(cs) = opt(pod, "containers") {
                for (i, c) in ctx
                    .seq(cs, "spec.template.spec.containers")?
                    .iter()
                    .enumerate()
                {
                    let path = format!("spec.template.spec.containers[{i}]");
                    containers.push(container(ctx, c, &path)?);
                }
            }
        }
    }
    if containers.is_empty() {
        ctx.warn(root.start.line, format!("Deployment {name} has no containers; CPU and memory metrics cannot be computed for it"));
    }
    Ok(Deployment {
        name,
        namespace,
        replicas,
        containers,
        termination_grace_period_seconds: grace,
        source,
        lines,
    })
}

fn container(ctx: &Ctx, c: &Node, path: &str) -> R<ContainerSpec> {
    let c = ctx.map(c, path)?;
    let name = opt(c, "name")
        .map(|n| ctx.string(n, &join(path, "name")))
        .transpose()?
        .unwrap_or_default();
    let res = opt(c, "resources");
    let q = |section: &str, key: &str| -> R<Option<i64>> {
        match res.and_then(|r| opt(r, section)).and_then(|s| opt(s, key)) {
            Some(n) => Ok(Some(
                ctx.quantity(n, &format!("{path}.resources.{section}.{key}"))?,
            )),
            None => Ok(None),
        }
    };
    let readiness = match opt(c, "readinessProbe") {
        None => None,
        Some(p) => {
            let pp = join(path, "readinessProbe");
            let g = |k: &str, d: i64, lo: i64| -> R<i64> {
                opt(p, k)
                    .map(|n| {
                        ctx.int(
                            n,
                            &join(&pp, k),
                            lo,
                            I32,
                            "a whole number of seconds or probes",
                        )
                    })
                    .transpose()
                    .map(|v| v.unwrap_or(d))
            };
            Some(ReadinessProbe {
                initial_delay_seconds: g("initialDelaySeconds", 0, 0)?,
                period_seconds: g("periodSeconds", 10, 1)?,
                failure_threshold: g("failureThreshold", 3, 1)?,
                success_threshold: g("successThreshold", 1, 1)?,
            })
        }
    };
    Ok(ContainerSpec {
        name,
        cpu_request_milli: q("requests", "cpu")?,
        memory_request_milli: q("requests", "memory")?,
        cpu_limit_milli: q("limits", "cpu")?,
        memory_limit_milli: q("limits", "memory")?,
        readiness,
    })
}

fn target_ref(ctx: &Ctx, spec: &Node, path: &str) -> R<(String, String)> {
    let r = opt(spec, "scaleTargetRef").ok_or_else(|| {
        ctx.missing(
            spec,
            &join(path, "scaleTargetRef"),
            "name the workload to scale: scaleTargetRef: {name: my-deployment}",
        )
    })?;
    let r = ctx.map(r, &join(path, "scaleTargetRef"))?;
    let name = opt(r, "name").ok_or_else(|| {
        let hint = if r.get("deploymentName").is_some() {
            "scaleTargetRef.deploymentName is KEDA v1; KEDA 2.x uses scaleTargetRef.name"
        } else {
            "set scaleTargetRef.name to the Deployment's name"
        };
        ctx.missing(r, &format!("{path}.scaleTargetRef.name"), hint)
    })?;
    let name = ctx.string(name, &format!("{path}.scaleTargetRef.name"))?;
    let kind = opt(r, "kind")
        .map(|k| ctx.string(k, &format!("{path}.scaleTargetRef.kind")))
        .transpose()?
        .unwrap_or_else(|| "Deployment".into());
    Ok((kind, name))
}

fn rules(ctx: &Ctx, n: &Node, path: &str, lines: &mut FieldLines) -> R<ScalingRules> {
    let n = ctx.map(n, path)?;
    ctx.known_keys(
        n,
        path,
        &[
            "stabilizationWindowSeconds",
            "selectPolicy",
            "policies",
            "tolerance",
        ],
    )?;
    let mut r = ScalingRules::default();
    if let Some(w) = opt(n, "stabilizationWindowSeconds") {
        let p = join(path, "stabilizationWindowSeconds");
        r.stabilization_window_seconds =
            Some(ctx.int(w, &p, 0, 3600, "the API accepts 0 to 3600 seconds")? as i32);
        lines.insert(p, w.start.line);
    }
    if let Some(s) = opt(n, "selectPolicy") {
        let p = join(path, "selectPolicy");
        r.select_policy = Some(match ctx.string(s, &p)?.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            _ => {
                return Err(ctx.error(
                    s,
                    &p,
                    "unknown selectPolicy",
                    Some("use Max, Min or Disabled".into()),
                ));
            }
        });
        lines.insert(p, s.start.line);
    }
    if let Some(t) = opt(n, "tolerance") {
        let p = join(path, "tolerance");
        let milli = ctx.quantity(t, &p)?;
        if milli < 0 {
            return Err(ctx.error(
                t,
                &p,
                "must be >= 0",
                Some("a fraction such as 0.05 (5 %)".into()),
            ));
        }
        r.tolerance = Some(milli as f64 / 1000.0);
        lines.insert(p, t.start.line);
    }
    if let Some(ps) = opt(n, "policies") {
        let pp = join(path, "policies");
        lines.insert(pp.clone(), ps.start.line);
        let items = ctx.seq(ps, &pp)?;
        if items.is_empty() {
            return Err(ctx.error(ps, &pp, "must have at least one policy", Some("add e.g. {type: Percent, value: 100, periodSeconds: 15} or remove the list to take the defaults".into())));
        }
        let mut out = Vec::new();
        for (i, p) in items.iter().enumerate() {
            let path = format!("{pp}[{i}]");
            let p = ctx.map(p, &path)?;
            ctx.known_keys(p, &path, &["type", "value", "periodSeconds"])?;
            let t = opt(p, "type")
                .ok_or_else(|| ctx.missing(p, &join(&path, "type"), "type is Pods or Percent"))?;
            let kind = match ctx.string(t, &join(&path, "type"))?.as_str() {
                "Pods" => PolicyType::Pods,
                "Percent" => PolicyType::Percent,
                _ => {
                    return Err(ctx.error(
                        t,
                        &join(&path, "type"),
                        "unknown policy type",
                        Some("use Pods or Percent".into()),
                    ));
                }
            };
            let v = opt(p, "value")
                .ok_or_else(|| ctx.missing(p, &join(&path, "value"), "value must be > 0"))?;
            let value = ctx.int(
                v,
                &join(&path, "value"),
                1,
                I32,
                "the API requires value > 0",
            )? as i32;
            let per = opt(p, "periodSeconds").ok_or_else(|| {
                ctx.missing(
                    p,
                    &join(&path, "periodSeconds"),
                    "periodSeconds is 1 to 1800",
                )
            })?;
            let period_seconds = ctx.int(
                per,
                &join(&path, "periodSeconds"),
                1,
                1800,
                "the API accepts 1 to 1800 seconds",
            )? as i32;
            lines.insert(join(&path, "value"), v.start.line);
            lines.insert(join(&path, "periodSeconds"), per.start.line);
            out.push(ScalingPolicy {
                kind,
                value,
                period_seconds,
            });
        }
        r.policies = Some(out);
    }
    Ok(r)
}

fn behavior(ctx: &Ctx, n: &Node, path: &str, lines: &mut FieldLines) -> R<Behavior> {
    let n = ctx.map(n, path)?;
    ctx.known_keys(n, path, &["scaleUp", "scaleDown"])?;
    lines.insert(path.to_string(), n.start.line);
    Ok(Behavior {
        scale_up: opt(n, "scaleUp")
            .map(|r| rules(ctx, r, &join(path, "scaleUp"), lines))
            .transpose()?,
        scale_down: opt(n, "scaleDown")
            .map(|r| rules(ctx, r, &join(path, "scaleDown"), lines))
            .transpose()?,
    })
}

fn hpa_target(ctx: &Ctx, t: &Node, path: &str, resource: bool) -> R<MetricTarget> {
    let t = ctx.map(t, path)?;
    ctx.known_keys(
        t,
        path,
        &["type", "averageUtilization", "averageValue", "value"],
    )?;
    let ty = opt(t, "type").ok_or_else(|| {
        ctx.missing(
            t,
            &join(path, "type"),
            "type is Utilization, AverageValue or Value",
        )
    })?;
    let need = |k: &str| {
        opt(t, k).ok_or_else(|| {
            ctx.missing(
                t,
                &join(path, k),
                &format!(
                    "a {} target needs {k}",
                    ctx.string(ty, "").unwrap_or_default()
                ),
            )
        })
    };
    Ok(match ctx.string(ty, &join(path, "type"))?.as_str() {
        "Utilization" if resource => MetricTarget::Utilization(ctx.int(
            need("averageUtilization")?,
            &join(path, "averageUtilization"),
            1,
            I32,
            "a percentage of the request, > 0",
        )? as i32),
        "AverageValue" => MetricTarget::AverageValue(
            ctx.quantity(need("averageValue")?, &join(path, "averageValue"))?,
        ),
        "Value" if !resource => {
            MetricTarget::Value(ctx.quantity(need("value")?, &join(path, "value"))?)
        }
        other => {
            let ok = if resource {
                "Utilization or AverageValue"
            } else {
                "Value or AverageValue"
            };
            return Err(ctx.error(
                ty,
                &join(path, "type"),
                format!("target type {other} is not valid here"),
                Some(format!("use {ok}")),
            ));
        }
    })
}

fn metric_name(ctx: &Ctx, m: &Node, key: &str, path: &str) -> R<String> {
    let sub = opt(m, key)
        .ok_or_else(|| ctx.missing(m, &join(path, key), "this metric source needs its block"))?;
    let metric = opt(sub, "metric").ok_or_else(|| {
        ctx.missing(
            sub,
            &join(path, &format!("{key}.metric")),
            "name the metric: metric: {name: ...}",
        )
    })?;
    let name = opt(metric, "name").ok_or_else(|| {
        ctx.missing(
            metric,
            &format!("{path}.{key}.metric.name"),
            "name the metric",
        )
    })?;
    ctx.string(name, &format!("{path}.{key}.metric.name"))
}

fn hpa_metric(ctx: &mut Ctx, m: &Node, path: &str) -> R<MetricSpec> {
    let m = ctx.map(m, path)?;
    let ty = opt(m, "type").ok_or_else(|| {
        ctx.missing(
            m,
            &join(path, "type"),
            "type is Resource, ContainerResource, Pods, Object or External",
        )
    })?;
    let ty_s = ctx.string(ty, &join(path, "type"))?;
    let block = |key: &str| {
        opt(m, key).ok_or_else(|| {
            ctx.missing(
                m,
                &join(path, key),
                &format!("a {ty_s} metric needs a `{key}` block"),
            )
        })
    };
    Ok(match ty_s.as_str() {
        "Resource" | "ContainerResource" => {
            let key = if ty_s == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let b = block(key)?;
            let bp = join(path, key);
            let name_node = opt(b, "name")
                .ok_or_else(|| ctx.missing(b, &join(&bp, "name"), "cpu or memory"))?;
            let resource = ctx.string(name_node, &join(&bp, "name"))?;
            let t = opt(b, "target")
                .ok_or_else(|| ctx.missing(b, &join(&bp, "target"), "add a target"))?;
            let target = hpa_target(ctx, t, &join(&bp, "target"), true)?;
            if ty_s == "Resource" {
                MetricSpec::Resource { resource, target }
            } else {
                let c = opt(b, "container")
                    .ok_or_else(|| ctx.missing(b, &join(&bp, "container"), "name the container"))?;
                MetricSpec::ContainerResource {
                    resource,
                    container: ctx.string(c, &join(&bp, "container"))?,
                    target,
                }
            }
        }
        "Pods" | "Object" | "External" => {
            let key = match ty_s.as_str() {
                "Pods" => "pods",
                "Object" => "object",
                _ => "external",
            };
            let metric = metric_name(ctx, m, key, path)?;
            let b = block(key)?;
            let bp = join(path, key);
            let t = opt(b, "target")
                .ok_or_else(|| ctx.missing(b, &join(&bp, "target"), "add a target"))?;
            let target = hpa_target(ctx, t, &join(&bp, "target"), false)?;
            match key {
                "pods" => {
                    if !matches!(target, MetricTarget::AverageValue(_)) {
                        return Err(ctx.error(
                            t,
                            &join(&bp, "target.type"),
                            "Pods metrics take an AverageValue target",
                            None,
                        ));
                    }
                    MetricSpec::Pods { metric, target }
                }
                "object" => {
                    let d = opt(b, "describedObject").ok_or_else(|| {
                        ctx.missing(b, &join(&bp, "describedObject"), "name the object")
                    })?;
                    let s = |k: &str| {
                        opt(d, k)
                            .map(|n| ctx.string(n, k))
                            .transpose()
                            .map(|v| v.unwrap_or_default())
                    };
                    MetricSpec::Object {
                        metric,
                        object: ObjectRef {
                            api_version: s("apiVersion")?,
                            kind: s("kind")?,
                            name: s("name")?,
                        },
                        target,
                    }
                }
                _ => MetricSpec::External { metric, target },
            }
        }
        other => {
            ctx.warn(ty.start.line, format!("{path}: metric type {other} is unknown to the HPA controller; it makes the metric invalid"));
            MetricSpec::Unknown {
                type_name: other.to_string(),
            }
        }
    })
}

fn hpa(
    ctx: &mut Ctx,
    root: &Node,
    name: String,
    api: String,
    source: Source,
) -> R<HorizontalPodAutoscaler> {
    let namespace = namespace(ctx, root)?;
    let mut lines = FieldLines::new();
    let spec = opt(root, "spec").ok_or_else(|| ctx.missing(root, "spec", "an HPA needs a spec"))?;
    let spec = ctx.map(spec, "spec")?;
    let (target_kind, target_name) = target_ref(ctx, spec, "spec")?;
    let min = match opt(spec, "minReplicas") {
        Some(n) => {
            lines.insert("spec.minReplicas".into(), n.start.line);
            ctx.int(
                n,
                "spec.minReplicas",
                0,
                I32,
                "minReplicas is 1 or more (0 only with the HPAScaleToZero gate)",
            )? as i32
        }
        None => 1,
    };
    let maxn = opt(spec, "maxReplicas")
        .ok_or_else(|| ctx.missing(spec, "spec.maxReplicas", "set maxReplicas"))?;
    lines.insert("spec.maxReplicas".into(), maxn.start.line);
    let max = ctx.int(maxn, "spec.maxReplicas", 1, I32, "maxReplicas is 1 or more")? as i32;
    let mut metrics = Vec::new();
    let mut behavior_v = None;
    if api == "autoscaling/v1" {
        ctx.known_keys(
            spec,
            "spec",
            &[
                "scaleTargetRef",
                "minReplicas",
                "maxReplicas",
                "targetCPUUtilizationPercentage",
            ],
        )?;
        let pct = match opt(spec, "targetCPUUtilizationPercentage") {
            Some(n) => ctx.int(
                n,
                "spec.targetCPUUtilizationPercentage",
                1,
                I32,
                "a percentage > 0",
            )? as i32,
            None => 80,
        };
        metrics.push(MetricSpec::Resource {
            resource: "cpu".into(),
            target: MetricTarget::Utilization(pct),
        });
    } else {
        ctx.known_keys(
            spec,
            "spec",
            &[
                "scaleTargetRef",
                "minReplicas",
                "maxReplicas",
                "metrics",
                "behavior",
            ],
        )?;
        if let Some(ms) = opt(spec, "metrics") {
            for (i, m) in ctx.seq(ms, "spec.metrics")?.iter().enumerate() {
                metrics.push(hpa_metric(ctx, m, &format!("spec.metrics[{i}]"))?);
            }
        }
        if metrics.is_empty() {
            metrics.push(MetricSpec::Resource {
                resource: "cpu".into(),
                target: MetricTarget::Utilization(80),
            });
        }
        behavior_v = opt(spec, "behavior")
            .map(|b| behavior(ctx, b, "spec.behavior", &mut lines))
            .transpose()?;
    }
    Ok(HorizontalPodAutoscaler {
        name,
        namespace,
        api_version: api,
        target_kind,
        target_name,
        spec: HpaSpec {
            min_replicas: min,
            max_replicas: max,
            metrics,
            behavior: behavior_v,
        },
        source,
        lines,
    })
}

const SO_SPEC_KEYS: [&str; 10] = [
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
];

fn scaled_object(ctx: &mut Ctx, root: &Node, name: String, source: Source) -> R<ScaledObject> {
    let namespace = namespace(ctx, root)?;
    let mut lines = FieldLines::new();
    let spec_n = opt(root, "spec")
        .ok_or_else(|| ctx.missing(root, "spec", "a ScaledObject needs a spec"))?;
    let spec_n = ctx.map(spec_n, "spec")?;
    ctx.known_keys(spec_n, "spec", &SO_SPEC_KEYS)?;
    let (target_kind, target_name) = target_ref(ctx, spec_n, "spec")?;
    let mut so = ScaledObjectSpec::new(&name, &namespace, &target_name);
    so.target_kind = target_kind;

    let secs = |key: &str, lo: i64, hint: &str, lines: &mut FieldLines| -> R<Option<SimDuration>> {
        match opt(spec_n, key) {
            None => Ok(None),
            Some(n) => {
                let p = join("spec", key);
                lines.insert(p.clone(), n.start.line);
                Ok(Some(SimDuration::from_secs(ctx.int(n, &p, lo, I32, hint)?)))
            }
        }
    };
    for (key, lo, hint, field) in [
        (
            "pollingInterval",
            1,
            "pollingInterval is in seconds, at least 1",
            &mut so.polling_interval,
        ),
        (
            "cooldownPeriod",
            0,
            "cooldownPeriod is in seconds, 0 or more",
            &mut so.cooldown_period,
        ),
        (
            "initialCooldownPeriod",
            0,
            "initialCooldownPeriod is in seconds, 0 or more",
            &mut so.initial_cooldown_period,
        ),
    ] {
        if let Some(d) = secs(key, lo, hint, &mut lines)? {
            *field = d;
        }
    }
    let count = |key: &str, lines: &mut FieldLines| -> R<Option<i32>> {
        match opt(spec_n, key) {
            None => Ok(None),
            Some(n) => {
                let p = join("spec", key);
                lines.insert(p.clone(), n.start.line);
                Ok(Some(
                    ctx.int(n, &p, 0, I32, "a replica count, 0 or more")? as i32
                ))
            }
        }
    };
    if let Some(v) = count("minReplicaCount", &mut lines)? {
        so.min_replica_count = v;
    }
    if let Some(v) = count("maxReplicaCount", &mut lines)? {
        so.max_replica_count = v;
    }
    so.idle_replica_count = count("idleReplicaCount", &mut lines)?;
    if let Some(idle) = so.idle_replica_count
        && idle >= so.min_replica_count
    {
        let n = spec_n.get("idleReplicaCount").unwrap_or(spec_n);
        return Err(ctx.error(
            n,
            "spec.idleReplicaCount",
            format!(
                "idleReplicaCount ({idle}) must be below minReplicaCount ({})",
                so.min_replica_count
            ),
            Some("only idleReplicaCount: 0 works reliably".into()),
        ));
    }

    if let Some(fb) = opt(spec_n, "fallback") {
        let fb = ctx.map(fb, "spec.fallback")?;
        ctx.known_keys(
            fb,
            "spec.fallback",
            &["failureThreshold", "replicas", "behavior"],
        )?;
        lines.insert("spec.fallback".into(), fb.start.line);
        let ft = opt(fb, "failureThreshold").ok_or_else(|| {
            ctx.missing(
                fb,
                "spec.fallback.failureThreshold",
                "fallback needs failureThreshold and replicas",
            )
        })?;
        let rp = opt(fb, "replicas").ok_or_else(|| {
            ctx.missing(
                fb,
                "spec.fallback.replicas",
                "fallback needs failureThreshold and replicas",
            )
        })?;
        let behavior = match opt(fb, "behavior") {
            None => FallbackBehavior::Static,
            Some(b) => match ctx.string(b, "spec.fallback.behavior")?.as_str() {
                "static" => FallbackBehavior::Static,
                "currentReplicas" => FallbackBehavior::CurrentReplicas,
                "currentReplicasIfHigher" => FallbackBehavior::CurrentReplicasIfHigher,
                "currentReplicasIfLower" => FallbackBehavior::CurrentReplicasIfLower,
                "scalingModifiers" => FallbackBehavior::ScalingModifiers,
                _ => return Err(ctx.error(b, "spec.fallback.behavior", "unknown fallback behavior", Some("use static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower or scalingModifiers".into()))),
            },
        };
        so.fallback = Some(Fallback {
            failure_threshold: ctx.int(
                ft,
                "spec.fallback.failureThreshold",
                0,
                I32,
                "a count of failures, 0 or more",
            )? as u32,
            replicas: ctx.int(
                rp,
                "spec.fallback.replicas",
                0,
                I32,
                "a replica count, 0 or more",
            )? as i32,
            behavior,
        });
    }

    if let Some(adv) = opt(spec_n, "advanced") {
        let adv = ctx.map(adv, "spec.advanced")?;
        ctx.known_keys(
            adv,
            "spec.advanced",
            &[
                "horizontalPodAutoscalerConfig",
                "restoreToOriginalReplicaCount",
                "scalingModifiers",
            ],
        )?;
        if let Some(r) = opt(adv, "restoreToOriginalReplicaCount") {
            so.restore_to_original_replica_count =
                ctx.boolean(r, "spec.advanced.restoreToOriginalReplicaCount")?;
        }
        if let Some(h) = opt(adv, "horizontalPodAutoscalerConfig") {
            let p = "spec.advanced.horizontalPodAutoscalerConfig";
            let h = ctx.map(h, p)?;
            ctx.known_keys(h, p, &["name", "behavior"])?;
            so.hpa_name = opt(h, "name")
                .map(|n| ctx.string(n, &join(p, "name")))
                .transpose()?;
            so.behavior = opt(h, "behavior")
                .map(|b| behavior(ctx, b, &join(p, "behavior"), &mut lines))
                .transpose()?;
        }
        if let Some(m) = opt(adv, "scalingModifiers") {
            so.scaling_modifiers = Some(modifiers(ctx, m)?);
        }
    }

    let annotations = opt(root, "metadata").and_then(|m| opt(m, "annotations"));
    if let Some(a) = annotations {
        so.annotations = pause_annotations(ctx, a)?;
    }

    let trig = opt(spec_n, "triggers").ok_or_else(|| {
        ctx.missing(
            spec_n,
            "spec.triggers",
            "a ScaledObject needs at least one trigger",
        )
    })?;
    let items = ctx.seq(trig, "spec.triggers")?;
    if items.is_empty() {
        return Err(ctx.error(
            trig,
            "spec.triggers",
            "must have at least one trigger",
            None,
        ));
    }
    for (i, t) in items.iter().enumerate() {
        so.triggers
            .push(trigger(ctx, t, &format!("spec.triggers[{i}]"), &mut lines)?);
    }

    // Webhook rules that involve several fields. (min > max and scale-to-zero with only
    // cpu/memory triggers are reported by `lint`, which explains them.)
    if so.fallback.is_some() && so.only_resource_triggers() {
        return Err(ctx.error(
            trig,
            "spec.fallback",
            "fallback needs at least one trigger that is not cpu/memory",
            None,
        ));
    }
    if let Some(m) = &so.scaling_modifiers {
        let names: Vec<&str> = so
            .triggers
            .iter()
            .filter(|t| !t.is_resource())
            .filter_map(|t| t.name.as_deref())
            .collect();
        for v in m.formula.variables() {
            if !names.contains(&v.as_str()) {
                let node = spec_n
                    .get("advanced")
                    .and_then(|a| a.get("scalingModifiers"))
                    .unwrap_or(spec_n);
                return Err(ctx.error(
                    node,
                    "spec.advanced.scalingModifiers.formula",
                    format!("the formula uses `{v}` but no (non-cpu/memory) trigger has that name"),
                    Some(format!(
                        "trigger names: {}",
                        if names.is_empty() {
                            "(none)".into()
                        } else {
                            names.join(", ")
                        }
                    )),
                ));
            }
        }
    }
    Ok(ScaledObject {
        spec: so,
        source,
        lines,
    })
}

fn pause_annotations(ctx: &Ctx, a: &Node) -> R<Annotations> {
    let mut out = Annotations::default();
    let flag = |key: &str| -> Option<bool> {
        // A non-boolean value counts as true (KEDA's reading of the paused annotation).
        opt(a, key).map(|n| n.as_str().map(|s| s.trim() != "false").unwrap_or(true))
    };
    out.paused = flag("autoscaling.keda.sh/paused").unwrap_or(false);
    out.paused_scale_in = flag("autoscaling.keda.sh/paused-scale-in").unwrap_or(false);
    out.paused_scale_out = flag("autoscaling.keda.sh/paused-scale-out").unwrap_or(false);
    out.force_activation = flag("autoscaling.keda.sh/force-activation").unwrap_or(false);
    if let Some(n) = opt(a, "autoscaling.keda.sh/paused-replicas") {
        out.paused_replicas = Some(ctx.int(
            n,
            "metadata.annotations[autoscaling.keda.sh/paused-replicas]",
            0,
            I32,
            "a replica count as a string, e.g. \"0\"",
        )? as i32);
    }
    Ok(out)
}

fn modifiers(ctx: &Ctx, m: &Node) -> R<ScalingModifiers> {
    let p = "spec.advanced.scalingModifiers";
    let m = ctx.map(m, p)?;
    ctx.known_keys(
        m,
        p,
        &["formula", "target", "activationTarget", "metricType"],
    )?;
    let f = opt(m, "formula")
        .ok_or_else(|| ctx.missing(m, &join(p, "formula"), "scalingModifiers needs a formula"))?;
    let text = ctx.string(f, &join(p, "formula"))?;
    let formula = Formula::parse(&text).map_err(|e| {
        ctx.error(
            f,
            &join(p, "formula"),
            e.to_string(),
            Some("see KEDA's scalingModifiers docs for the expression language".into()),
        )
    })?;
    let t = opt(m, "target")
        .ok_or_else(|| ctx.missing(m, &join(p, "target"), "scalingModifiers needs a target"))?;
    let target = ctx.float(
        t,
        &join(p, "target"),
        "a number > 0 as a string, e.g. \"2\"",
    )?;
    if target <= 0.0 {
        return Err(ctx.error(t, &join(p, "target"), "must be > 0", None));
    }
    let activation_target = opt(m, "activationTarget")
        .map(|n| ctx.float(n, &join(p, "activationTarget"), "a number as a string"))
        .transpose()?
        .unwrap_or(0.0);
    let metric_type = match opt(m, "metricType") {
        None => TriggerMetricType::AverageValue,
        Some(n) => match ctx.string(n, &join(p, "metricType"))?.as_str() {
            "AverageValue" => TriggerMetricType::AverageValue,
            "Value" => TriggerMetricType::Value,
            _ => {
                return Err(ctx.error(
                    n,
                    &join(p, "metricType"),
                    "must be AverageValue or Value",
                    None,
                ));
            }
        },
    };
    Ok(ScalingModifiers {
        formula,
        formula_text: text,
        target,
        activation_target,
        metric_type,
    })
}

fn trigger(ctx: &mut Ctx, t: &Node, path: &str, lines: &mut FieldLines) -> R<Trigger> {
    let t = ctx.map(t, path)?;
    ctx.known_keys(
        t,
        path,
        &[
            "type",
            "name",
            "metadata",
            "metricType",
            "useCachedMetrics",
            "authenticationRef",
        ],
    )?;
    let ty = opt(t, "type").ok_or_else(|| {
        ctx.missing(
            t,
            &join(path, "type"),
            "name the scaler, e.g. type: prometheus",
        )
    })?;
    let ty = ctx.string(ty, &join(path, "type"))?;
    let name = opt(t, "name")
        .map(|n| ctx.string(n, &join(path, "name")))
        .transpose()?;
    let use_cached_metrics = opt(t, "useCachedMetrics")
        .map(|n| ctx.boolean(n, &join(path, "useCachedMetrics")))
        .transpose()?
        .unwrap_or(false);
    let mt_node = opt(t, "metricType");
    let metric_type = match mt_node {
        None => None,
        Some(n) => Some(match ctx.string(n, &join(path, "metricType"))?.as_str() {
            "AverageValue" => TriggerMetricType::AverageValue,
            "Value" => TriggerMetricType::Value,
            "Utilization" => TriggerMetricType::Utilization,
            _ => {
                return Err(ctx.error(
                    n,
                    &join(path, "metricType"),
                    "unknown metricType",
                    Some("use AverageValue, Value or Utilization".into()),
                ));
            }
        }),
    };
    let meta_path = join(path, "metadata");
    let meta = match opt(t, "metadata") {
        Some(m) => ctx.map(m, &meta_path)?,
        None => t,
    };
    let md = |key: &str| opt(meta, key).filter(|_| !std::ptr::eq(meta, t));
    let mut unmodeled = None;
    let mpath = |key: &str| format!("{meta_path}.{key}");
    let note = |key: &str, lines: &mut FieldLines| {
        if let Some(n) = md(key) {
            lines.insert(mpath(key), n.start.line);
        }
    };
    let num = |key: &str, default: Option<f64>| -> R<f64> {
        match md(key) {
            Some(n) => ctx.float(
                n,
                &mpath(key),
                "a number (KEDA metadata values are strings, e.g. \"15\")",
            ),
            None => default.ok_or_else(|| {
                ctx.missing(
                    meta,
                    &mpath(key),
                    &format!("the {ty} scaler needs metadata.{key}"),
                )
            }),
        }
    };
    let text = |key: &str| -> R<String> {
        md(key)
            .map(|n| ctx.string(n, &mpath(key)))
            .transpose()
            .map(|v| v.unwrap_or_default())
    };
    let scaler = match ty.as_str() {
        "cpu" | "memory" => {
            if md("type").is_some() {
                return Err(ctx.error(
                    md("type").unwrap(),
                    &mpath("type"),
                    "metadata.type is no longer supported for cpu/memory triggers",
                    Some("set triggers[].metricType: Utilization or AverageValue instead".into()),
                ));
            }
            let mt = metric_type.ok_or_else(|| {
                ctx.missing(
                    t,
                    &join(path, "metricType"),
                    "cpu/memory triggers need metricType: Utilization or AverageValue",
                )
            })?;
            let v = md("value").ok_or_else(|| {
                ctx.missing(
                    meta,
                    &mpath("value"),
                    "the target, e.g. value: \"70\" (percent for Utilization)",
                )
            })?;
            note("value", lines);
            let target = match mt {
                TriggerMetricType::Utilization => MetricTarget::Utilization(ctx.int(
                    v,
                    &mpath("value"),
                    1,
                    I32,
                    "a percentage of the request, e.g. \"70\"",
                )?
                    as i32),
                TriggerMetricType::AverageValue => {
                    MetricTarget::AverageValue(ctx.quantity(v, &mpath("value"))?)
                }
                TriggerMetricType::Value => {
                    return Err(ctx.error(
                        mt_node.unwrap(),
                        &join(path, "metricType"),
                        "cpu/memory triggers take Utilization or AverageValue",
                        None,
                    ));
                }
            };
            let container = md("containerName")
                .map(|n| ctx.string(n, &mpath("containerName")))
                .transpose()?;
            Scaler::Resource {
                resource: ty.clone(),
                target,
                container,
            }
        }
        _ => {
            if metric_type == Some(TriggerMetricType::Utilization) {
                return Err(ctx.error(
                    mt_node.unwrap(),
                    &join(path, "metricType"),
                    "Utilization is only valid for cpu/memory triggers",
                    Some("use AverageValue (the default) or Value".into()),
                ));
            }
            match ty.as_str() {
                "prometheus" => {
                    note("threshold", lines);
                    note("activationThreshold", lines);
                    Scaler::Prometheus {
                        server_address: text("serverAddress")?,
                        query: text("query")?,
                        threshold: num("threshold", None)?,
                        activation_threshold: num("activationThreshold", Some(0.0))?,
                        ignore_null_values: md("ignoreNullValues")
                            .map(|n| ctx.boolean(n, &mpath("ignoreNullValues")))
                            .transpose()?
                            .unwrap_or(true),
                    }
                }
                "redis" => {
                    note("listLength", lines);
                    note("activationListLength", lines);
                    let list_name = md("listName").ok_or_else(|| {
                        ctx.missing(meta, &mpath("listName"), "name the Redis list")
                    })?;
                    Scaler::Redis {
                        list_name: ctx.string(list_name, &mpath("listName"))?,
                        list_length: num("listLength", Some(5.0))?,
                        activation_list_length: num("activationListLength", Some(0.0))?,
                    }
                }
                "redis-streams" => {
                    let stream = md("stream").ok_or_else(|| {
                        ctx.missing(meta, &mpath("stream"), "name the Redis stream")
                    })?;
                    let group = md("consumerGroup")
                        .map(|n| ctx.string(n, &mpath("consumerGroup")))
                        .transpose()?;
                    let lag = md("lagCount")
                        .map(|n| ctx.float(n, &mpath("lagCount"), "a number as a string"))
                        .transpose()?
                        .filter(|v| *v != 0.0);
                    let (mode, target_key) = match (&group, lag) {
                        (None, _) => (StreamMode::StreamLength, "streamLength"),
                        (Some(_), Some(_)) => (StreamMode::Lag, "lagCount"),
                        (Some(_), None) => (StreamMode::PendingEntries, "pendingEntriesCount"),
                    };
                    note(target_key, lines);
                    note("activationLagCount", lines);
                    Scaler::RedisStreams {
                        stream: ctx.string(stream, &mpath("stream"))?,
                        consumer_group: group,
                        mode,
                        target: num(target_key, Some(5.0))?,
                        activation_lag_count: num("activationLagCount", Some(0.0))?,
                    }
                }
                "metrics-api" => {
                    note("targetValue", lines);
                    note("activationTargetValue", lines);
                    Scaler::MetricsApi {
                        url: text("url")?,
                        value_location: text("valueLocation")?,
                        target_value: num(
                            "targetValue",
                            if name.is_some() { Some(0.0) } else { None },
                        )?,
                        activation_target_value: num("activationTargetValue", Some(0.0))?,
                    }
                }
                other => {
                    unmodeled = Some(format!(
                        "{path}: trigger type `{other}` is not modeled; it is treated as a generic external metric (the simulator will need a binding for it)"
                    ));
                    const TARGET_KEYS: [&str; 10] = [
                        "threshold",
                        "targetValue",
                        "value",
                        "lagThreshold",
                        "queueLength",
                        "messageCount",
                        "listLength",
                        "desiredReplicas",
                        "target",
                        "targetPendingRequests",
                    ];
                    let key = TARGET_KEYS.iter().find(|k| md(k).is_some());
                    let target = match key {
                        Some(k) => {
                            note(k, lines);
                            num(k, None)?
                        }
                        None => 1.0,
                    };
                    let activation = match &meta.kind {
                        Kind::Map { entries, .. } if !std::ptr::eq(meta, t) => entries
                            .iter()
                            .find(|(k, _)| k.as_str().is_some_and(|s| s.starts_with("activation")))
                            .map(|(k, v)| {
                                ctx.float(
                                    v,
                                    &mpath(k.as_str().unwrap_or("")),
                                    "a number as a string",
                                )
                            })
                            .transpose()?
                            .unwrap_or(0.0),
                        _ => 0.0,
                    };
                    Scaler::Generic {
                        type_name: other.to_string(),
                        target,
                        activation,
                    }
                }
            }
        }
    };
    if let Some(w) = unmodeled {
        ctx.warn(t.start.line, w);
    }
    let default_type = if matches!(scaler, Scaler::Resource { .. }) {
        TriggerMetricType::Utilization
    } else {
        TriggerMetricType::AverageValue
    };
    Ok(Trigger {
        name,
        metric_type: metric_type.unwrap_or(default_type),
        use_cached_metrics,
        scaler,
    })
}

/// Parse a dotted field path (`spec.triggers[0].metadata.threshold`) into segments.
pub fn split_path(path: &str) -> Vec<PathSeg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(PathSeg::Key(rest[..b].to_string()));
            }
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = stripped.find(']').unwrap_or(stripped.len());
                match stripped[..close].parse::<usize>() {
                    Ok(i) => out.push(PathSeg::Index(i)),
                    Err(_) => out.push(PathSeg::Key(stripped[..close].to_string())),
                }
                rest = stripped.get(close + 1..).unwrap_or("");
            }
        } else if !rest.is_empty() {
            out.push(PathSeg::Key(rest.to_string()));
        }
    }
    out
}

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}
