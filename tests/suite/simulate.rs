//! The simulator end to end: hand-worked HPA and KEDA timelines, determinism, closed loops,
//! model validation, overrides, and the shipped models.

use scaletwin::engine::{self, DecisionRecord, Outcome, RunConfig, Workload};
use scaletwin::scenario::{ModelSources, embedded_amas};
use std::path::{Path, PathBuf};

fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (f, t) in files {
        std::fs::write(d.join(f), t).unwrap();
    }
    d
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: t}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          resources: {requests: {cpu: '1'}}
";

fn hpa(behavior: &str) -> String {
    format!(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web, namespace: t}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: 20
  metrics:
    - type: External
      external:
        metric: {{name: load}}
        target: {{type: AverageValue, averageValue: '10'}}
{behavior}"
    )
}

fn service(workload: &str, duration: u32, bindings: &str) -> String {
    format!(
        "format_version: 1
name: t
entry: web
scenario:
  duration_s: {duration}
  workload: {workload}
deployments:
  web:
    serving: {{concurrency: 10, queue_limit: 1000}}
    work:
      service_time: {{dist: exponential, mean: 0.05}}
    lifecycle:
      startup: {{dist: deterministic, value: 20}}
      readiness_initial_delay_s: 0
bindings:
{bindings}"
    )
}

const STEP: &str = "{loop: open, pattern: step, steps: [{at_s: 0, rate: 10}, {at_s: 300, rate: 100}, {at_s: 900, rate: 10}]}";

fn run_folder(dir: &Path) -> Outcome {
    let loaded = ModelSources::read_dir(dir)
        .unwrap()
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = RunConfig {
        duration_s: loaded.scenario.duration_s,
        ..RunConfig::default()
    };
    engine::run(&loaded.model, &loaded.scenario.workload, cfg)
}

fn changes(o: &Outcome, controller: &str) -> Vec<(f64, i32, i32)> {
    o.decisions
        .iter()
        .filter(|d: &&DecisionRecord| d.controller == controller && d.changed)
        .map(|d| (d.t_s, d.current, d.desired))
        .collect()
}

/// Worked by hand from the HPA rules: syncs every 15 s from t = 15; the load steps from 10 to
/// 100 req/s at t = 300 and back at t = 900; target 10 req/s per pod (AverageValue).
#[test]
fn step_load_follows_the_hpa_rules_tick_for_tick() {
    // behavior: {} -> defaults: up by max(+4 pods, +100 %) per 15 s, no up window; down window
    // 300 s (strict: the 885 s recommendation of 10 leaves the window at 1185 s), 100 % per 15 s.
    let dir = folder(
        "step-behavior",
        &[
            ("web.yaml", DEPLOYMENT),
            ("hpa.yaml", &hpa("  behavior: {}\n")),
            (
                "service.yaml",
                &service(STEP, 1500, "  web:\n    load: {signal: offered_rate}\n"),
            ),
        ],
    );
    let o = run_folder(&dir);
    assert_eq!(
        changes(&o, "hpa"),
        vec![(300.0, 1, 5), (315.0, 5, 10), (1185.0, 10, 1)],
        "{:#?}",
        o.decisions.iter().filter(|d| d.changed).collect::<Vec<_>>()
    );

    // No behavior -> the legacy pipeline: at most max(2 x current, 4) per sync; scale-down
    // after the max of the last 300 s (inclusive: 885 s still counts at 1185 s).
    let dir = folder(
        "step-legacy",
        &[
            ("web.yaml", DEPLOYMENT),
            ("hpa.yaml", &hpa("")),
            (
                "service.yaml",
                &service(STEP, 1500, "  web:\n    load: {signal: offered_rate}\n"),
            ),
        ],
    );
    let o = run_folder(&dir);
    assert_eq!(
        changes(&o, "hpa"),
        vec![
            (300.0, 1, 4),
            (315.0, 4, 8),
            (330.0, 8, 10),
            (1200.0, 10, 1)
        ]
    );
    // The new pods become ready 20 s (the start-up delay) after they were created.
    let row = |t: f64| o.series.iter().find(|r| r.t_s == t).unwrap().clone();
    assert_eq!(
        (
            row(300.0).ready_replicas,
            row(360.0).ready_replicas,
            row(360.0).desired_replicas
        ),
        (1, 10, 10)
    );
}

/// KEDA scale-to-zero and back: polls every 30 s, cooldown 300 s. The last active poll is at
/// 570 s (the load stops at 600 s), so the drop to zero comes at the first poll after 870 s:
/// 900 s. The load returns at 1800 s and that poll scales to 1.
#[test]
fn keda_scale_to_zero_and_back_at_the_predicted_times() {
    let so = "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: t}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 0
  maxReplicaCount: 5
  pollingInterval: 30
  cooldownPeriod: 300
  triggers:
    - type: prometheus
      name: rps
      metadata: {serverAddress: 'http://p:9090', query: 'x', threshold: '10'}
";
    let wl = "{loop: open, pattern: step, steps: [{at_s: 0, rate: 10}, {at_s: 600, rate: 0}, {at_s: 1800, rate: 10}]}";
    let dir = folder(
        "keda",
        &[
            ("web.yaml", DEPLOYMENT),
            ("so.yaml", so),
            (
                "service.yaml",
                &service(wl, 2400, "  web:\n    rps: {signal: offered_rate}\n"),
            ),
        ],
    );
    let o = run_folder(&dir);
    assert_eq!(
        changes(&o, "keda"),
        vec![(900.0, 1, 0), (1800.0, 0, 1)],
        "{:#?}",
        o.decisions
            .iter()
            .filter(|d| d.controller == "keda")
            .take(40)
            .collect::<Vec<_>>()
    );
    let d = &o.deployments[0];
    // Requests that arrive while the first pod starts (20 s) find no endpoint: counted, not lost.
    assert!(d.failures.no_endpoint > 0);
    assert_eq!(
        d.arrived,
        d.succeeded + d.failures.total() + d.in_system_at_end
    );
}

#[test]
fn same_seed_same_bytes_on_one_or_two_threads() {
    let src = embedded_amas();
    let loaded = src.load().unwrap();
    let run = || {
        let cfg = RunConfig {
            duration_s: 2.0 * 3600.0,
            seed: 7,
            ..RunConfig::default()
        };
        serde_json::to_string(&engine::run(&loaded.model, &loaded.scenario.workload, cfg)).unwrap()
    };
    let sequential = run();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(run);
        let b = s.spawn(run);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(sequential, a);
    assert_eq!(sequential, b);
}

// A sweep draws a workload's arrivals once and shares them among its configurations: a run
// on shared arrivals is the run that draws its own, byte for byte, for an open-loop pattern
// and a replayed trace; arrivals drawn for another seed, duration or workload are not used.
#[test]
fn shared_arrivals_give_the_same_run_and_are_used_only_where_they_fit() {
    let src = embedded_amas();
    let loaded = src.load().unwrap();
    let cfg = |seed: u64, duration_s: f64| RunConfig {
        duration_s,
        seed,
        record_decisions: false,
        ..RunConfig::default()
    };
    let bytes = |o: &Outcome| serde_json::to_string(o).unwrap();
    let open = loaded.scenario.workload.clone();
    let times: Vec<f64> = (0..20_000)
        .map(|i| i as f64 * 0.18 + (i % 7) as f64 * 0.01)
        .collect();
    let replay = Workload::Replay {
        times_s: std::sync::Arc::new(times),
        attrs: None,
        labels: None,
    };
    for w in [&open, &replay] {
        let own = engine::run(&loaded.model, w, cfg(3, 3600.0));
        let drawn = engine::Arrivals::draw(w, 3, 3600.0, usize::MAX).unwrap();
        assert!(drawn.fit(w, 3, 3600.0));
        let shared = engine::run_with_arrivals(&loaded.model, w, cfg(3, 3600.0), &drawn);
        assert_eq!(bytes(&own), bytes(&shared));
        // Another seed or duration: the shared times do not fit, and the run draws its own.
        assert!(!drawn.fit(w, 4, 3600.0) && !drawn.fit(w, 3, 1800.0));
        let other = engine::run_with_arrivals(&loaded.model, w, cfg(4, 1800.0), &drawn);
        assert_eq!(
            bytes(&other),
            bytes(&engine::run(&loaded.model, w, cfg(4, 1800.0)))
        );
    }
    // Beyond the budget nothing is drawn; a closed loop has no arrivals to share.
    assert!(engine::Arrivals::draw(&open, 3, 3600.0, 10).is_none());
    let closed = Workload::Closed {
        users: engine::ClosedLoop {
            users: 5,
            think_s: 1.0,
            ramp_up_s: 0.0,
        },
    };
    assert!(engine::Arrivals::draw(&closed, 3, 3600.0, usize::MAX).is_none());
    let scaled = open.scaled(1.2);
    assert!(
        !engine::Arrivals::draw(&open, 3, 3600.0, usize::MAX)
            .unwrap()
            .fit(&scaled, 3, 3600.0)
    );
}

#[test]
fn amas_default_runs_and_accounts_for_every_request() {
    let loaded = embedded_amas().load().unwrap();
    assert_eq!(loaded.model.deployments.len(), 3);
    assert_eq!(loaded.model.autoscalers.len(), 3);
    let cfg = RunConfig {
        duration_s: 3.0 * 3600.0,
        ..RunConfig::default()
    };
    let o = engine::run(&loaded.model, &loaded.scenario.workload, cfg);
    for d in &o.deployments {
        assert!(d.arrived > 0, "{}", d.name);
        assert_eq!(
            d.arrived,
            d.succeeded + d.failures.total() + d.in_system_at_end,
            "{}",
            d.name
        );
        assert!(
            d.littles_law.relative_error < 0.05,
            "{}: {:?}",
            d.name,
            d.littles_law
        );
    }
    let worker = o.deployment("amas-worker").unwrap();
    assert!(
        worker.arrived > o.deployment("amas-orchestrator").unwrap().arrived,
        "fan-out: 1.5 jobs per request"
    );
    assert!(o.deployment("amas-research-agent").unwrap().arrived > 0);
    assert!(
        o.decisions.iter().any(|d| d.controller == "keda")
            && o.decisions.iter().any(|d| d.controller == "hpa")
    );
    assert_eq!(o.series.len(), 3 * 180, "one row per deployment per minute");
}

#[test]
fn closed_loop_obeys_the_response_time_law() {
    let svc = "format_version: 1
name: closed
entry: web
scenario:
  duration_s: 20000
  workload: {loop: closed, users: 20, think_s: 1.0, ramp_up_s: 10}
deployments:
  web:
    serving: {concurrency: 1, queue_limit: 1000, shared_queue: true}
    work:
      service_time: {dist: exponential, mean: 0.1}
";
    let dir = folder(
        "closed",
        &[
            (
                "web.yaml",
                &DEPLOYMENT.replace("replicas: 1", "replicas: 2"),
            ),
            ("service.yaml", svc),
        ],
    );
    let o = run_folder(&dir);
    let d = &o.deployments[0];
    let x = d.succeeded as f64 / 20000.0;
    let r = d.latency_ms.mean / 1000.0;
    // N = X (Z + R) for a closed system.
    let n = x * (1.0 + r);
    assert!((n - 20.0).abs() / 20.0 < 0.02, "X {x}, R {r}: N = {n}");
    assert!(matches!(
        ModelSources::read_dir(&dir)
            .unwrap()
            .load()
            .unwrap()
            .scenario
            .workload,
        Workload::Closed { .. }
    ));
}

#[test]
fn shipped_oracle_models_run() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/oracles");
    // (model, theoretical mean time in system in s)
    for (name, want) in [("mmc-4", 1.7455), ("md1", 1.5), ("random-routing-4", 5.0)] {
        let loaded = ModelSources::read_dir(&root.join(name))
            .unwrap()
            .load()
            .unwrap();
        let cfg = RunConfig {
            duration_s: 200_000.0,
            warmup_s: 10_000.0,
            record_decisions: false,
            ..RunConfig::default()
        };
        let o = engine::run(&loaded.model, &loaded.scenario.workload, cfg);
        let w = o.deployments[0].latency_ms.mean / 1000.0;
        assert!((w - want).abs() / want < 0.05, "{name}: {w} vs {want}");
    }
}

/// The error of the AMAS model with its service.yaml edited.
fn amas_with(edit: impl Fn(&str) -> String) -> String {
    let mut s = embedded_amas();
    s.service.1 = edit(&s.service.1);
    s.load().expect_err("must be rejected").to_string()
}

#[test]
fn bad_models_are_rejected_naming_file_field_and_value() {
    let schedule = |points: &str| {
        amas_with(move |t| {
            t.replace(
                "    request_rate: {signal: request_rate, window_s: 60}\n",
                &format!("    request_rate: {{signal: schedule, points: {points}}}\n"),
            )
        })
    };
    let cases: Vec<(String, &str)> = vec![
        (
            schedule("[]"),
            "bindings.amas-orchestrator.request_rate.points: give at least one [seconds, value] point",
        ),
        (
            schedule("[[0, 1], [60, 2], [30, 3]]"),
            "bindings.amas-orchestrator.request_rate.points: times must increase: 60 is followed by 30",
        ),
        (
            schedule("[[-5, 1]]"),
            "bindings.amas-orchestrator.request_rate.points: [-5, 1]: times are seconds >= 0",
        ),
        (
            amas_with(|t| t.replacen("concurrency: 8 ", "concurrency: 0 ", 1)),
            "deployments.amas-orchestrator.serving.concurrency: must be >= 1 (found 0)",
        ),
        (
            amas_with(|t| {
                t.replace(
                    "startup: {dist: lognormal, mean: 10, p95: 20}",
                    "startup: {dist: deterministic, value: -5}",
                )
            }),
            "deployments.amas-worker.lifecycle.startup: value must be >= 0 (found -5)",
        ),
        (
            amas_with(|t| {
                t.replace(
                    "{dist: lognormal, mean: 0.5, p95: 1.5}",
                    "{dist: weibull, mean: 0.5}",
                )
            }),
            "unknown variant `weibull`",
        ),
        (
            amas_with(|t| {
                t.replace(
                    "    request_rate: {signal: request_rate, window_s: 60}\n",
                    "",
                )
            }),
            "bindings.amas-orchestrator.request_rate: trigger request_rate (prometheus) of ScaledObject amas-orchestrator is bound to no signal",
        ),
        (
            amas_with(|t| t.replace("consumes: [amas:research-queue]", "consumes: []")),
            "queue amas:research-queue has no consumer",
        ),
        (
            amas_with(|t| {
                t.replace(
                    "    serving:\n      concurrency: 4",
                    "    serving:\n      concurency: 4",
                )
            }),
            "unknown field `concurency`",
        ),
        (
            amas_with(|t| t.replace("format_version: 1", "format_version: 9")),
            "format_version: this build reads format_version 1 (found 9)",
        ),
        (
            amas_with(|t| t.replace("entry: amas-orchestrator", "entry: nobody")),
            "entry: `nobody` is not one of the model's deployments",
        ),
        (
            amas_with(|t| {
                t.replace(
                    "  amas-worker:\n    consumes",
                    "  amas-workers:\n    consumes",
                )
            }),
            "no Deployment named amas-workers",
        ),
        (
            amas_with(|t| {
                t.replace(
                    "window_s: 60}\n    p95_latency",
                    "window_s: -1}\n    p95_latency",
                )
            }),
            "request_rate.window_s: must be > 0 (found -1)",
        ),
        (
            amas_with(|t| t.replace("    token_rate:", "    tokens_rate:")),
            "has no trigger `tokens_rate`",
        ),
    ];
    for (err, want) in cases {
        assert!(err.starts_with("models/amas/service.yaml: "), "{err}");
        assert!(err.contains(want), "expected `{want}` in:\n{err}");
    }
}

#[test]
fn set_overrides_change_the_run_and_reject_unknown_paths() {
    let mut s = embedded_amas();
    s.apply_overrides(&[
        (
            "model.deployments.amas-worker.serving.concurrency".into(),
            "6".into(),
        ),
        ("workload.mean".into(), "20".into()),
        (
            "manifest.amas-worker.spec.maxReplicaCount".into(),
            "7".into(),
        ),
        (
            "manifest.deployment/amas-worker.spec.replicas".into(),
            "3".into(),
        ),
    ])
    .unwrap();
    let loaded = s.load().unwrap();
    let w = loaded
        .model
        .deployments
        .iter()
        .find(|d| d.name == "amas-worker")
        .unwrap();
    assert_eq!((w.concurrency, w.initial_replicas), (6, 3));
    assert!(
        matches!(&loaded.scenario.workload, Workload::Open { schedule } if matches!(schedule.pattern, engine::Pattern::Diurnal { mean, .. } if mean == 20.0))
    );
    let so = loaded
        .manifests
        .scaled_objects
        .iter()
        .find(|x| x.spec.name == "amas-worker")
        .unwrap();
    assert_eq!(so.spec.max_replica_count, 7);

    let mut bad = embedded_amas();
    let e = bad
        .apply_overrides(&[("modle.deployments.x".into(), "1".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("did you mean `model`"), "{e}");
    let e = bad
        .apply_overrides(&[("manifest.nobody.spec.x".into(), "1".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no object named nobody"), "{e}");
    let mut typo = embedded_amas();
    typo.apply_overrides(&[(
        "model.deployments.amas-worker.serving.concurency".into(),
        "6".into(),
    )])
    .unwrap();
    let e = typo.load().unwrap_err().to_string();
    assert!(
        e.contains("unknown field `concurency`") && e.contains("concurrency"),
        "lists the valid fields: {e}"
    );
}

#[test]
fn a_schedule_holds_each_value_until_the_next_point() {
    use scaletwin::engine::SignalRef;
    let points = [(10_000_000, 5.0), (60_000_000, 45.0), (90_000_000, 0.0)];
    let at = |s: f64| SignalRef::scheduled(&points, (s * 1e6) as i64);
    assert_eq!(
        (at(0.0), at(10.0), at(59.9), at(60.0), at(89.0), at(1e6)),
        (5.0, 5.0, 5.0, 45.0, 45.0, 0.0)
    );
}

#[test]
fn a_manifests_folder_is_laid_over_the_models_files() {
    // A recommendation writes only the files it changed: laid over the model, the other
    // deployments keep their autoscalers, and the changed file replaces the model's.
    let worker = include_str!("../../models/amas/worker.yaml")
        .replace("maxReplicaCount: 20", "maxReplicaCount: 33");
    let dir = folder("overlay", &[("worker.yaml", &worker)]);
    let base = embedded_amas().load().unwrap();
    let over = embedded_amas()
        .with_manifests(&dir)
        .unwrap()
        .load()
        .unwrap();
    let max = |l: &scaletwin::scenario::LoadedModel| -> Vec<(String, i32)> {
        l.model
            .autoscalers
            .iter()
            .map(|a| (a.name.clone(), a.runtime().0.max_replicas))
            .collect()
    };
    let (b, o) = (max(&base), max(&over));
    assert_eq!(b.len(), 3, "{b:?}");
    assert_eq!(o.len(), 3, "every deployment keeps its autoscaler: {o:?}");
    for ((bn, bm), (on, om)) in b.iter().zip(&o) {
        assert_eq!(bn, on);
        if bn.contains("worker") {
            assert_eq!((*bm, *om), (20, 33), "{bn}");
        } else {
            assert_eq!(bm, om, "{bn} untouched");
        }
    }
    // A file of a new name is added to the model's: here it defines the worker a second
    // time, which is refused naming both places (it used to add a second autoscaler).
    std::fs::write(dir.join("extra.yaml"), &worker).unwrap();
    let err = embedded_amas()
        .with_manifests(&dir)
        .unwrap()
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("extra.yaml") && err.contains("defined twice") && err.contains("worker.yaml"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_replays_the_times_requests_were_delivered_not_intended() {
    // 200 requests meant for the first 10 s (20/s against 4 servers of 1 s) that a
    // load generator at its connection limit delivered over 100 s (2/s): the service saw
    // the delivered stream, and so must the simulation it is compared with.
    use scaletwin::loadtest::report::{LoadReport, Sample};
    let dir = crate::common::fresh_dir("sim", "delivered");
    crate::common::write_mmc_model(&dir, 100);
    let loaded = ModelSources::read_dir(&dir).unwrap().load().unwrap();
    let report = |late: bool| LoadReport {
        duration_s: 100.0,
        samples: (0..200)
            .map(|i| Sample {
                intended_s: i as f64 * 0.05,
                delivered_s: if late {
                    i as f64 * 0.5
                } else {
                    i as f64 * 0.05
                },
                latency_ms: 1000.0,
                raw_ms: 1000.0,
                ok: true,
            })
            .collect(),
        ..Default::default()
    };
    let p95 = |r: &LoadReport| {
        let o = scaletwin::validate::simulate_sent(&loaded, r, &Default::default()).unwrap();
        o.deployment("server").unwrap().latency_ms.p95
    };
    let (spread, burst) = (p95(&report(true)), p95(&report(false)));
    assert!(spread < 6_000.0, "delivered over 100 s: p95 {spread:.0} ms");
    assert!(burst > 20_000.0, "delivered in 10 s: p95 {burst:.0} ms");
}

/// A saturated service's request counter: its pods answer ten times their capacity, most of it
/// with a full queue's 503. Counting every answer (`count: all`, the default, as
/// `http_requests_total` does) the HPA sees the real load and scales to it; counting only the
/// successes (`count: ok`) it sees the capacity of the pods it has, and never grows.
#[test]
fn a_request_rate_counts_the_failures_a_pod_answered_unless_told_ok() {
    let service = |count: &str| {
        format!(
            "format_version: 1
name: t
entry: web
scenario:
  duration_s: 600
  workload: {{loop: open, pattern: step, steps: [{{at_s: 0, rate: 5}}, {{at_s: 120, rate: 100}}]}}
deployments:
  web:
    serving: {{concurrency: 1, queue_limit: 2, timeout_s: 5}}
    work:
      service_time: {{dist: deterministic, value: 0.1}}
    lifecycle:
      startup: {{dist: deterministic, value: 10}}
      readiness_initial_delay_s: 0
bindings:
  web:
    load: {{signal: request_rate, window_s: 30{count}}}
"
        )
    };
    let max_replicas = |count: &str| {
        let dir = folder(
            &format!("answers{}", count.len()),
            &[
                ("web.yaml", DEPLOYMENT),
                ("hpa.yaml", &hpa("  behavior: {}\n")),
                ("service.yaml", &service(count)),
            ],
        );
        let loaded = ModelSources::read_dir(&dir).unwrap().load().unwrap();
        let cfg = RunConfig {
            duration_s: 600.0,
            ..RunConfig::default()
        };
        let fluid = engine::fluid::run(&loaded.model, &loaded.scenario.workload, &cfg);
        let o = engine::run(&loaded.model, &loaded.scenario.workload, cfg);
        let d = &o.deployments[0];
        (d.max_replicas, d.failures.queue_full, fluid.pod_hours)
    };
    let (all, rejected, fluid_all) = max_replicas("");
    let (ok, _, fluid_ok) = max_replicas(", count: ok");
    assert!(rejected > 1000, "the service must be saturated: {rejected}");
    // 100 req/s at 10 per pod: ten pods; the successes alone stay at one pod's 10 req/s.
    assert_eq!((all, ok), (10, 1));
    assert!(fluid_all > 3.0 * fluid_ok, "{fluid_all} vs {fluid_ok}");
}
