//! The "ten facts" of the KEDA spec, each as a test of the operator code.

use super::*;
use crate::policy::hpa::{ControllerConfig, Tolerances, calc};

fn redis(list_length: f64, activation: f64) -> Trigger {
    Trigger {
        name: Some("queue".into()),
        metric_type: TriggerMetricType::AverageValue,
        use_cached_metrics: false,
        scaler: Scaler::Redis {
            list_name: "jobs".into(),
            list_length,
            activation_list_length: activation,
        },
    }
}

fn prometheus(threshold: f64, ignore_null: bool) -> Trigger {
    Trigger {
        name: Some("rps".into()),
        metric_type: TriggerMetricType::AverageValue,
        use_cached_metrics: false,
        scaler: Scaler::Prometheus {
            server_address: "http://prometheus:9090".into(),
            query: "sum(rate(x[1m]))".into(),
            threshold,
            activation_threshold: 0.0,
            ignore_null_values: ignore_null,
        },
    }
}

fn cpu(pct: i32) -> Trigger {
    Trigger {
        name: None,
        metric_type: TriggerMetricType::Utilization,
        use_cached_metrics: false,
        scaler: Scaler::Resource {
            resource: "cpu".into(),
            target: MetricTarget::Utilization(pct),
            container: None,
        },
    }
}

fn so(triggers: Vec<Trigger>) -> ScaledObjectSpec {
    let mut s = ScaledObjectSpec::new("worker", "default", "worker");
    s.triggers = triggers;
    s
}

fn constant(v: f64) -> impl FnMut(usize, &Trigger) -> Result<Option<f64>, String> {
    move |_, _| Ok(Some(v))
}

fn t(s: i64) -> SimTime {
    SimTime::from_secs(s)
}

// Fact 1: three actors. The poll queries every external trigger once per tick; every HPA read
// through the adapter queries the source again (live), whatever the polling interval.
#[test]
fn fact1_polls_and_hpa_reads_each_query_the_source() {
    let spec = so(vec![redis(5.0, 0.0), prometheus(10.0, true)]);
    assert_eq!(spec.polling_interval, SimDuration::from_secs(30));
    let mut st = KedaState::new(t(0));
    let calls = std::cell::Cell::new(0);
    let mut reader = |_: usize, _: &Trigger| {
        calls.set(calls.get() + 1);
        Ok(Some(3.0))
    };
    poll(&spec, &mut st, 2, 2, t(0), &mut reader);
    assert_eq!(calls.get(), 2, "one query per external trigger per poll");
    for _ in 0..3 {
        adapter_read(&spec, &mut st, "s0-redis-jobs", 2, 2, &mut reader).unwrap();
    }
    assert_eq!(calls.get(), 5, "each HPA read is a live query");
}

// Fact 2: the operator writes replicas only for 0 -> max(1, min), idle -> min, N -> 0/idle and
// "inactive below min" -> min. 1 <-> N belongs to the HPA.
#[test]
fn fact2_operator_writes_only_zero_idle_and_min_transitions() {
    let spec = so(vec![redis(5.0, 0.0)]);
    let mut st = KedaState::new(t(0));
    let d = poll(&spec, &mut st, 3, 3, t(10), &mut constant(50.0));
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::ActiveHpaOwns, None)
    );
    let d = poll(&spec, &mut st, 0, 0, t(40), &mut constant(50.0));
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::ScaledFromZero, Some(1)),
        "from zero always lands on 1"
    );

    let mut idle = so(vec![redis(5.0, 0.0)]);
    idle.min_replica_count = 3;
    idle.idle_replica_count = Some(0);
    let mut st = KedaState::new(t(0));
    let d = poll(&idle, &mut st, 0, 0, t(10), &mut constant(1.0));
    assert_eq!(
        d.set_replicas,
        Some(3),
        "idle -> min jumps straight to minReplicaCount"
    );

    let mut floor = so(vec![redis(5.0, 0.0)]);
    floor.min_replica_count = 2;
    let mut st = KedaState::new(t(0));
    let d = poll(&floor, &mut st, 1, 1, t(10), &mut constant(0.0));
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::RaisedToMin, Some(2))
    );
    let d = poll(&floor, &mut st, 5, 5, t(40), &mut constant(0.0));
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::Steady, None),
        "cooldown is irrelevant with min > 0"
    );
}

// Fact 3: the drop to zero happens after cooldownPeriod and by cooldownPeriod + pollingInterval
// after the last active poll, from any replica count; without lastActiveTime the reference
// is creation + initialCooldownPeriod.
#[test]
fn fact3_cooldown_window_after_last_active_poll() {
    let spec = so(vec![redis(5.0, 0.0)]);
    let mut st = KedaState::new(t(-1000));
    // Active at t = 0, quiet afterwards; polls every 30 s.
    let d = poll(&spec, &mut st, 7, 7, t(0), &mut constant(9.0));
    assert_eq!(d.reason, PollReason::ActiveHpaOwns);
    let mut zeroed_at = None;
    let mut s = 30;
    while s <= 600 {
        let d = poll(&spec, &mut st, 7, 7, t(s), &mut constant(0.0));
        if d.set_replicas == Some(0) {
            zeroed_at = Some(s);
            break;
        }
        assert_eq!(d.reason, PollReason::CooldownPending);
        assert_eq!(d.cooldown_until, Some(t(300)));
        s += 30;
    }
    let z = zeroed_at.expect("scaled to zero");
    assert!(
        z > 300 && z <= 330,
        "dropped at {z}s, expected in (300, 330]"
    );
    assert_eq!(z, 330, "equality at 300 s is 'not yet' (strict comparison)");

    let mut fresh = so(vec![redis(5.0, 0.0)]);
    fresh.initial_cooldown_period = SimDuration::from_secs(120);
    let mut st = KedaState::new(t(0));
    assert_eq!(
        poll(&fresh, &mut st, 4, 4, t(60), &mut constant(0.0)).set_replicas,
        None
    );
    assert_eq!(
        poll(&fresh, &mut st, 4, 4, t(120), &mut constant(0.0)).set_replicas,
        None
    );
    assert_eq!(
        poll(&fresh, &mut st, 4, 4, t(150), &mut constant(0.0)).set_replicas,
        Some(0)
    );
}

// Fact 4: without useCachedMetrics the HPA sees the source live; with it, the last poll's value.
#[test]
fn fact4_cached_metrics_serve_the_last_poll() {
    let mut trig = redis(5.0, 0.0);
    trig.use_cached_metrics = true;
    let spec = so(vec![trig]);
    let mut st = KedaState::new(t(0));
    poll(&spec, &mut st, 2, 2, t(0), &mut constant(20.0));
    let v = adapter_read(&spec, &mut st, "s0-redis-jobs", 2, 2, &mut constant(80.0)).unwrap();
    assert_eq!(v, vec![20_000], "stale up to one polling interval");
    poll(&spec, &mut st, 2, 2, t(30), &mut constant(80.0));
    assert_eq!(
        adapter_read(&spec, &mut st, "s0-redis-jobs", 2, 2, &mut constant(1.0)).unwrap(),
        vec![80_000]
    );

    let live = so(vec![redis(5.0, 0.0)]);
    let mut st = KedaState::new(t(0));
    poll(&live, &mut st, 2, 2, t(0), &mut constant(20.0));
    assert_eq!(
        adapter_read(&live, &mut st, "s0-redis-jobs", 2, 2, &mut constant(80.0)).unwrap(),
        vec![80_000]
    );
}

// Fact 5: activation is strict `value > activation`, OR-ed across external triggers; errors
// are not active; cpu/memory-only objects are always active; mixed cpu + external activate
// only through the external triggers; modifiers use composite > activationTarget.
#[test]
fn fact5_activation_rules() {
    let spec = so(vec![redis(5.0, 10.0)]);
    let mut st = KedaState::new(t(0));
    assert!(
        !poll(&spec, &mut st, 1, 1, t(0), &mut constant(10.0)).active,
        "equal to the threshold is inactive"
    );
    assert!(poll(&spec, &mut st, 1, 1, t(30), &mut constant(10.001)).active);
    let mut failing = |_: usize, _: &Trigger| Err("connection refused".to_string());
    let d = poll(&spec, &mut st, 1, 1, t(60), &mut failing);
    assert!(!d.active && d.error);

    let cpu_only = so(vec![cpu(70)]);
    let mut st = KedaState::new(t(0));
    assert!(poll(&cpu_only, &mut st, 1, 1, t(0), &mut constant(0.0)).active);

    let mixed = so(vec![cpu(70), redis(5.0, 0.0)]);
    let mut st = KedaState::new(t(0));
    let d = poll(&mixed, &mut st, 4, 4, t(0), &mut constant(0.0));
    assert!(!d.active, "a busy CPU does not keep a mixed object active");

    let mut m = so(vec![redis(5.0, 0.0), {
        let mut p = prometheus(10.0, true);
        p.name = Some("b".into());
        p
    }]);
    m.triggers[0].name = Some("a".into());
    m.scaling_modifiers = Some(ScalingModifiers {
        formula: Formula::parse("(a + b) / 2").unwrap(),
        formula_text: "(a + b) / 2".into(),
        target: 2.0,
        activation_target: 2.0,
        metric_type: TriggerMetricType::AverageValue,
    });
    let mut st = KedaState::new(t(0));
    let mut reader = |i: usize, _: &Trigger| Ok(Some(if i == 0 { 10.0 } else { 6.0 }));
    let d = poll(&m, &mut st, 1, 1, t(0), &mut reader);
    assert_eq!(d.composite, Some(8.0));
    assert!(d.active);
    let v = adapter_read(&m, &mut st, COMPOSITE_METRIC, 1, 1, &mut reader).unwrap();
    assert_eq!(v, vec![8_000]);
    let hpa = m.to_hpa();
    assert_eq!(
        hpa.metrics,
        vec![MetricSpec::External {
            metric: COMPOSITE_METRIC.into(),
            target: MetricTarget::AverageValue(2_000)
        }]
    );
    let p = calc::average_value_target(1, 2_000, 8_000, Tolerances::symmetric(0.1)).unwrap();
    assert_eq!(p.replicas, 4, "ceil(8 / 2)");
}

// Fact 6: AverageValue external math: ceil(V/T) unless V/(T*S) is inside the band, then S.
#[test]
fn fact6_average_value_math_through_the_generated_hpa() {
    let spec = so(vec![redis(5.0, 0.0)]);
    let hpa = spec.to_hpa();
    let MetricSpec::External {
        metric,
        target: MetricTarget::AverageValue(tm),
    } = &hpa.metrics[0]
    else {
        panic!("{hpa:?}")
    };
    assert_eq!((metric.as_str(), *tm), ("s0-redis-jobs", 5_000));
    let mut st = KedaState::new(t(0));
    let v = adapter_read(&spec, &mut st, metric, 3, 3, &mut constant(23.0)).unwrap();
    let p = calc::average_value_target(3, *tm, calc::external_sum(&v), Tolerances::symmetric(0.1))
        .unwrap();
    assert_eq!(p.replicas, 5, "LLEN 23, listLength 5 -> ceil(4.6)");
    let band =
        calc::average_value_target(10, 100_000, 1_050_000, Tolerances::symmetric(0.1)).unwrap();
    assert_eq!(band.replicas, 10, "ratio 1.05 is inside the dead band");
}

// Fact 7: the generated HPA: minReplicas >= 1, behavior passed through; pause-in/out set a
// Disabled selectPolicy (which switches the HPA to the behavior pipeline).
#[test]
fn fact7_generated_hpa_min_and_behavior() {
    let mut spec = so(vec![redis(5.0, 0.0)]);
    spec.max_replica_count = 20;
    let hpa = spec.to_hpa();
    assert_eq!(
        (hpa.min_replicas, hpa.max_replicas, hpa.behavior.is_none()),
        (1, 20, true)
    );
    spec.min_replica_count = 3;
    assert_eq!(spec.to_hpa().min_replicas, 3);
    spec.annotations.paused_scale_in = true;
    let b = spec
        .to_hpa()
        .behavior
        .expect("behavior set by paused-scale-in");
    assert_eq!(
        b.resolved_scale_down(&ControllerConfig::default())
            .select_policy,
        SelectPolicy::Disabled
    );
    assert_eq!(b.resolved_scale_up().select_policy, SelectPolicy::Max);
}

// Fact 8: errors block scale-to-zero, unless the fallback has replicas 0.
#[test]
fn fact8_errors_block_scale_to_zero() {
    let mut failing = |_: usize, _: &Trigger| Err("timeout".to_string());
    let spec = so(vec![redis(5.0, 0.0)]);
    let mut st = KedaState::new(t(-10_000));
    st.last_active_time = Some(t(-5_000));
    let d = poll(&spec, &mut st, 3, 3, t(0), &mut failing);
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::ErrorBlocksZero, None)
    );

    let mut with_fb = spec.clone();
    with_fb.fallback = Some(Fallback {
        failure_threshold: 3,
        replicas: 2,
        behavior: FallbackBehavior::Static,
    });
    let mut st2 = st.clone();
    assert_eq!(
        poll(&with_fb, &mut st2, 3, 3, t(0), &mut failing).reason,
        PollReason::FallbackBlocksZero
    );

    with_fb.fallback = Some(Fallback {
        failure_threshold: 3,
        replicas: 0,
        behavior: FallbackBehavior::Static,
    });
    let mut st3 = st.clone();
    let d = poll(&with_fb, &mut st3, 3, 3, t(0), &mut failing);
    assert_eq!(
        d.set_replicas,
        Some(0),
        "fallback.replicas 0 lets the drop to zero happen"
    );
}

// Fact 9: fallback counts failures from polls and HPA reads alike, engages on the failure
// after failureThreshold, serves target x R (÷ ready pods for Value), counts as active, and
// resets on success.
#[test]
fn fact9_fallback_counts_both_paths() {
    let mut spec = so(vec![prometheus(100.0, true)]);
    spec.fallback = Some(Fallback {
        failure_threshold: 3,
        replicas: 6,
        behavior: FallbackBehavior::Static,
    });
    let mut st = KedaState::new(t(0));
    let mut failing = |_: usize, _: &Trigger| Err("prometheus down".to_string());
    poll(&spec, &mut st, 10, 10, t(0), &mut failing); // 1
    assert!(adapter_read(&spec, &mut st, "s0-prometheus", 10, 10, &mut failing).is_err()); // 2
    assert!(adapter_read(&spec, &mut st, "s0-prometheus", 10, 10, &mut failing).is_err()); // 3
    let v = adapter_read(&spec, &mut st, "s0-prometheus", 10, 10, &mut failing).unwrap(); // 4 > 3
    assert_eq!(v, vec![600_000], "target 100 x fallback replicas 6");
    assert!(st.fallback_active(&spec, "s0-prometheus"));
    let d = poll(&spec, &mut st, 10, 10, t(30), &mut failing);
    assert!(
        d.active && d.triggers[0].fallback_active,
        "a fallback-active trigger is active"
    );
    adapter_read(&spec, &mut st, "s0-prometheus", 10, 10, &mut constant(50.0)).unwrap();
    assert_eq!(
        st.failures["s0-prometheus"], 0,
        "a success resets the counter"
    );

    for (behavior, current, want) in [
        (FallbackBehavior::CurrentReplicas, 9, 9),
        (FallbackBehavior::CurrentReplicasIfHigher, 9, 9),
        (FallbackBehavior::CurrentReplicasIfHigher, 2, 6),
        (FallbackBehavior::CurrentReplicasIfLower, 9, 6),
    ] {
        let fb = Fallback {
            failure_threshold: 0,
            replicas: 6,
            behavior,
        };
        assert_eq!(fb.replicas_for(current), want, "{behavior:?}");
    }
    let mut value = spec.clone();
    value.triggers[0].metric_type = TriggerMetricType::Value;
    value.fallback = Some(Fallback {
        failure_threshold: 0,
        replicas: 6,
        behavior: FallbackBehavior::Static,
    });
    let mut st = KedaState::new(t(0));
    assert_eq!(
        adapter_read(&value, &mut st, "s0-prometheus", 4, 4, &mut failing).unwrap(),
        vec![150_000],
        "100 x 6 / 4 ready"
    );
    assert!(
        adapter_read(&value, &mut st, "s0-prometheus", 4, 0, &mut failing).is_err(),
        "no ready pods: fallback fails"
    );
}

// Fact 10: scaler specifics: prometheus empty answers read 0 by default (fallback never fires);
// with ignoreNullValues false they are errors; negative values are served as 0; the
// redis-streams mode decides the metric.
#[test]
fn fact10_scaler_specifics() {
    let lenient = prometheus(10.0, true);
    assert_eq!(lenient.interpret(Ok(None)), Ok(0.0));
    assert_eq!(lenient.interpret(Ok(Some(f64::NAN))), Ok(0.0));
    let strict = prometheus(10.0, false);
    assert!(strict.interpret(Ok(None)).is_err());
    assert_eq!(to_milli(-3.0), 0);
    assert_eq!(to_milli(1.23456), 1235);

    let mut spec = so(vec![lenient]);
    spec.fallback = Some(Fallback {
        failure_threshold: 0,
        replicas: 5,
        behavior: FallbackBehavior::Static,
    });
    let mut st = KedaState::new(t(0));
    let mut empty = |_: usize, _: &Trigger| Ok(None);
    assert_eq!(
        adapter_read(&spec, &mut st, "s0-prometheus", 3, 3, &mut empty).unwrap(),
        vec![0]
    );
    assert!(!st.fallback_active(&spec, "s0-prometheus"));

    let streams = Trigger {
        name: None,
        metric_type: TriggerMetricType::AverageValue,
        use_cached_metrics: false,
        scaler: Scaler::RedisStreams {
            stream: "agent-tasks".into(),
            consumer_group: Some("workers".into()),
            mode: StreamMode::PendingEntries,
            target: 5.0,
            activation_lag_count: 0.0,
        },
    };
    assert_eq!(streams.metric_name(1), "s1-redis-streams-agent-tasks");
    assert!(streams.serves_metric(1, "s1-redis-streams-agent-tasks"));
    for other in [
        "s0-redis-streams-agent-tasks",
        "s01-redis-streams-agent-tasks",
        "s1-redis-streams-agent-task",
        "s1-redis-streams-agent-tasksx",
        "s1-redis-agent-tasks",
        "1-redis-streams-agent-tasks",
    ] {
        assert!(!streams.serves_metric(1, other), "{other}");
    }
    assert_eq!(streams.target(), 5.0);
}

// The pause annotations: paused stops the loop and removes the HPA; paused-replicas also pins
// the count; paused-scale-out keeps a workload at zero.
#[test]
fn pause_annotations() {
    let mut spec = so(vec![redis(5.0, 0.0)]);
    spec.annotations.paused_replicas = Some(3);
    let mut st = KedaState::new(t(0));
    let d = poll(&spec, &mut st, 7, 7, t(30), &mut constant(100.0));
    assert_eq!((d.reason, d.set_replicas), (PollReason::Paused, Some(3)));
    assert!(!spec.hpa_exists());
    spec.annotations.paused_replicas = None;
    spec.annotations.paused = true;
    assert_eq!(
        poll(&spec, &mut st, 7, 7, t(60), &mut constant(100.0)).set_replicas,
        None
    );
    spec.annotations.paused = false;
    assert!(spec.hpa_exists());
    spec.annotations.paused_scale_out = true;
    let d = poll(&spec, &mut st, 0, 0, t(90), &mut constant(100.0));
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::PausedScaleOut, None)
    );
    spec.annotations.paused_scale_out = false;
    spec.annotations.paused_scale_in = true;
    st.last_active_time = Some(t(-10_000));
    let d = poll(&spec, &mut st, 4, 4, t(120), &mut constant(0.0));
    assert_eq!(
        (d.reason, d.set_replicas),
        (PollReason::PausedScaleIn, None)
    );
    spec.annotations.paused_scale_in = false;
    spec.annotations.force_activation = true;
    assert!(poll(&spec, &mut st, 4, 4, t(150), &mut constant(0.0)).active);
}

// The adapter finds a trigger by its generated metric name without building the name: the
// two agree for every scaler kind, including names KEDA has to normalise.
#[test]
fn a_trigger_serves_exactly_the_metric_name_it_generates() {
    let scalers = [
        Scaler::Redis {
            list_name: "Agent.Tasks/é".into(),
            list_length: 5.0,
            activation_list_length: 0.0,
        },
        Scaler::Generic {
            type_name: "My_Scaler".into(),
            target: 1.0,
            activation: 0.0,
        },
        Scaler::MetricsApi {
            url: "http://x".into(),
            value_location: "data.queue[0]".into(),
            target_value: 1.0,
            activation_target_value: 0.0,
        },
        Scaler::Prometheus {
            server_address: "http://p".into(),
            query: "q".into(),
            threshold: 1.0,
            activation_threshold: 0.0,
            ignore_null_values: true,
        },
    ];
    for scaler in scalers {
        let t = Trigger {
            name: None,
            metric_type: TriggerMetricType::AverageValue,
            use_cached_metrics: false,
            scaler,
        };
        for i in 0..12 {
            let name = t.metric_name(i);
            assert!(t.serves_metric(i, &name), "{name}");
            assert!(!t.serves_metric(i + 1, &name), "{name} at {}", i + 1);
            assert!(!t.serves_metric(i, &format!("{name}x")), "{name}x");
            assert!(!t.serves_metric(i, &name[..name.len() - 1]), "{name} cut");
        }
    }
}
