//! `scaletwin record`: pull, with range queries, every series calibration and backtests need
//! from a Prometheus server into a bundle.
//!
//! Queries are templates over `$namespace`, `$deployment`, `$selector` (the labels that pick
//! the service's own HTTP series), `$pod_selector` (its pods' series) and `$rate_window`. The
//! defaults follow the standard exporters (a service's `http_requests_total` and
//! `http_request_duration_seconds`, kube-state-metrics, cAdvisor, KEDA); a small YAML file
//! overrides any of them for services whose names differ.

use super::TwinError;
use super::bundle::{Absent, Bundle, BundleInfo, SeriesEntry};
use crate::prom::{PromClient, PromError, Series};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every query `record` runs by default: key, what it is used for, template.
pub const DEFAULT_QUERIES: &[(&str, &str, &str)] = &[
    (
        "requests",
        "request rate by status code: the load a backtest replays, failures",
        "sum by (code) (rate(http_requests_total{$selector}[$rate_window]))",
    ),
    (
        "latency",
        "latency histogram (rate per bucket): the service-time fit, p95 per window",
        "sum by (le) (rate(http_request_duration_seconds_bucket{$selector}[$rate_window]))",
    ),
    (
        "jobs",
        "jobs a queue consumer processed per second: its load, CPU, fan-out ratios",
        "sum(rate(jobs_processed_total{$selector}[$rate_window]))",
    ),
    (
        "job_latency",
        "a consumer's job processing-time histogram (rate per bucket): its service time",
        "sum by (le) (rate(job_duration_seconds_bucket{$selector}[$rate_window]))",
    ),
    (
        "spec_replicas",
        "replicas the autoscaler set: the backtest's reference",
        "kube_deployment_spec_replicas{namespace=\"$namespace\",deployment=\"$deployment\"}",
    ),
    (
        "ready_replicas",
        "ready replicas: per-pod rates, start-up",
        "kube_deployment_status_replicas_ready{namespace=\"$namespace\",deployment=\"$deployment\"}",
    ),
    (
        "hpa_desired",
        "the HPA's desired replicas (KEDA's is keda-hpa-<name>)",
        "kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"$namespace\",horizontalpodautoscaler=~\"$deployment|keda-hpa-$deployment\"}",
    ),
    (
        "pod_created",
        "pod creation times: start-up (created -> ready)",
        "kube_pod_created{$pod_selector}",
    ),
    (
        "pod_ready_time",
        "pod ready times: start-up (created -> ready)",
        "kube_pod_status_ready_time{$pod_selector}",
    ),
    (
        "pod_requests",
        "container resource requests: utilization targets, cost",
        "kube_pod_container_resource_requests{$pod_selector}",
    ),
    (
        "cpu",
        "CPU rate per pod: CPU seconds per request and idle CPU",
        "sum by (pod) (rate(container_cpu_usage_seconds_total{$pod_selector,container!=\"\"}[$rate_window]))",
    ),
    (
        "memory",
        "working-set memory per pod: memory base and per request",
        "sum by (pod) (container_memory_working_set_bytes{$pod_selector,container!=\"\"})",
    ),
    (
        "keda_metric",
        "KEDA scaler values (queue lengths and rates the triggers read)",
        "keda_scaler_metrics_value{namespace=\"$namespace\",scaledObject=\"$deployment\"}",
    ),
    (
        "keda_active",
        "KEDA scaler activity",
        "keda_scaler_active{namespace=\"$namespace\",scaledObject=\"$deployment\"}",
    ),
];

/// The labels that pick a deployment's HTTP series, by default.
pub const DEFAULT_SELECTOR: &str = "namespace=\"$namespace\",deployment=\"$deployment\"";
/// The labels that pick a deployment's pods, by default (`<deployment>-<hash>-<hash>`).
pub const DEFAULT_POD_SELECTOR: &str =
    "namespace=\"$namespace\",pod=~\"$deployment-[a-z0-9]+-[a-z0-9]+\"";

/// Prometheus answers at most 11,000 points per series per query: ranges are cut into
/// pieces of this many steps.
const STEPS_PER_QUERY: f64 = 10_000.0;
/// The most steps a recording may hold (memory grows with it).
pub const MAX_STEPS: f64 = 2_000_000.0;

/// The query set: defaults with a file's overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct QuerySet {
    pub selector: String,
    pub pod_selector: String,
    /// (key, purpose, template); a key dropped by the file is not here.
    pub queries: Vec<(String, String, String)>,
}

impl Default for QuerySet {
    fn default() -> Self {
        QuerySet {
            selector: DEFAULT_SELECTOR.into(),
            pod_selector: DEFAULT_POD_SELECTOR.into(),
            queries: DEFAULT_QUERIES
                .iter()
                .map(|(k, p, t)| (k.to_string(), p.to_string(), t.to_string()))
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFile {
    #[serde(default)]
    selector: Option<String>,
    #[serde(default)]
    pod_selector: Option<String>,
    /// key -> template; an empty template (or `null`) drops the query.
    #[serde(default)]
    queries: BTreeMap<String, Option<String>>,
}

impl QuerySet {
    /// The defaults with the overrides of a YAML file (`selector`, `pod_selector`,
    /// `queries: {key: template}`; an empty template drops a query).
    pub fn from_file(path: &Path) -> Result<QuerySet, TwinError> {
        let bad = |m: String| TwinError::Input(format!("{}: {m}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let f: QueryFile = serde_saphyr::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut q = QuerySet::default();
        if let Some(s) = f.selector {
            q.selector = s;
        }
        if let Some(s) = f.pod_selector {
            q.pod_selector = s;
        }
        for (k, t) in f.queries {
            let Some(slot) = q.queries.iter().position(|(key, _, _)| *key == k) else {
                return Err(bad(format!(
                    "queries.{k}: unknown query; the keys are {}",
                    DEFAULT_QUERIES
                        .iter()
                        .map(|q| q.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            match t.filter(|t| !t.trim().is_empty()) {
                Some(t) => {
                    if let Some(why) = super::bundle::raw_counter(&k, &t, &[]) {
                        return Err(bad(format!("queries.{why}")));
                    }
                    q.queries[slot].2 = t
                }
                None => {
                    q.queries.remove(slot);
                }
            }
        }
        Ok(q)
    }

    /// A template filled in for one deployment.
    pub fn fill(&self, template: &str, namespace: &str, deployment: &str, window: &str) -> String {
        template
            .replace("$selector", &self.selector)
            .replace("$pod_selector", &self.pod_selector)
            .replace("$namespace", namespace)
            .replace("$deployment", deployment)
            .replace("$rate_window", window)
    }
}

/// What to record.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    pub prometheus: String,
    pub namespace: String,
    /// Empty: every deployment kube-state-metrics reports in the namespace.
    pub deployments: Vec<String>,
    pub start_unix_s: f64,
    pub end_unix_s: f64,
    pub step_s: f64,
    pub rate_window: String,
    pub queries: QuerySet,
    /// Manifests to copy into the bundle (`manifests/`).
    pub manifests: Option<PathBuf>,
    pub out: PathBuf,
    pub timeout_s: f64,
    /// Model seconds per wall-clock second of the service (a testbed's `--time-scale`; 1 for
    /// a real one).
    pub time_scale: f64,
}

/// Prometheus duration (`30s`, `1m`, `2h`) in seconds.
fn window_seconds(w: &str) -> Option<f64> {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: f64 = digits.parse().ok()?;
    let unit = match &w[digits.len()..] {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        "y" => 31_536_000.0,
        _ => return None,
    };
    Some(n * unit)
}

/// Map a series recorded from a service running `k` times faster than life onto model time:
/// timestamps stretched from `start`, per-second rates divided by `k`, latency bucket bounds
/// and pod timestamps stretched.
fn to_model_time(key: &str, series: &mut [Series], start: f64, k: f64) {
    let stretch = |t: f64| start + (t - start) * k;
    for s in series.iter_mut() {
        if matches!(key, "latency" | "job_latency")
            && let Some(le) = s.labels.get_mut("le")
            && let Ok(v) = le.parse::<f64>()
            && v.is_finite()
        {
            *le = format!("{}", v * k);
        }
        for (t, v) in s.samples.iter_mut() {
            *t = stretch(*t);
            match key {
                r if super::bundle::RATE_KEYS.contains(&r) => *v /= k,
                "pod_created" | "pod_ready_time" if *v > 0.0 => *v = stretch(*v),
                _ => {}
            }
        }
    }
}

impl RecordOptions {
    fn check(&self) -> Result<(), TwinError> {
        let bad = |m: String| Err(TwinError::Input(m));
        if !(self.step_s.is_finite() && self.step_s > 0.0) {
            return bad(format!("--step {}: must be > 0 seconds", self.step_s));
        }
        if self.end_unix_s <= self.start_unix_s || self.end_unix_s.is_nan() {
            return bad(format!(
                "--end ({}) must be after --start ({})",
                self.end_unix_s, self.start_unix_s
            ));
        }
        let steps = (self.end_unix_s - self.start_unix_s) / self.step_s;
        if steps > MAX_STEPS {
            return bad(format!(
                "{steps:.0} steps of {} s from --start to --end: at most {MAX_STEPS:.0}; use a larger --step or a shorter range",
                self.step_s
            ));
        }
        if window_seconds(&self.rate_window).is_none() {
            return bad(format!(
                "--rate-window {}: not a Prometheus duration (e.g. 30s, 1m, 5m)",
                self.rate_window
            ));
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return bad(format!(
                "--time-scale {}: must be > 0 (model seconds per wall-clock second)",
                self.time_scale
            ));
        }
        if self.namespace.is_empty() {
            return bad("--namespace: must not be empty".into());
        }
        Ok(())
    }
}

fn prom_err(key: &str, deployment: &str, query: &str, e: PromError) -> TwinError {
    match e {
        PromError::Refused(m) => TwinError::Input(format!(
            "query `{key}` for {deployment} (`{query}`): {m}; fix it with --queries FILE"
        )),
        PromError::Unreachable(m) => TwinError::Runtime(m),
    }
}

/// A range query cut into pieces Prometheus accepts, its series merged by labels.
async fn range_all(
    client: &PromClient,
    query: &str,
    start: f64,
    end: f64,
    step: f64,
) -> Result<Vec<Series>, PromError> {
    let mut by: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
    let mut a = start;
    while a <= end {
        let b = (a + step * (STEPS_PER_QUERY - 1.0)).min(end);
        for s in client.range(query, a, b, step).await? {
            by.entry(s.labels).or_default().extend(s.samples);
        }
        a = b + step;
    }
    Ok(by
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by(|x, y| x.0.total_cmp(&y.0));
            samples.dedup_by(|x, y| x.0 == y.0);
            Series { labels, samples }
        })
        .collect())
}

/// Record the bundle (written to `o.out`); `progress` hears a line per query.
pub fn record(o: &RecordOptions, progress: &mut dyn FnMut(&str)) -> Result<Bundle, TwinError> {
    o.check()?;
    let client = PromClient::new(
        &o.prometheus,
        std::time::Duration::from_secs_f64(o.timeout_s.max(0.1)),
    )
    .map_err(|e| TwinError::Input(format!("--prometheus {}: {e}", o.prometheus)))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TwinError::Runtime(format!("starting the runtime: {e}")))?;
    let (start, end, step) = (o.start_unix_s, o.end_unix_s, o.step_s);
    let deployments = if o.deployments.is_empty() {
        let q = format!(
            "kube_deployment_spec_replicas{{namespace=\"{}\"}}",
            o.namespace
        );
        let found = rt
            .block_on(range_all(&client, &q, start, end, step))
            .map_err(|e| prom_err("deployments", "the namespace", &q, e))?;
        let mut names: Vec<String> = found
            .iter()
            .filter_map(|s| s.labels.get("deployment").cloned())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(TwinError::Input(format!(
                "no deployment in namespace {} between {start} and {end}: `{q}` found nothing; name them with --deployment, or check --namespace and the range",
                o.namespace
            )));
        }
        names
    } else {
        o.deployments.clone()
    };
    let mut info = BundleInfo {
        format_version: super::bundle::BUNDLE_FORMAT_VERSION,
        prometheus: client.base().to_string(),
        namespace: o.namespace.clone(),
        deployments: deployments.clone(),
        start_unix_s: start,
        end_unix_s: end,
        step_s: step,
        rate_window: o.rate_window.clone(),
        series: Vec::new(),
        absent: Vec::new(),
        manifests: Vec::new(),
        recorded_by: format!("scaletwin {}", env!("CARGO_PKG_VERSION")),
        time_scale: o.time_scale,
    };
    let k = o.time_scale;
    if (k - 1.0).abs() > 1e-12 {
        info.end_unix_s = start + (end - start) * k;
        info.step_s = step * k;
        info.rate_window = format!("{}s", window_seconds(&o.rate_window).unwrap_or(step) * k);
    }
    let mut data = BTreeMap::new();
    for d in &deployments {
        for (key, purpose, template) in &o.queries.queries {
            let q = o.queries.fill(template, &o.namespace, d, &o.rate_window);
            let mut series = rt
                .block_on(range_all(&client, &q, start, end, step))
                .map_err(|e| prom_err(key, d, &q, e))?;
            if (k - 1.0).abs() > 1e-12 {
                to_model_time(key, &mut series, start, k);
            }
            let points: usize = series.iter().map(|s| s.samples.len()).sum();
            if series.is_empty() || points == 0 {
                progress(&format!("{d} {key}: nothing found by `{q}` ({purpose})"));
                info.absent.push(Absent {
                    deployment: d.clone(),
                    key: key.clone(),
                    purpose: purpose.clone(),
                    query: q,
                });
                continue;
            }
            progress(&format!(
                "{d} {key}: {} series, {points} points",
                series.len()
            ));
            info.series.push(SeriesEntry {
                deployment: d.clone(),
                key: key.clone(),
                purpose: purpose.clone(),
                query: q,
                file: format!("series/{d}/{key}.csv"),
                series: series.len(),
                points,
            });
            data.insert((d.clone(), key.clone()), series);
        }
    }
    if let Some(dir) = &o.manifests {
        let target = o.out.join("manifests");
        for p in crate::scenario::manifest_files(dir)
            .map_err(|e| TwinError::Input(format!("--manifests: {e}")))?
        {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text =
                std::fs::read(&p).map_err(|e| TwinError::Input(format!("{}: {e}", p.display())))?;
            std::fs::create_dir_all(&target)
                .map_err(|e| TwinError::Runtime(format!("{}: {e}", target.display())))?;
            crate::io::write_atomic(&target.join(&name), &text)
                .map_err(|e| TwinError::Runtime(format!("{}: {e}", target.display())))?;
            info.manifests.push(name);
        }
    }
    let bundle = Bundle {
        dir: o.out.clone(),
        info,
        data,
    };
    bundle.write()?;
    Ok(bundle)
}
