//! Deployments, HorizontalPodAutoscalers and KEDA ScaledObjects as scaletwin reads them.

mod hpa;
mod keda;

use hpa::*;
use keda::*;

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
    /// Requests one pod serves at once, from the annotation [`CONCURRENCY_ANNOTATION`] on the
    /// Deployment or its pod template (a server's worker count the team knows; read when a
    /// model is built from manifests alone).
    pub concurrency: Option<u32>,
    pub source: Source,
    pub lines: FieldLines,
}

/// The annotation that states a Deployment's per-pod concurrency.
pub const CONCURRENCY_ANNOTATION: &str = "scaletwin.dev/concurrency";

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
    read_docs(file, &parse_docs(file, text)?, set)
}

/// Parse one file's text into its YAML documents.
pub fn parse_docs(file: &Path, text: &str) -> Result<Vec<yaml::Document>, ManifestError> {
    yaml::parse(text).map_err(|e| ManifestError {
        kind: ErrorKind::Syntax,
        file: file.to_path_buf(),
        line: e.line,
        field: None,
        value: None,
        message: format!("YAML syntax error at column {}: {}", e.col + 1, e.message),
        hint: Some("fix the YAML (indentation, quotes, brackets) and try again".into()),
    })
}

/// Read the objects of one file's parsed documents into `set`.
pub fn read_docs(
    file: &Path,
    docs: &[yaml::Document],
    set: &mut ManifestSet,
) -> Result<(), ManifestError> {
    let mut warnings = std::mem::take(&mut set.warnings);
    let mut ctx = Ctx {
        file,
        warnings: &mut warnings,
    };
    let result = (|| {
        for (i, doc) in docs.iter().enumerate() {
            // An empty document (a file ending in `---`, a comment-only document, `~`) is
            // valid: kubectl applies the others and skips it.
            let Some(root) = doc.root.as_ref().filter(|r| !r.is_null()) else {
                continue;
            };
            for d in yaml::duplicate_keys(root) {
                ctx.warn(
                    d.last_line,
                    format!(
                        "duplicate key {} (first at line {}): Kubernetes keeps this last one; \
                         remove the other",
                        d.path, d.first_line
                    ),
                );
            }
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
            let first = set
                .scaled_objects
                .iter()
                .find(|o| o.spec.namespace == so.spec.namespace && o.spec.name == so.spec.name)
                .map(|o| &o.source);
            once(
                ctx,
                root,
                "ScaledObject",
                &so.spec.namespace,
                &so.spec.name,
                first,
            )?;
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
            let first = set
                .hpas
                .iter()
                .find(|o| o.namespace == h.namespace && o.name == h.name)
                .map(|o| &o.source);
            once(
                ctx,
                root,
                "HorizontalPodAutoscaler",
                &h.namespace,
                &h.name,
                first,
            )?;
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
            let first = set
                .deployments
                .iter()
                .find(|o| o.namespace == d.namespace && o.name == d.name)
                .map(|o| &o.source);
            once(ctx, root, "Deployment", &d.namespace, &d.name, first)?;
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

/// An object defined a second time (same kind, namespace and name) is an error naming both
/// places: the cluster would hold one of them, and which one depends on the order applied.
fn once(
    ctx: &Ctx,
    root: &Node,
    kind: &str,
    namespace: &str,
    name: &str,
    first: Option<&Source>,
) -> R<()> {
    let Some(first) = first else {
        return Ok(());
    };
    let node = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .unwrap_or(root);
    Err(ctx.error(
        node,
        "metadata.name",
        format!(
            "{kind} {namespace}/{name} is defined twice: first in {} line {}",
            first.file.display(),
            first.line
        ),
        Some(
            "keep one definition per kind, namespace and name (the cluster holds only one; which depends on the order of applying)"
                .into(),
        ),
    ))
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

/// The fields of a Deployment (apps/v1) scaletwin accepts: every field of the API at the
/// levels it reads (the object, its spec, the pod template, the pod spec, each container,
/// its resources and readiness probe), so a misspelt or misplaced field is an error, as on
/// the other kinds, and a setting meant for another object cannot land here unnoticed.
const OBJECT_KEYS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];
const DEPLOYMENT_SPEC_KEYS: [&str; 8] = [
    "replicas",
    "selector",
    "template",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
];
const POD_SPEC_KEYS: [&str; 42] = [
    "activeDeadlineSeconds",
    "affinity",
    "automountServiceAccountToken",
    "containers",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "ephemeralContainers",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostUsers",
    "hostname",
    "hostnameOverride",
    "imagePullSecrets",
    "initContainers",
    "nodeName",
    "nodeSelector",
    "os",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "resourceClaims",
    "resources",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "schedulingGates",
    "securityContext",
    "serviceAccount",
    "serviceAccountName",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "subdomain",
    "terminationGracePeriodSeconds",
    "tolerations",
    "topologySpreadConstraints",
    "volumes",
    "workloadRef",
];
const CONTAINER_KEYS: [&str; 25] = [
    "args",
    "command",
    "env",
    "envFrom",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "name",
    "ports",
    "readinessProbe",
    "resizePolicy",
    "resources",
    "restartPolicy",
    "restartPolicyRules",
    "securityContext",
    "startupProbe",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
];
const RESOURCES_KEYS: [&str; 3] = ["limits", "requests", "claims"];
const PROBE_KEYS: [&str; 10] = [
    "exec",
    "httpGet",
    "tcpSocket",
    "grpc",
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "successThreshold",
    "failureThreshold",
    "terminationGracePeriodSeconds",
];

/// The fields of `spec` on an object of `kind` (`scaledobject`, `horizontalpodautoscaler`,
/// `deployment`): how a setting's path tells which of several same-named objects it means.
pub fn spec_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "scaledobject" => &SO_SPEC_KEYS,
        "horizontalpodautoscaler" => &HPA_SPEC_KEYS,
        "deployment" => &DEPLOYMENT_SPEC_KEYS,
        _ => &[],
    }
}

fn deployment(ctx: &mut Ctx, root: &Node, name: String, source: Source) -> R<Deployment> {
    let namespace = namespace(ctx, root)?;
    let mut lines = FieldLines::new();
    ctx.known_keys(root, "", &OBJECT_KEYS)?;
    let spec = opt(root, "spec").map(|s| ctx.map(s, "spec")).transpose()?;
    if let Some(spec) = spec {
        ctx.known_keys(spec, "spec", &DEPLOYMENT_SPEC_KEYS)?;
        if let Some(t) = opt(spec, "template") {
            let t = ctx.map(t, "spec.template")?;
            ctx.known_keys(t, "spec.template", &["metadata", "spec"])?;
            if let Some(pod) = opt(t, "spec") {
                let pod = ctx.map(pod, "spec.template.spec")?;
                ctx.known_keys(pod, "spec.template.spec", &POD_SPEC_KEYS)?;
            }
        }
    }
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
    let mut concurrency = None;
    let template = spec.and_then(|s| opt(s, "template"));
    for (m, path) in [
        (Some(root), "metadata"),
        (template, "spec.template.metadata"),
    ] {
        let a = m
            .and_then(|m| opt(m, "metadata"))
            .and_then(|m| opt(m, "annotations"));
        if let Some(n) = a.and_then(|a| opt(a, CONCURRENCY_ANNOTATION)) {
            concurrency = Some(ctx.int(
                n,
                &format!("{path}.annotations[{CONCURRENCY_ANNOTATION}]"),
                1,
                I32,
                "requests one pod serves at once, a whole number as a string, e.g. \"8\"",
            )? as u32);
        }
    }
    Ok(Deployment {
        name,
        namespace,
        replicas,
        containers,
        termination_grace_period_seconds: grace,
        concurrency,
        source,
        lines,
    })
}

fn container(ctx: &Ctx, c: &Node, path: &str) -> R<ContainerSpec> {
    let c = ctx.map(c, path)?;
    ctx.known_keys(c, path, &CONTAINER_KEYS)?;
    if let Some(r) = opt(c, "resources") {
        let r = ctx.map(r, &join(path, "resources"))?;
        ctx.known_keys(r, &join(path, "resources"), &RESOURCES_KEYS)?;
    }
    if let Some(p) = opt(c, "readinessProbe") {
        let p = ctx.map(p, &join(path, "readinessProbe"))?;
        ctx.known_keys(p, &join(path, "readinessProbe"), &PROBE_KEYS)?;
    }
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
