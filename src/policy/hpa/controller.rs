//! One reconcile of one HPA (spec §4, §7, §10), with the decision returned as data.

use super::calc::{self, CalcPath, Proposal};
use super::normalize::{self, LimitReason, Recommendation, ScaleEvent, StabilizationReason};
use super::types::*;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// The condition types of an HPA's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConditionType {
    AbleToScale,
    ScalingActive,
    ScalingLimited,
}

impl ConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::AbleToScale => "AbleToScale",
            ConditionType::ScalingActive => "ScalingActive",
            ConditionType::ScalingLimited => "ScalingLimited",
        }
    }
}

/// One status condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub kind: ConditionType,
    pub status: bool,
    pub reason: String,
    pub message: String,
    /// Changes only when `status` flips.
    pub last_transition: SimTime,
}

/// What the controller keeps between reconciles of one HPA: in-memory in upstream (lost on a
/// controller restart), plus the parts of `status` the decisions read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HpaState {
    /// `None`: the controller has no entry for this HPA yet (seeded on the next reconcile).
    pub recommendations: Option<Vec<Recommendation>>,
    pub scale_up_events: Vec<ScaleEvent>,
    pub scale_down_events: Vec<ScaleEvent>,
    pub conditions: Vec<Condition>,
    pub desired_replicas: i32,
    pub last_scale_time: Option<SimTime>,
}

impl HpaState {
    /// The condition of a type, if set.
    pub fn condition(&self, kind: ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    fn set_condition(
        &mut self,
        kind: ConditionType,
        status: bool,
        reason: &str,
        message: String,
        now: SimTime,
    ) {
        match self.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(c) => {
                if c.status != status {
                    c.last_transition = now;
                }
                c.status = status;
                c.reason = reason.to_string();
                c.message = message;
            }
            None => self.conditions.push(Condition {
                kind,
                status,
                reason: reason.to_string(),
                message,
                last_transition: now,
            }),
        }
    }
}

/// The evaluation of one metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricEvaluation {
    pub index: usize,
    pub label: String,
    pub result: Result<Proposal, MetricFailure>,
}

/// A metric that could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MetricFailure {
    /// `FailedGetResourceMetric`, `FailedGetExternalMetric`, `InvalidMetricSourceType`, …
    pub reason: String,
    pub message: String,
}

/// Which route a reconcile took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SyncPath {
    /// `current == 0` with `minReplicas != 0`: autoscaling disabled.
    ScalingDisabled,
    /// `current > maxReplicas`: straight to max.
    AboveMax,
    /// `current < minReplicas`: straight to min.
    BelowMin,
    /// Metrics evaluated and normalized.
    Metrics,
    /// Every metric invalid, or some invalid while the rest would scale down: no change.
    MetricsFailed,
}

/// Everything one reconcile decided, and why. This is what answers "why did it (not) scale".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncDecision {
    pub now: SimTime,
    pub path: SyncPath,
    /// `scale.spec.replicas` at the start.
    pub current: i32,
    pub metrics: Vec<MetricEvaluation>,
    /// Index into `metrics` of the proposal that won the max.
    pub winning_metric: Option<usize>,
    /// The combined proposal before normalization.
    pub prenormalized: Option<i32>,
    /// After stabilization.
    pub stabilized: Option<i32>,
    pub stabilization: Option<StabilizationReason>,
    /// The window the stabilization used in the direction of travel (seconds).
    pub stabilization_window_s: Option<i64>,
    /// The rate/range limit that bound the result (or `DesiredWithinRange`).
    pub limit: Option<LimitReason>,
    /// The policy limit in the direction of travel (behavior pipeline) or the legacy cap.
    pub policy_limit: Option<i32>,
    /// The replica count this reconcile wants.
    pub desired: i32,
    /// Whether a write of the scale subresource was attempted, and whether it succeeded.
    pub rescale: bool,
    pub scale_updated: bool,
    /// The value reported in `status.desiredReplicas` after this reconcile.
    pub status_desired: i32,
}

impl SyncDecision {
    /// The proposal of the winning metric, if any.
    pub fn winner(&self) -> Option<&MetricEvaluation> {
        self.winning_metric.and_then(|i| self.metrics.get(i))
    }

    /// One line a person reads: what happened and the binding reason.
    pub fn explain(&self) -> String {
        let head = match self.path {
            SyncPath::ScalingDisabled => {
                return format!(
                    "{}: replicas are 0 and minReplicas > 0: autoscaling is disabled",
                    self.now
                );
            }
            SyncPath::AboveMax => {
                return format!(
                    "{}: {} replicas above maxReplicas: set to {} without stabilization",
                    self.now, self.current, self.desired
                );
            }
            SyncPath::BelowMin => {
                return format!(
                    "{}: {} replicas below minReplicas: set to {} without stabilization",
                    self.now, self.current, self.desired
                );
            }
            SyncPath::MetricsFailed => {
                let first = self.metrics.iter().find_map(|m| {
                    m.result
                        .as_ref()
                        .err()
                        .map(|e| (m.label.clone(), e.clone()))
                });
                let (label, e) = first.unwrap_or_else(|| {
                    (
                        "-".into(),
                        MetricFailure {
                            reason: "-".into(),
                            message: "-".into(),
                        },
                    )
                });
                return format!(
                    "{}: held at {}: metric {label} failed ({}: {}); invalid metrics block scale-down",
                    self.now, self.current, e.reason, e.message
                );
            }
            SyncPath::Metrics => String::new(),
        };
        let mut s = head;
        let pre = self.prenormalized.unwrap_or(self.current);
        if let Some(w) = self.winner()
            && let Ok(p) = &w.result
        {
            s.push_str(&format!(
                "{}: metric {} ratio {:.3} proposes {}",
                self.now, w.label, p.ratio, p.replicas
            ));
            match p.path {
                CalcPath::WithinTolerance => {
                    s.push_str(" (ratio inside the tolerance band: no change)")
                }
                CalcPath::ConservativeHeld => s.push_str(
                    " (held: assumed values for missing/unready pods reverse or cancel the change)",
                ),
                CalcPath::Conservative => {
                    s.push_str(" (after assuming values for missing/unready pods)")
                }
                CalcPath::FromZero => s.push_str(" (scaling from zero)"),
                CalcPath::Direct => {}
            }
        } else {
            s.push_str(&format!("{}: combined proposal {pre}", self.now));
        }
        if let (Some(st), Some(reason)) = (self.stabilized, self.stabilization)
            && st != pre
        {
            let w = self
                .stabilization_window_s
                .map(|w| format!(" over {w}s"))
                .unwrap_or_default();
            s.push_str(&format!("; {}{w} -> {st}", reason.as_str()));
        }
        if let Some(limit) = self.limit
            && limit != LimitReason::DesiredWithinRange
        {
            s.push_str(&format!("; {} -> {}", limit.as_str(), self.desired));
        }
        if self.rescale {
            if self.scale_updated {
                s.push_str(&format!("; scaled {} -> {}", self.current, self.desired));
            } else {
                s.push_str(&format!("; scale update to {} FAILED", self.desired));
            }
        } else {
            s.push_str(&format!("; stays at {}", self.current));
        }
        s
    }
}

fn failure_reason(spec: &MetricSpec) -> &'static str {
    match spec {
        MetricSpec::Resource { .. } => "FailedGetResourceMetric",
        MetricSpec::ContainerResource { .. } => "FailedGetContainerResourceMetric",
        MetricSpec::Pods { .. } => "FailedGetPodsMetric",
        MetricSpec::Object { .. } => "FailedGetObjectMetric",
        MetricSpec::External { .. } => "FailedGetExternalMetric",
        MetricSpec::Unknown { .. } => "InvalidMetricSourceType",
    }
}

/// Evaluate one metric spec into a proposal (upstream `computeReplicasForMetric`).
pub fn evaluate_metric(
    spec: &MetricSpec,
    scale: ScaleInfo,
    api: &mut dyn MetricsApi,
    pods: &[PodInfo],
    tol: Tolerances,
    cfg: &ControllerConfig,
    now: SimTime,
) -> Result<Proposal, MetricFailure> {
    let fail = |message: String| MetricFailure {
        reason: failure_reason(spec).to_string(),
        message,
    };
    let current = scale.spec_replicas;
    let fetch_err = |what: &str, e: String| fail(format!("unable to get {what}: {e}"));
    match spec {
        MetricSpec::Resource { resource, target }
        | MetricSpec::ContainerResource {
            resource, target, ..
        } => {
            let container = match spec {
                MetricSpec::ContainerResource { container, .. } => Some(container.as_str()),
                _ => None,
            };
            // Upstream checks the target before reading any sample.
            enum Want {
                Percent(i32),
                Average(i64),
            }
            let want = match target {
                MetricTarget::Utilization(pct) => Want::Percent(*pct),
                MetricTarget::AverageValue(v) => Want::Average(*v),
                MetricTarget::Value(_) => {
                    return Err(fail(format!(
                        "invalid target type Value for resource metric {resource}"
                    )));
                }
                MetricTarget::Unset => {
                    return Err(fail(
                        "invalid resource metric source: neither an average utilization target nor an average value target was set"
                            .into(),
                    ));
                }
            };
            let samples = api
                .resource_metrics(resource)
                .map_err(|e| fetch_err(&format!("metrics for resource {resource}"), e))?;
            let r = match want {
                Want::Percent(pct) => calc::resource_utilization(
                    current, pct, resource, container, pods, &samples, tol, cfg, now,
                ),
                Want::Average(v) => calc::resource_average_value(
                    current, v, resource, container, pods, &samples, tol, cfg, now,
                ),
            };
            r.map_err(|e| {
                fail(format!(
                    "failed to get {resource} resource metric value: {e}"
                ))
            })
        }
        MetricSpec::Pods { metric, target } => {
            let MetricTarget::AverageValue(t) = target else {
                return Err(fail(format!(
                    "Pods metric {metric} needs an AverageValue target"
                )));
            };
            let samples = api
                .pods_metric(metric)
                .map_err(|e| fetch_err(&format!("metric {metric}"), e))?;
            calc::pods_average_value(current, *t, pods, &samples, tol, cfg, now)
                .map_err(|e| fail(format!("failed to get pods metric value: {e}")))
        }
        MetricSpec::Object {
            metric,
            object,
            target,
        } => {
            let usage = api
                .object_metric(metric, object)
                .map_err(|e| fetch_err(&format!("metric {metric}"), e))?;
            match target {
                MetricTarget::Value(t) => calc::value_target(current, *t, usage, pods, tol),
                MetricTarget::AverageValue(t) => {
                    calc::average_value_target(scale.status_replicas, *t, usage, tol)
                }
                MetricTarget::Utilization(_) => {
                    return Err(fail(
                        "invalid target type Utilization for an Object metric".into(),
                    ));
                }
                MetricTarget::Unset => {
                    return Err(fail(
                        "invalid object metric source: neither a value target nor an average value target was set".into(),
                    ));
                }
            }
            .map_err(|e| fail(format!("failed to get object metric value: {e}")))
        }
        MetricSpec::External { metric, target } => {
            let values = api
                .external_metric(metric)
                .map_err(|e| fetch_err(&format!("external metric {metric}"), e))?;
            let usage = calc::external_sum(&values);
            match target {
                MetricTarget::Value(t) => calc::value_target(current, *t, usage, pods, tol),
                MetricTarget::AverageValue(t) => {
                    calc::average_value_target(scale.status_replicas, *t, usage, tol)
                }
                MetricTarget::Utilization(_) => {
                    return Err(fail(
                        "invalid target type Utilization for an External metric".into(),
                    ));
                }
                MetricTarget::Unset => {
                    return Err(fail(
                        "invalid external metric source: neither a value target nor an average value target was set".into(),
                    ));
                }
            }
            .map_err(|e| fail(format!("failed to get external metric value: {e}")))
        }
        MetricSpec::Unknown { type_name } => {
            Err(fail(format!("unknown metric source type \"{type_name}\"")))
        }
    }
}

/// One reconcile. `write_scale` is asked to set `scale.spec.replicas` when the HPA rescales;
/// an `Err` models a failed update (the decision then records it and status keeps the previous
/// desired count).
pub fn reconcile(
    spec: &HpaSpec,
    state: &mut HpaState,
    scale: ScaleInfo,
    api: &mut dyn MetricsApi,
    cfg: &ControllerConfig,
    now: SimTime,
    write_scale: &mut dyn FnMut(i32) -> Result<(), String>,
) -> SyncDecision {
    state.set_condition(
        ConditionType::AbleToScale,
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".into(),
        now,
    );
    let current = scale.spec_replicas;
    if state.recommendations.is_none() {
        state.recommendations = Some(vec![Recommendation {
            replicas: current,
            timestamp: now,
        }]);
    }
    let min = spec.min_replicas;
    let max = spec.max_replicas;
    let mut d = SyncDecision {
        now,
        path: SyncPath::Metrics,
        current,
        metrics: Vec::new(),
        winning_metric: None,
        prenormalized: None,
        stabilized: None,
        stabilization: None,
        stabilization_window_s: None,
        limit: None,
        policy_limit: None,
        desired: current,
        rescale: false,
        scale_updated: false,
        status_desired: state.desired_replicas,
    };

    let desired;
    if current == 0 && min != 0 {
        state.set_condition(
            ConditionType::ScalingActive,
            false,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero".into(),
            now,
        );
        d.path = SyncPath::ScalingDisabled;
        d.desired = 0;
        d.status_desired = 0;
        state.desired_replicas = 0;
        return d;
    } else if current > max {
        d.path = SyncPath::AboveMax;
        desired = max;
    } else if current < min {
        d.path = SyncPath::BelowMin;
        desired = min;
    } else {
        let tol = spec.tolerances(cfg);
        let pods = api.pods();
        let mut combined = 0i32;
        let mut invalid = 0usize;
        let mut first_failure: Option<MetricFailure> = None;
        for (i, m) in spec.metrics.iter().enumerate() {
            let r = evaluate_metric(m, scale, api, &pods, tol, cfg, now);
            match &r {
                Ok(p) => {
                    if combined == 0 || p.replicas > combined {
                        combined = p.replicas;
                        d.winning_metric = Some(i);
                    }
                }
                Err(e) => {
                    if first_failure.is_none() {
                        first_failure = Some(e.clone());
                    }
                    invalid += 1;
                }
            }
            d.metrics.push(MetricEvaluation {
                index: i,
                label: m.label(),
                result: r,
            });
        }
        if invalid >= spec.metrics.len() || (invalid > 0 && combined < current) {
            let f = first_failure.unwrap_or(MetricFailure {
                reason: "InvalidMetricSourceType".into(),
                message: "the HPA has no metrics".into(),
            });
            state.set_condition(
                ConditionType::ScalingActive,
                false,
                &f.reason,
                f.message,
                now,
            );
            d.path = SyncPath::MetricsFailed;
            return d;
        }
        let label = d.winner().map(|m| m.label.clone()).unwrap_or_default();
        state.set_condition(
            ConditionType::ScalingActive,
            true,
            "ValidMetricFound",
            format!("the HPA was able to successfully calculate a replica count from {label}"),
            now,
        );
        d.prenormalized = Some(combined);
        let history = state.recommendations.get_or_insert_with(Vec::new);
        let (stab, stab_reason, limited, limit_reason) = match &spec.behavior {
            None => {
                let (stab, reason) = normalize::legacy_stabilize(
                    history,
                    combined,
                    cfg.downscale_stabilization,
                    now,
                );
                d.stabilization_window_s = Some(cfg.downscale_stabilization.as_secs());
                let (out, limit) = normalize::legacy_clamp(current, stab, min, max, cfg);
                d.policy_limit = Some(normalize::legacy_scale_up_limit(current, cfg));
                (stab, reason, out, limit)
            }
            Some(b) => {
                let up = b.resolved_scale_up();
                let down = b.resolved_scale_down(cfg);
                let (stab, reason) = normalize::behavior_stabilize(
                    history,
                    current,
                    combined,
                    up.stabilization_window,
                    down.stabilization_window,
                    now,
                );
                d.stabilization_window_s = Some(
                    if combined >= current {
                        up.stabilization_window
                    } else {
                        down.stabilization_window
                    }
                    .as_secs(),
                );
                let rl = normalize::behavior_rate_limit(
                    current,
                    stab,
                    min,
                    max,
                    &up,
                    &down,
                    &state.scale_up_events,
                    &state.scale_down_events,
                    now,
                );
                d.policy_limit = rl.policy_limit;
                (stab, reason, rl.replicas, rl.reason)
            }
        };
        let stab_msg = match stab_reason {
            StabilizationReason::ReadyForNewScale => "recommended size matches current size",
            StabilizationReason::ScaleUpStabilized => {
                "recent recommendations were lower than current one, applying the lowest recent recommendation"
            }
            StabilizationReason::ScaleDownStabilized => {
                "recent recommendations were higher than current one, applying the highest recent recommendation"
            }
        };
        state.set_condition(
            ConditionType::AbleToScale,
            true,
            stab_reason.as_str(),
            stab_msg.into(),
            now,
        );
        state.set_condition(
            ConditionType::ScalingLimited,
            limited != stab,
            limit_reason.as_str(),
            limit_message(limit_reason),
            now,
        );
        d.stabilized = Some(stab);
        d.stabilization = Some(stab_reason);
        d.limit = Some(limit_reason);
        desired = limited;
    }

    d.desired = desired;
    d.rescale = desired != current;
    if d.rescale {
        match write_scale(desired) {
            Err(e) => {
                state.set_condition(
                    ConditionType::AbleToScale,
                    false,
                    "FailedUpdateScale",
                    format!("the HPA controller was unable to update the target scale: {e}"),
                    now,
                );
                d.status_desired = state.desired_replicas;
                return d;
            }
            Ok(()) => {
                d.scale_updated = true;
                state.set_condition(
                    ConditionType::AbleToScale,
                    true,
                    "SucceededRescale",
                    format!("the HPA controller was able to update the target scale to {desired}"),
                    now,
                );
                if let Some(b) = &spec.behavior {
                    if desired > current {
                        normalize::store_scale_event(
                            &mut state.scale_up_events,
                            &b.resolved_scale_up(),
                            desired - current,
                            now,
                        );
                    } else {
                        normalize::store_scale_event(
                            &mut state.scale_down_events,
                            &b.resolved_scale_down(cfg),
                            current - desired,
                            now,
                        );
                    }
                }
                state.last_scale_time = Some(now);
                state.desired_replicas = desired;
            }
        }
    } else {
        state.desired_replicas = current;
    }
    d.status_desired = state.desired_replicas;
    d
}

fn limit_message(r: LimitReason) -> String {
    match r {
        LimitReason::DesiredWithinRange => "the desired count is within the acceptable range",
        LimitReason::TooManyReplicas => {
            "the desired replica count is more than the maximum replica count"
        }
        LimitReason::TooFewReplicas => {
            "the desired replica count is less than the minimum replica count"
        }
        LimitReason::ScaleUpLimit => {
            "the desired replica count is increasing faster than the maximum scale rate"
        }
        LimitReason::ScaleDownLimit => {
            "the desired replica count is decreasing faster than the maximum scale rate"
        }
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// External metrics served from a map, one pod list for all.
    struct Api(Vec<(String, Result<i64, String>)>, i32);

    impl MetricsApi for Api {
        fn pods(&mut self) -> Vec<PodInfo> {
            (0..self.1)
                .map(|i| PodInfo {
                    name: format!("p{i}").into(),
                    phase: PodPhase::Running,
                    ready: Some(ReadyCondition {
                        status: ConditionStatus::True,
                        last_transition: SimTime::ZERO,
                    }),
                    deleting: false,
                    start_time: Some(SimTime::ZERO),
                    containers: vec![].into(),
                    pod_requests: vec![],
                })
                .collect()
        }
        fn resource_metrics(&mut self, _: &str) -> Result<Vec<ResourceSample>, String> {
            Err("not served".into())
        }
        fn pods_metric(&mut self, _: &str) -> Result<Vec<PodMetricSample>, String> {
            Err("not served".into())
        }
        fn object_metric(&mut self, _: &str, _: &ObjectRef) -> Result<i64, String> {
            Err("not served".into())
        }
        fn external_metric(&mut self, m: &str) -> Result<Vec<i64>, String> {
            self.0
                .iter()
                .find(|(n, _)| n == m)
                .map(|(_, v)| v.clone().map(|x| vec![x]))
                .unwrap_or(Err("unknown".into()))
        }
    }

    fn ext(name: &str, target: i64) -> MetricSpec {
        MetricSpec::External {
            metric: name.into(),
            target: MetricTarget::AverageValue(target),
        }
    }

    fn sync(
        spec: &HpaSpec,
        st: &mut HpaState,
        current: i32,
        api: &mut Api,
        t: i64,
    ) -> SyncDecision {
        let mut ok = |_: i32| Ok(());
        reconcile(
            spec,
            st,
            ScaleInfo {
                spec_replicas: current,
                status_replicas: current,
            },
            api,
            &ControllerConfig::default(),
            SimTime::from_secs(t),
            &mut ok,
        )
    }

    #[test]
    fn decision_names_the_winning_metric_and_the_limit() {
        let spec = HpaSpec {
            min_replicas: 1,
            max_replicas: 10,
            metrics: vec![ext("queue", 5_000), ext("rps", 15_000)],
            behavior: None,
        };
        let mut st = HpaState::default();
        let mut api = Api(
            vec![("queue".into(), Ok(20_000)), ("rps".into(), Ok(150_000))],
            2,
        );
        let d = sync(&spec, &mut st, 2, &mut api, 0);
        assert_eq!(d.winner().unwrap().label, "external/rps");
        assert_eq!(d.prenormalized, Some(10));
        assert_eq!(
            d.limit,
            Some(LimitReason::ScaleUpLimit),
            "legacy cap max(2x2, 4) = 4"
        );
        assert_eq!(d.desired, 4);
        let why = d.explain();
        assert!(
            why.contains("external/rps")
                && why.contains("ScaleUpLimit -> 4")
                && why.contains("scaled 2 -> 4"),
            "{why}"
        );
    }

    #[test]
    fn decision_says_when_tolerance_or_stabilization_held_it() {
        let spec = HpaSpec {
            min_replicas: 1,
            max_replicas: 10,
            metrics: vec![ext("queue", 10_000)],
            behavior: None,
        };
        let mut st = HpaState::default();
        let mut api = Api(vec![("queue".into(), Ok(105_000))], 10);
        let d = sync(&spec, &mut st, 10, &mut api, 0);
        assert_eq!(
            d.winner().unwrap().result.as_ref().unwrap().path,
            CalcPath::WithinTolerance
        );
        assert!(
            d.explain().contains("inside the tolerance band"),
            "{}",
            d.explain()
        );
        // Load drops: the seeded history (10 at creation) holds the scale-down for 300 s.
        api.0[0].1 = Ok(30_000);
        let d = sync(&spec, &mut st, 10, &mut api, 15);
        assert_eq!(
            (d.prenormalized, d.stabilized, d.desired),
            (Some(3), Some(10), 10)
        );
        assert!(
            d.explain().contains("ScaleDownStabilized over 300s -> 10"),
            "{}",
            d.explain()
        );
        let d = sync(&spec, &mut st, 10, &mut api, 301);
        assert_eq!(d.desired, 3, "{}", d.explain());
    }

    #[test]
    fn failed_metric_blocks_scale_down_but_not_scale_up() {
        let spec = HpaSpec {
            min_replicas: 1,
            max_replicas: 20,
            metrics: vec![ext("a", 1_000), ext("b", 1_000)],
            behavior: Some(Behavior::default()),
        };
        let mut st = HpaState {
            recommendations: Some(vec![]),
            ..HpaState::default()
        };
        let mut api = Api(
            vec![
                ("a".into(), Ok(2_000)),
                ("b".into(), Err("source down".into())),
            ],
            5,
        );
        let d = sync(&spec, &mut st, 5, &mut api, 0);
        assert_eq!(d.path, SyncPath::MetricsFailed);
        assert!(d.explain().contains("source down"), "{}", d.explain());
        assert_eq!(
            st.condition(ConditionType::ScalingActive).unwrap().reason,
            "FailedGetExternalMetric"
        );
        api.0[0].1 = Ok(9_000);
        let d = sync(&spec, &mut st, 5, &mut api, 15);
        assert_eq!(d.desired, 9, "{}", d.explain());
        assert_eq!(st.scale_up_events.len(), 1);
        assert_eq!(st.last_scale_time, Some(SimTime::from_secs(15)));
    }
}
