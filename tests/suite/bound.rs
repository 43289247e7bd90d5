//! The lower bound on known answers: deterministic service under a known rate needs the
//! smallest replica count above the offered work, every window; a pod added for a step is paid
//! for from its start-up.

use scaletwin::scenario::ModelSources;
use scaletwin::tune::bound::lower_bound;

use crate::common;

/// `front` (0.5 s deterministic, one request at a time per pod, p95 SLO 2 s) fans one job
/// per request out to `worker` (0.3 s deterministic, one at a time, p95 SLO 2 s); both start
/// up in exactly 20 s.
fn model(name: &str, workload: &str) -> scaletwin::scenario::LoadedModel {
    let d = common::fresh_dir("bound", name);
    common::write_pipeline_model(&d, 3600, 2000.0, None);
    let text = std::fs::read_to_string(d.join("service.yaml")).unwrap();
    let text = text
        .replace(
            "{loop: open, pattern: constant, rate: 2.5}",
            workload,
        )
        .replace(
            "    serving: {concurrency: 100}\n    work:\n      service_time: {dist: deterministic, value: 0.01}",
            "    serving: {concurrency: 1}\n    work:\n      service_time: {dist: deterministic, value: 0.5}\n    lifecycle:\n      startup: {dist: deterministic, value: 20}",
        )
        .replace(
            "      service_time: {dist: exponential, mean: 1.0}",
            "      service_time: {dist: deterministic, value: 0.3}\n    lifecycle:\n      startup: {dist: deterministic, value: 20}",
        );
    std::fs::write(d.join("service.yaml"), text).unwrap();
    ModelSources::read_dir(&d).unwrap().load().unwrap()
}

fn bounds() -> Vec<(Option<f64>, f64)> {
    vec![(Some(2000.0), 0.99), (Some(2000.0), 0.99)]
}

#[test]
fn a_constant_load_needs_the_smallest_count_above_the_offered_work() {
    let l = model("constant", "{loop: open, pattern: constant, rate: 10}");
    let b = lower_bound(&l.model, &l.scenario.workload, 3600.0, 60.0, &bounds()).unwrap();
    // front: 10 req/s x 0.5 s = 5 busy servers -> 6 pods; worker: 10 jobs/s x 0.3 s = 3 -> 4.
    let by = |n: &str| b.deployments.iter().find(|d| d.name == n).unwrap();
    assert_eq!(by("front").peak_replicas, 6);
    assert!((by("front").pod_hours - 6.0).abs() < 1e-9, "{b:?}");
    assert_eq!(by("worker").peak_replicas, 4);
    assert!((by("worker").pod_hours - 4.0).abs() < 1e-9, "{b:?}");
    assert!((b.pod_hours - 10.0).abs() < 1e-9);
}

#[test]
fn a_step_pays_for_the_added_pods_from_their_start_up() {
    // x2 from 1,200 s to 1,800 s: front needs 11 pods there, the worker 7 (20 x 0.3 = 6).
    let l = model(
        "step",
        "{loop: open, pattern: spike, base: 10, multiplier: 2, duration_s: 600, period_s: 7200, first_at_s: 1200}",
    );
    let b = lower_bound(&l.model, &l.scenario.workload, 3600.0, 60.0, &bounds()).unwrap();
    let by = |n: &str| b.deployments.iter().find(|d| d.name == n).unwrap();
    let front = (6.0 * 3000.0 + 11.0 * 600.0 + 5.0 * 20.0) / 3600.0;
    let worker = (4.0 * 3000.0 + 7.0 * 600.0 + 3.0 * 20.0) / 3600.0;
    assert_eq!(by("front").peak_replicas, 11);
    assert!(
        (by("front").pod_hours - front).abs() < 1e-9,
        "{b:?} want {front}"
    );
    assert!(
        (by("worker").pod_hours - worker).abs() < 1e-9,
        "{b:?} want {worker}"
    );
}

#[test]
fn a_tighter_slo_raises_the_bound() {
    // 2 s leaves room for queueing; 0.55 s (just above the 0.5 s service) does not.
    let l = model("tight", "{loop: open, pattern: constant, rate: 10}");
    let loose = lower_bound(&l.model, &l.scenario.workload, 3600.0, 60.0, &bounds()).unwrap();
    let tight = lower_bound(
        &l.model,
        &l.scenario.workload,
        3600.0,
        60.0,
        &vec![(Some(550.0), 0.99), (Some(2000.0), 0.99)],
    )
    .unwrap();
    assert!(tight.deployments[0].peak_replicas > loose.deployments[0].peak_replicas);
}
