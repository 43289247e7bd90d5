//! The KEDA operator, per `specs/keda.md`: the ScaledObject -> HPA translation, the
//! operator's poll loop (activation, cooldown, idle/min transitions, pause annotations), the
//! metrics adapter the HPA reads through (live or cached values, fallback with its failure
//! counters), and scaling modifiers.
//!
//! As everywhere in `policy`, nothing here reads a clock or does I/O: trigger sources are
//! read through a callback, `now` is an argument, and every decision says why.

pub mod formula;

use crate::policy::hpa::{Behavior, HpaSpec, MetricSpec, MetricTarget, SelectPolicy};
use crate::time::{SimDuration, SimTime};
use formula::{FValue, Formula};
use serde::Serialize;
use std::collections::BTreeMap;

/// `triggers[].metricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TriggerMetricType {
    AverageValue,
    Value,
    Utilization,
}

/// Which of the three redis-streams modes a trigger uses (chosen by which fields are set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum StreamMode {
    /// No consumer group: XLEN, target `streamLength`.
    StreamLength,
    /// Consumer group without `lagCount`: XPENDING, target `pendingEntriesCount`.
    PendingEntries,
    /// Consumer group and non-zero `lagCount`: consumer-group lag, target `lagCount`.
    Lag,
}

/// A trigger's scaler and its scaling-relevant settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Scaler {
    /// `cpu` / `memory`: an HPA Resource (or ContainerResource) metric; never queried by KEDA.
    Resource {
        resource: String,
        target: MetricTarget,
        container: Option<String>,
    },
    Prometheus {
        server_address: String,
        query: String,
        threshold: f64,
        activation_threshold: f64,
        ignore_null_values: bool,
    },
    Redis {
        list_name: String,
        list_length: f64,
        activation_list_length: f64,
    },
    RedisStreams {
        stream: String,
        consumer_group: Option<String>,
        mode: StreamMode,
        target: f64,
        activation_lag_count: f64,
    },
    MetricsApi {
        url: String,
        value_location: String,
        target_value: f64,
        activation_target_value: f64,
    },
    /// Any other trigger type, treated as a generic external metric.
    Generic {
        type_name: String,
        target: f64,
        activation: f64,
    },
}

/// One entry of `spec.triggers`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trigger {
    pub name: Option<String>,
    pub metric_type: TriggerMetricType,
    pub use_cached_metrics: bool,
    pub scaler: Scaler,
}

impl Trigger {
    /// The trigger's type as written (`prometheus`, `redis`, …).
    pub fn type_name(&self) -> &str {
        match &self.scaler {
            Scaler::Resource { resource, .. } => resource,
            Scaler::Prometheus { .. } => "prometheus",
            Scaler::Redis { .. } => "redis",
            Scaler::RedisStreams { .. } => "redis-streams",
            Scaler::MetricsApi { .. } => "metrics-api",
            Scaler::Generic { type_name, .. } => type_name,
        }
    }

    /// cpu/memory: an HPA Resource metric KEDA never queries.
    pub fn is_resource(&self) -> bool {
        matches!(self.scaler, Scaler::Resource { .. })
    }

    /// The scaling target (threshold) of an external trigger.
    pub fn target(&self) -> f64 {
        match &self.scaler {
            Scaler::Resource { .. } => 0.0,
            Scaler::Prometheus { threshold, .. } => *threshold,
            Scaler::Redis { list_length, .. } => *list_length,
            Scaler::RedisStreams { target, .. } => *target,
            Scaler::MetricsApi { target_value, .. } => *target_value,
            Scaler::Generic { target, .. } => *target,
        }
    }

    /// The activation threshold (activity is `value > activation`, strictly).
    pub fn activation(&self) -> f64 {
        match &self.scaler {
            Scaler::Resource { .. } => 0.0,
            Scaler::Prometheus {
                activation_threshold,
                ..
            } => *activation_threshold,
            Scaler::Redis {
                activation_list_length,
                ..
            } => *activation_list_length,
            Scaler::RedisStreams {
                activation_lag_count,
                ..
            } => *activation_lag_count,
            Scaler::MetricsApi {
                activation_target_value,
                ..
            } => *activation_target_value,
            Scaler::Generic { activation, .. } => *activation,
        }
    }

    /// The `scaler` label KEDA's exporter puts on a trigger's series: its scaler's type name
    /// (`redisScaler`, `prometheusScaler`, `redisStreamsScaler`, `metricsAPIScaler`; other
    /// types in lower camel case with `Scaler` after).
    pub fn exporter_scaler_name(&self) -> String {
        match &self.scaler {
            Scaler::Resource { resource, .. } => format!("{resource}Scaler"),
            Scaler::Prometheus { .. } => "prometheusScaler".into(),
            Scaler::Redis { .. } => "redisScaler".into(),
            Scaler::RedisStreams { .. } => "redisStreamsScaler".into(),
            Scaler::MetricsApi { .. } => "metricsAPIScaler".into(),
            Scaler::Generic { type_name, .. } => {
                let mut out = String::new();
                let mut upper = false;
                for ch in type_name.chars() {
                    if ch == '-' || ch == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(ch.to_uppercase());
                        upper = false;
                    } else {
                        out.push(ch);
                    }
                }
                out + "Scaler"
            }
        }
    }

    /// The HPA External metric name KEDA generates: `s<index>-<scaler name>`.
    pub fn metric_name(&self, index: usize) -> String {
        let suffix = match &self.scaler {
            Scaler::Resource { resource, .. } => resource.clone(),
            Scaler::Prometheus { .. } => "prometheus".into(),
            Scaler::Redis { list_name, .. } => format!("redis-{}", normalize_name(list_name)),
            Scaler::RedisStreams { stream, .. } => {
                format!("redis-streams-{}", normalize_name(stream))
            }
            Scaler::MetricsApi { value_location, .. } => {
                format!("metric-api-{}", normalize_name(value_location))
            }
            Scaler::Generic { type_name, .. } => normalize_name(type_name),
        };
        format!("s{index}-{suffix}")
    }

    /// Whether `metric` is [`Trigger::metric_name`]`(index)`, compared without building the
    /// name (the adapter looks a metric up at every HPA sync).
    pub fn serves_metric(&self, index: usize, metric: &str) -> bool {
        let Some((num, suffix)) = metric.strip_prefix('s').and_then(|r| r.split_once('-')) else {
            return false;
        };
        let canonical = num == "0" || !num.starts_with('0');
        if !canonical || num.parse::<usize>() != Ok(index) {
            return false;
        }
        let normalized = |prefix: &str, name: &str| {
            suffix.strip_prefix(prefix).is_some_and(|rest| {
                rest.chars().eq(name.chars().map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                }))
            })
        };
        match &self.scaler {
            Scaler::Resource { resource, .. } => suffix == resource,
            Scaler::Prometheus { .. } => suffix == "prometheus",
            Scaler::Redis { list_name, .. } => normalized("redis-", list_name),
            Scaler::RedisStreams { stream, .. } => normalized("redis-streams-", stream),
            Scaler::MetricsApi { value_location, .. } => normalized("metric-api-", value_location),
            Scaler::Generic { type_name, .. } => normalized("", type_name),
        }
    }

    /// Turn what the source answered into the trigger's value. `Ok(None)` is an empty answer
    /// (Prometheus "no data", a missing Redis key): 0 for every scaler except Prometheus with
    /// `ignoreNullValues: false`, where it is an error.
    pub fn interpret(&self, raw: Result<Option<f64>, String>) -> Result<f64, String> {
        let v = raw?;
        match (&self.scaler, v) {
            (
                Scaler::Prometheus {
                    ignore_null_values: false,
                    ..
                },
                None,
            ) => Err("prometheus query returned no data and ignoreNullValues is false".into()),
            (
                Scaler::Prometheus {
                    ignore_null_values: false,
                    ..
                },
                Some(x),
            ) if !x.is_finite() => Err(format!(
                "prometheus query returned {x} and ignoreNullValues is false"
            )),
            (Scaler::Prometheus { .. }, Some(x)) if !x.is_finite() => Ok(0.0),
            (_, None) => Ok(0.0),
            (_, Some(x)) => Ok(x),
        }
    }
}

/// KEDA's metric-name normalisation: lower case, anything but `[a-z0-9-]` becomes `-`.
fn normalize_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `fallback.behavior`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
pub enum FallbackBehavior {
    #[default]
    Static,
    CurrentReplicas,
    CurrentReplicasIfHigher,
    CurrentReplicasIfLower,
    /// Under scalingModifiers: failed triggers become `nil` in the formula.
    ScalingModifiers,
}

/// `spec.fallback`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Fallback {
    pub failure_threshold: u32,
    pub replicas: i32,
    pub behavior: FallbackBehavior,
}

impl Fallback {
    /// The replica count the fallback value aims at, given the current count.
    pub fn replicas_for(&self, current: i32) -> i32 {
        match self.behavior {
            FallbackBehavior::Static | FallbackBehavior::ScalingModifiers => self.replicas,
            FallbackBehavior::CurrentReplicas => current,
            FallbackBehavior::CurrentReplicasIfHigher => current.max(self.replicas),
            FallbackBehavior::CurrentReplicasIfLower => current.min(self.replicas),
        }
    }
}

/// `spec.advanced.scalingModifiers`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScalingModifiers {
    #[serde(skip)]
    pub formula: Formula,
    pub formula_text: String,
    pub target: f64,
    pub activation_target: f64,
    pub metric_type: TriggerMetricType,
}

/// The pause-related annotations of a ScaledObject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Annotations {
    /// `autoscaling.keda.sh/paused`.
    pub paused: bool,
    /// `autoscaling.keda.sh/paused-replicas`.
    pub paused_replicas: Option<i32>,
    /// `autoscaling.keda.sh/paused-scale-in`.
    pub paused_scale_in: bool,
    /// `autoscaling.keda.sh/paused-scale-out`.
    pub paused_scale_out: bool,
    /// `autoscaling.keda.sh/force-activation`.
    pub force_activation: bool,
}

/// The name KEDA gives the single metric of a ScaledObject with scalingModifiers.
pub const COMPOSITE_METRIC: &str = "composite-metric";

/// A `keda.sh/v1alpha1` ScaledObject spec, defaults applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaledObjectSpec {
    pub name: String,
    pub namespace: String,
    /// `scaleTargetRef.name` (a Deployment unless `kind` says otherwise).
    pub target_name: String,
    pub target_kind: String,
    pub polling_interval: SimDuration,
    pub cooldown_period: SimDuration,
    pub initial_cooldown_period: SimDuration,
    pub min_replica_count: i32,
    pub max_replica_count: i32,
    pub idle_replica_count: Option<i32>,
    pub fallback: Option<Fallback>,
    pub hpa_name: Option<String>,
    pub behavior: Option<Behavior>,
    pub restore_to_original_replica_count: bool,
    pub scaling_modifiers: Option<ScalingModifiers>,
    pub triggers: Vec<Trigger>,
    pub annotations: Annotations,
}

impl ScaledObjectSpec {
    /// A ScaledObject with KEDA's defaults and no triggers.
    pub fn new(name: &str, namespace: &str, target_name: &str) -> Self {
        ScaledObjectSpec {
            name: name.into(),
            namespace: namespace.into(),
            target_name: target_name.into(),
            target_kind: "Deployment".into(),
            polling_interval: SimDuration::from_secs(30),
            cooldown_period: SimDuration::from_secs(300),
            initial_cooldown_period: SimDuration::ZERO,
            min_replica_count: 0,
            max_replica_count: 100,
            idle_replica_count: None,
            fallback: None,
            hpa_name: None,
            behavior: None,
            restore_to_original_replica_count: false,
            scaling_modifiers: None,
            triggers: Vec::new(),
            annotations: Annotations::default(),
        }
    }

    /// The name of the HPA KEDA creates.
    pub fn hpa_name(&self) -> String {
        self.hpa_name
            .clone()
            .unwrap_or_else(|| format!("keda-hpa-{}", self.name))
    }

    /// Whether the generated HPA exists: KEDA deletes it while the object is paused
    /// (`paused` or `paused-replicas`), so nothing scales 1..N then.
    pub fn hpa_exists(&self) -> bool {
        !(self.annotations.paused || self.annotations.paused_replicas.is_some())
    }

    /// Whether every trigger is cpu/memory (such objects are always active).
    pub fn only_resource_triggers(&self) -> bool {
        !self.triggers.is_empty() && self.triggers.iter().all(Trigger::is_resource)
    }

    /// The HPA KEDA would create for this ScaledObject (spec §2, §7).
    pub fn to_hpa(&self) -> HpaSpec {
        let mut metrics = Vec::new();
        for (i, t) in self.triggers.iter().enumerate() {
            match &t.scaler {
                Scaler::Resource {
                    resource,
                    target,
                    container,
                } => metrics.push(match container {
                    Some(c) => MetricSpec::ContainerResource {
                        resource: resource.clone(),
                        container: c.clone(),
                        target: target.clone(),
                    },
                    None => MetricSpec::Resource {
                        resource: resource.clone(),
                        target: target.clone(),
                    },
                }),
                _ if self.scaling_modifiers.is_some() => {}
                _ => metrics.push(MetricSpec::External {
                    metric: t.metric_name(i),
                    target: external_target(t.metric_type, t.target()),
                }),
            }
        }
        if let Some(m) = &self.scaling_modifiers {
            metrics.push(MetricSpec::External {
                metric: COMPOSITE_METRIC.into(),
                target: external_target(m.metric_type, m.target),
            });
        }
        let mut behavior = self.behavior.clone();
        if self.annotations.paused_scale_in {
            behavior
                .get_or_insert_with(Behavior::default)
                .scale_down
                .get_or_insert_with(Default::default)
                .select_policy = Some(SelectPolicy::Disabled);
        }
        if self.annotations.paused_scale_out {
            behavior
                .get_or_insert_with(Behavior::default)
                .scale_up
                .get_or_insert_with(Default::default)
                .select_policy = Some(SelectPolicy::Disabled);
        }
        HpaSpec {
            min_replicas: self.min_replica_count.max(1),
            max_replicas: self.max_replica_count,
            metrics,
            behavior,
        }
    }
}

fn external_target(t: TriggerMetricType, target: f64) -> MetricTarget {
    let milli = to_milli(target);
    match t {
        TriggerMetricType::Value => MetricTarget::Value(milli),
        _ => MetricTarget::AverageValue(milli),
    }
}

/// A float metric value as the milli-quantity KEDA serves: rounded to 3 decimals; NaN,
/// infinities and negative values become 0.
pub fn to_milli(v: f64) -> i64 {
    if !v.is_finite() || v <= 0.0 {
        0
    } else {
        (v * 1000.0).round() as i64
    }
}

/// What the operator remembers of one trigger's last poll (for `useCachedMetrics`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CachedRecord {
    pub value: Result<f64, String>,
    pub active: bool,
    pub at: SimTime,
}

/// The operator's state for one ScaledObject.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KedaState {
    pub created_at: SimTime,
    /// `status.lastActiveTime`.
    pub last_active_time: Option<SimTime>,
    /// `status.health[metric].numberOfFailures`.
    pub failures: BTreeMap<String, u32>,
    /// Last poll's per-trigger records, by trigger index.
    pub cache: BTreeMap<usize, CachedRecord>,
    /// Whether the last poll found the object active.
    pub active: bool,
}

impl KedaState {
    /// The state of a ScaledObject created at `created_at`.
    pub fn new(created_at: SimTime) -> Self {
        KedaState {
            created_at,
            last_active_time: None,
            failures: BTreeMap::new(),
            cache: BTreeMap::new(),
            active: false,
        }
    }

    /// Whether fallback is engaged for a metric (failures strictly above the threshold).
    pub fn fallback_active(&self, spec: &ScaledObjectSpec, metric: &str) -> bool {
        spec.fallback
            .is_some_and(|f| self.failures.get(metric).copied().unwrap_or(0) > f.failure_threshold)
    }
}

/// A trigger source reader: `(trigger index, trigger)` -> raw value (`Ok(None)`: empty answer).
pub type SourceReader<'a> = dyn FnMut(usize, &Trigger) -> Result<Option<f64>, String> + 'a;

/// One trigger's evaluation at a poll.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TriggerEval {
    pub index: usize,
    pub metric: String,
    pub value: Result<f64, String>,
    /// `value > activation` (strict), or in active fallback.
    pub active: bool,
    pub fallback_active: bool,
}

/// Why the operator did (or did not) act at a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PollReason {
    /// `paused` / `paused-replicas`: the loop does nothing (but set the paused count).
    Paused,
    /// Active at 0 (or below min in idle mode): scaled to `max(min, 1)`.
    ScaledFromZero,
    /// Active but `paused-scale-out` forbids leaving zero/idle.
    PausedScaleOut,
    /// Active with replicas > 0: the HPA owns 1..N; `lastActiveTime` refreshed.
    ActiveHpaOwns,
    /// Some trigger active, some failing: `lastActiveTime` is *not* refreshed.
    PartialTriggerError,
    /// Inactive with a failing trigger and a fallback with replicas != 0: no scale to zero.
    FallbackBlocksZero,
    /// Inactive with a failing trigger and no fallback: errors block scale to zero.
    ErrorBlocksZero,
    /// Inactive, cooldown not yet over since the last active poll (or creation).
    CooldownPending,
    /// Inactive, `paused-scale-in` forbids the drop to zero/idle.
    PausedScaleIn,
    /// Inactive and cooldown over: dropped to 0 (or idleReplicaCount) from any count.
    ScaledToZero,
    /// Inactive and below minReplicaCount: raised to min.
    RaisedToMin,
    /// Nothing to do.
    Steady,
}

/// Everything one operator poll decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PollDecision {
    pub now: SimTime,
    pub triggers: Vec<TriggerEval>,
    pub composite: Option<f64>,
    pub active: bool,
    pub error: bool,
    pub reason: PollReason,
    /// The replica count the operator writes, if any.
    pub set_replicas: Option<i32>,
    /// For `CooldownPending`: the first instant after which the drop is allowed.
    pub cooldown_until: Option<SimTime>,
}

impl PollDecision {
    /// One line a person reads.
    pub fn explain(&self) -> String {
        let state = if self.active { "active" } else { "inactive" };
        let what = match self.reason {
            PollReason::Paused => "paused: the operator does nothing".to_string(),
            PollReason::ScaledFromZero => {
                format!("scaled from zero to {}", self.set_replicas.unwrap_or(1))
            }
            PollReason::PausedScaleOut => {
                "would scale from zero but paused-scale-out is set".into()
            }
            PollReason::ActiveHpaOwns => "the HPA owns 1..N; lastActiveTime refreshed".into(),
            PollReason::PartialTriggerError => {
                "some triggers failed; lastActiveTime not refreshed".into()
            }
            PollReason::FallbackBlocksZero => {
                "a trigger failed and fallback is configured: no scale to zero".into()
            }
            PollReason::ErrorBlocksZero => {
                "a trigger failed and there is no fallback: errors block scale to zero".into()
            }
            PollReason::CooldownPending => match self.cooldown_until {
                Some(t) => format!("cooldown runs until {t}"),
                None => "cooldown pending".into(),
            },
            PollReason::PausedScaleIn => "would drop to zero but paused-scale-in is set".into(),
            PollReason::ScaledToZero => {
                format!("cooldown over: set to {}", self.set_replicas.unwrap_or(0))
            }
            PollReason::RaisedToMin => format!(
                "below minReplicaCount: set to {}",
                self.set_replicas.unwrap_or(0)
            ),
            PollReason::Steady => "nothing to do".into(),
        };
        format!("{}: keda poll: {state}: {what}", self.now)
    }
}

/// Apply the fallback bookkeeping to one fetch of one metric: success resets the counter,
/// failure bumps it; past the threshold the fallback value replaces the error.
#[allow(clippy::too_many_arguments)]
fn with_fallback(
    spec: &ScaledObjectSpec,
    state: &mut KedaState,
    metric: &str,
    target: f64,
    metric_type: TriggerMetricType,
    value: Result<f64, String>,
    current: i32,
    ready_pods: i32,
) -> (Result<f64, String>, bool) {
    let Some(fb) = spec.fallback else {
        return (value, false);
    };
    match value {
        Ok(v) => {
            state.failures.insert(metric.to_string(), 0);
            (Ok(v), false)
        }
        Err(e) => {
            let n = state.failures.entry(metric.to_string()).or_insert(0);
            *n += 1;
            if *n <= fb.failure_threshold {
                return (Err(e), false);
            }
            let r = fb.replicas_for(current) as f64;
            let v = match metric_type {
                TriggerMetricType::Value => {
                    if ready_pods <= 0 {
                        return (
                            Err(format!(
                                "{e}; fallback needs ready pods for a Value metric and there are none"
                            )),
                            true,
                        );
                    }
                    target * r / ready_pods as f64
                }
                _ => target * r,
            };
            (Ok(v), true)
        }
    }
}

/// Read one external trigger: from the poll cache when `use_cache`, else live.
fn read_trigger(
    spec: &ScaledObjectSpec,
    state: &KedaState,
    index: usize,
    use_cache: bool,
    read: &mut SourceReader<'_>,
) -> Result<f64, String> {
    let t = &spec.triggers[index];
    if use_cache && let Some(rec) = state.cache.get(&index) {
        return rec.value.clone();
    }
    t.interpret(read(index, t))
}

/// Evaluate the composite metric of scalingModifiers from per-trigger values (after fallback).
fn composite_value(
    spec: &ScaledObjectSpec,
    m: &ScalingModifiers,
    values: &[(usize, Result<f64, String>, bool)],
    current: i32,
) -> Result<f64, String> {
    let fb = spec.fallback;
    let any_fallback = values.iter().any(|(_, _, f)| *f);
    if any_fallback
        && let Some(fb) = fb
        && fb.behavior != FallbackBehavior::ScalingModifiers
    {
        return Ok(m.target * fb.replicas_for(current) as f64);
    }
    let mut vars = BTreeMap::new();
    for (i, v, in_fallback) in values {
        let t = &spec.triggers[*i];
        let Some(name) = &t.name else { continue };
        let val = match (v, in_fallback) {
            (_, true) => None,
            (Ok(x), false) => Some(*x),
            (Err(e), false) => return Err(format!("trigger {name}: {e}")),
        };
        vars.insert(name.clone(), val);
    }
    match m.formula.eval(&vars).map_err(|e| e.to_string())? {
        FValue::Num(x) => Ok(x),
        FValue::Bool(b) => Ok(if b { 1.0 } else { 0.0 }),
        FValue::Nil => match fb {
            Some(fb) => Ok(fb.replicas as f64 * m.target),
            None => Err(format!("formula `{}` evaluated to nil", m.formula_text)),
        },
    }
}

/// The HPA's read of an External metric through KEDA's metrics adapter. `current` is the
/// target's replica count (for the fallback behaviours), `ready_pods` its Running+Ready pods.
/// Returns milli-values as the external metrics API serves them.
pub fn adapter_read(
    spec: &ScaledObjectSpec,
    state: &mut KedaState,
    metric: &str,
    current: i32,
    ready_pods: i32,
    read: &mut SourceReader<'_>,
) -> Result<Vec<i64>, String> {
    if let Some(m) = &spec.scaling_modifiers
        && metric == COMPOSITE_METRIC
    {
        let mut values = Vec::new();
        for (i, t) in spec.triggers.iter().enumerate() {
            if t.is_resource() {
                continue;
            }
            let raw = read_trigger(spec, state, i, t.use_cached_metrics, read);
            let (v, fb) = with_fallback(
                spec,
                state,
                &t.metric_name(i),
                t.target(),
                t.metric_type,
                raw,
                current,
                ready_pods,
            );
            values.push((i, v, fb));
        }
        return composite_value(spec, m, &values, current).map(|v| vec![to_milli(v)]);
    }
    let Some((i, t)) = spec
        .triggers
        .iter()
        .enumerate()
        .find(|(i, t)| !t.is_resource() && t.serves_metric(*i, metric))
    else {
        return Err(format!(
            "no trigger of ScaledObject {} serves metric {metric}",
            spec.name
        ));
    };
    let raw = read_trigger(spec, state, i, t.use_cached_metrics, read);
    let (v, _) = with_fallback(
        spec,
        state,
        metric,
        t.target(),
        t.metric_type,
        raw,
        current,
        ready_pods,
    );
    v.map(|x| vec![to_milli(x)])
}

/// One tick of the operator's scale loop (spec §3–§6). `current` is `scale.spec.replicas`.
pub fn poll(
    spec: &ScaledObjectSpec,
    state: &mut KedaState,
    current: i32,
    ready_pods: i32,
    now: SimTime,
    read: &mut SourceReader<'_>,
) -> PollDecision {
    let mut d = PollDecision {
        now,
        triggers: Vec::new(),
        composite: None,
        active: false,
        error: false,
        reason: PollReason::Steady,
        set_replicas: None,
        cooldown_until: None,
    };
    let ann = spec.annotations;
    if ann.paused || ann.paused_replicas.is_some() {
        d.reason = PollReason::Paused;
        if let Some(n) = ann.paused_replicas
            && n != current
        {
            d.set_replicas = Some(n);
        }
        return d;
    }

    // Query every external trigger live (never from the cache), with fallback bookkeeping.
    let mut values = Vec::new();
    for (i, t) in spec.triggers.iter().enumerate() {
        if t.is_resource() {
            continue;
        }
        let metric = t.metric_name(i);
        let raw = t.interpret(read(i, t));
        let errored = raw.is_err();
        let (v, fb) = with_fallback(
            spec,
            state,
            &metric,
            t.target(),
            t.metric_type,
            raw.clone(),
            current,
            ready_pods,
        );
        let active = fb || matches!(raw, Ok(x) if x > t.activation());
        d.error |= errored;
        if t.use_cached_metrics {
            state.cache.insert(
                i,
                CachedRecord {
                    value: raw.clone(),
                    active,
                    at: now,
                },
            );
        }
        d.triggers.push(TriggerEval {
            index: i,
            metric,
            value: raw,
            active,
            fallback_active: fb,
        });
        values.push((i, v, fb));
    }

    d.active = if let Some(m) = &spec.scaling_modifiers {
        let c = composite_value(spec, m, &values, current);
        d.composite = c.as_ref().ok().copied();
        let any_unfallen_error = values.iter().any(|(_, v, fb)| v.is_err() && !fb);
        !any_unfallen_error && c.is_ok_and(|x| x > m.activation_target)
    } else {
        d.triggers.iter().any(|t| t.active) || (spec.only_resource_triggers() && !d.error)
    };
    if ann.force_activation {
        d.active = true;
    }
    state.active = d.active;

    let min = spec.min_replica_count;
    let idle = spec.idle_replica_count;
    if d.active {
        if (idle.is_some() && current < min) || current == 0 {
            if ann.paused_scale_out {
                d.reason = PollReason::PausedScaleOut;
            } else {
                d.set_replicas = Some(min.max(1));
                state.last_active_time = Some(now);
                d.reason = PollReason::ScaledFromZero;
            }
        } else if d.error {
            d.reason = PollReason::PartialTriggerError;
        } else {
            state.last_active_time = Some(now);
            d.reason = PollReason::ActiveHpaOwns;
        }
        return d;
    }
    if d.error && spec.fallback.is_some_and(|f| f.replicas != 0) {
        d.reason = PollReason::FallbackBlocksZero;
    } else if d.error && spec.fallback.is_none() {
        d.reason = PollReason::ErrorBlocksZero;
    } else if idle.is_some_and(|i| current > i) || (current > 0 && min == 0) {
        if ann.paused_scale_in {
            d.reason = PollReason::PausedScaleIn;
            return d;
        }
        let until = match state.last_active_time {
            None => state.created_at + spec.initial_cooldown_period,
            Some(t) => t + spec.cooldown_period,
        };
        if until < now {
            d.set_replicas = Some(idle.unwrap_or(min));
            d.reason = PollReason::ScaledToZero;
        } else {
            d.cooldown_until = Some(until);
            d.reason = PollReason::CooldownPending;
        }
    } else if idle.is_none() && current < min {
        d.set_replicas = Some(min);
        d.reason = PollReason::RaisedToMin;
    }
    d
}

#[cfg(test)]
mod tests;
