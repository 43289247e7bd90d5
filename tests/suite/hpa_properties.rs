//! Properties of the HPA policy math that must hold for every input.

use proptest::prelude::*;
use scaletwin::policy::hpa::calc;
use scaletwin::policy::hpa::normalize::{self, ScaleEvent};
use scaletwin::policy::hpa::*;
use scaletwin::time::{SimDuration, SimTime};

const NOW: SimTime = SimTime::from_secs(100_000);

fn ready_pod(i: usize, request: i64) -> PodInfo {
    PodInfo {
        name: format!("p{i}").into(),
        phase: PodPhase::Running,
        ready: Some(ReadyCondition {
            status: ConditionStatus::True,
            last_transition: SimTime::from_secs(0),
        }),
        deleting: false,
        start_time: Some(SimTime::from_secs(0)),
        containers: vec![ContainerRequest::new("c", "cpu", Some(request))].into(),
        pod_requests: vec![],
    }
}

fn sample(i: usize, usage: i64) -> ResourceSample {
    ResourceSample {
        pod: format!("p{i}").into(),
        timestamp: NOW,
        window: SimDuration::from_secs(30),
        containers: vec![ContainerUsage {
            name: "c".into(),
            usage_milli: Some(usage),
        }],
    }
}

/// Metrics APIs that serve one external value.
struct OneExternal(i64, Vec<PodInfo>);

impl MetricsApi for OneExternal {
    fn pods(&mut self) -> Vec<PodInfo> {
        self.1.clone()
    }
    fn resource_metrics(&mut self, _: &str) -> Result<Vec<ResourceSample>, String> {
        Err("none".into())
    }
    fn pods_metric(&mut self, _: &str) -> Result<Vec<PodMetricSample>, String> {
        Err("none".into())
    }
    fn object_metric(&mut self, _: &str, _: &ObjectRef) -> Result<i64, String> {
        Err("none".into())
    }
    fn external_metric(&mut self, _: &str) -> Result<Vec<i64>, String> {
        Ok(vec![self.0])
    }
}

fn policy() -> impl Strategy<Value = ScalingPolicy> {
    (
        prop_oneof![Just(PolicyType::Pods), Just(PolicyType::Percent)],
        1..200i32,
        1..600i32,
    )
        .prop_map(|(kind, value, period_seconds)| ScalingPolicy {
            kind,
            value,
            period_seconds,
        })
}

fn rules() -> impl Strategy<Value = ScalingRules> {
    (
        proptest::option::of(0..3600i32),
        proptest::option::of(prop_oneof![
            Just(SelectPolicy::Max),
            Just(SelectPolicy::Min),
            Just(SelectPolicy::Disabled)
        ]),
        proptest::option::of(proptest::collection::vec(policy(), 1..4)),
    )
        .prop_map(|(w, s, p)| ScalingRules {
            stabilization_window_seconds: w,
            select_policy: s,
            policies: p,
            tolerance: None,
        })
}

fn behavior() -> impl Strategy<Value = Option<Behavior>> {
    proptest::option::of(
        (proptest::option::of(rules()), proptest::option::of(rules())).prop_map(|(u, d)| {
            Behavior {
                scale_up: u,
                scale_down: d,
            }
        }),
    )
}

fn events() -> impl Strategy<Value = Vec<ScaleEvent>> {
    proptest::collection::vec(
        (1..50i32, 0..900i64).prop_map(|(change, age)| ScaleEvent {
            change,
            timestamp: NOW - SimDuration::from_secs(age),
            outdated: false,
        }),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever the metric says and whatever the history, a reconcile that starts inside
    /// [min, max] ends inside it, over several syncs.
    #[test]
    fn replicas_stay_within_min_and_max(
        min in 1..10i32, span in 0..40i32, start in 0..40i32,
        values in proptest::collection::vec(0..10_000_000i64, 1..8),
        target in 1..500_000i64, b in behavior(),
    ) {
        let max = min + span;
        let mut current = min + start % (span + 1);
        let spec = HpaSpec { min_replicas: min, max_replicas: max, metrics: vec![MetricSpec::External { metric: "m".into(), target: MetricTarget::AverageValue(target) }], behavior: b };
        let mut state = HpaState::default();
        let cfg = ControllerConfig::default();
        for (k, v) in values.iter().enumerate() {
            let now = NOW + SimDuration::from_secs(15 * k as i64);
            let mut api = OneExternal(*v, (0..current as usize).map(|i| ready_pod(i, 500)).collect());
            let mut write = |_: i32| Ok(());
            let d = reconcile(&spec, &mut state, ScaleInfo { spec_replicas: current, status_replicas: current }, &mut api, &cfg, now, &mut write);
            prop_assert!(d.desired >= min && d.desired <= max, "desired {} outside [{min}, {max}]: {}", d.desired, d.explain());
            current = d.desired;
        }
    }

    /// A usage ratio inside the tolerance band proposes exactly the current count, for every
    /// metric type.
    #[test]
    fn ratio_inside_tolerance_changes_nothing(current in 1..60i32, target in 1_000..100_000i64, f in -0.099f64..0.099, up in 0.0f64..0.5, down in 0.0f64..0.5) {
        let tol = Tolerances { scale_up: 0.1 + up, scale_down: 0.1 + down };
        let pods: Vec<PodInfo> = (0..current as usize).map(|i| ready_pod(i, 1000)).collect();
        let usage = (target as f64 * (1.0 + f)).round() as i64;
        prop_assume!(tol.is_within(usage as f64 / target as f64));
        prop_assert_eq!(calc::value_target(current, target, usage, &pods, tol).unwrap().replicas, current);
        let total = (target as f64 * current as f64 * (1.0 + f)) as i64;
        prop_assume!(tol.is_within(total as f64 / (target as f64 * current as f64)));
        prop_assert_eq!(calc::average_value_target(current, target, total, tol).unwrap().replicas, current);
        // Utilization: every pod at the same usage, ratio inside the band.
        let pct = 50;
        let per_pod = (1000.0 * pct as f64 / 100.0 * (1.0 + f)) as i64;
        let samples: Vec<ResourceSample> = (0..current as usize).map(|i| sample(i, per_pod)).collect();
        let cfg = ControllerConfig::default();
        let p = calc::resource_utilization(current, pct, "cpu", None, &pods, &samples, tol, &cfg, NOW).unwrap();
        if tol.is_within(p.ratio) {
            prop_assert_eq!(p.replicas, current);
        }
    }

    /// The behavior rate limit never moves the count past the stabilized value, never in the
    /// opposite direction, and its policy limit never sits below current on the way up (nor
    /// above it on the way down).
    #[test]
    fn rate_limits_never_overshoot_or_reverse(current in 1..200i32, stab in 0..400i32, up in rules(), down in rules(), ue in events(), de in events()) {
        let b = Behavior { scale_up: Some(up), scale_down: Some(down) };
        let cfg = ControllerConfig::default();
        let (u, d) = (b.resolved_scale_up(), b.resolved_scale_down(&cfg));
        let rl = normalize::behavior_rate_limit(current, stab, 0, 1000, &u, &d, &ue, &de, NOW);
        if stab > current {
            prop_assert!(rl.replicas >= current && rl.replicas <= stab);
            prop_assert!(rl.policy_limit.unwrap() >= current);
        } else if stab < current {
            prop_assert!(rl.replicas <= current && rl.replicas >= stab);
            prop_assert!(rl.policy_limit.unwrap() <= current);
        } else {
            prop_assert_eq!(rl.replicas, current);
        }
    }

    /// With a single metric, more load never proposes fewer replicas.
    #[test]
    fn proposals_are_monotone_in_load(current in 1..50i32, target in 1_000..50_000i64, a in 0..5_000_000i64, extra in 0..5_000_000i64) {
        let tol = Tolerances::symmetric(0.1);
        let lo = calc::average_value_target(current, target, a, tol).unwrap().replicas;
        let hi = calc::average_value_target(current, target, a + extra, tol).unwrap().replicas;
        prop_assert!(hi >= lo, "AverageValue: {a} -> {lo}, {} -> {hi}", a + extra);
        let pods: Vec<PodInfo> = (0..current as usize).map(|i| ready_pod(i, 1000)).collect();
        let lo = calc::value_target(current, target, a, &pods, tol).unwrap().replicas;
        let hi = calc::value_target(current, target, a + extra, &pods, tol).unwrap().replicas;
        prop_assert!(hi >= lo, "Value: {lo} then {hi}");
        let cfg = ControllerConfig::default();
        let per = |total: i64| -> Vec<ResourceSample> { (0..current as usize).map(|i| sample(i, total / current as i64)).collect() };
        let u1 = calc::resource_utilization(current, 60, "cpu", None, &pods, &per(a / 1000), tol, &cfg, NOW).unwrap().replicas;
        let u2 = calc::resource_utilization(current, 60, "cpu", None, &pods, &per((a + extra) / 1000), tol, &cfg, NOW).unwrap().replicas;
        prop_assert!(u2 >= u1, "Utilization: {u1} then {u2}");
    }

    /// The same inputs give the same decision: the policy code has no hidden state or clock.
    #[test]
    fn reconcile_is_deterministic(v in 0..1_000_000i64, current in 1..20i32, b in behavior()) {
        let spec = HpaSpec { min_replicas: 1, max_replicas: 30, metrics: vec![MetricSpec::External { metric: "m".into(), target: MetricTarget::AverageValue(10_000) }], behavior: b };
        let run = || {
            let mut state = HpaState::default();
            let mut api = OneExternal(v, (0..current as usize).map(|i| ready_pod(i, 500)).collect());
            let mut write = |_: i32| Ok(());
            let d = reconcile(&spec, &mut state, ScaleInfo { spec_replicas: current, status_replicas: current }, &mut api, &ControllerConfig::default(), NOW, &mut write);
            (format!("{d:?}"), format!("{state:?}"))
        };
        prop_assert_eq!(run(), run());
    }
}

/// A Pods metric whose usage ratio is exactly 1 with a pod missing: upstream fills missing
/// pods only strictly below or above 1, so the missing pod is left out and the ratio, inside
/// the tolerance, keeps the current count (filling it with 0 scaled down to 2).
#[test]
fn a_ratio_of_exactly_one_leaves_missing_pods_out() {
    let pods = [ready_pod(0, 100), ready_pod(1, 100), ready_pod(2, 100)];
    let samples: Vec<PodMetricSample> = (0..2)
        .map(|i| PodMetricSample {
            pod: format!("p{i}").into(),
            value_milli: 10_000,
            timestamp: NOW,
            window: SimDuration::from_secs(60),
        })
        .collect();
    let p = calc::pods_average_value(
        3,
        10_000,
        &pods,
        &samples,
        Tolerances::symmetric(0.1),
        &ControllerConfig::default(),
        NOW,
    )
    .unwrap();
    assert_eq!((p.replicas, p.ratio), (3, 1.0), "{p:?}");
}
