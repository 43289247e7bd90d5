//! Every deployment with an SLO is judged: a consumer's p95 (from a job's enqueueing to its
//! completion, an M/M/c sojourn here) decides the recommendation unless the experiment says
//! otherwise.

use scaletwin::scenario::ModelSources;
use scaletwin::tune::{Experiment, RunOptions, Sweep};
use std::path::Path;

use crate::common;
use crate::tune::{erlang_c, p95};

/// The worker's p95 (ms) halfway between 3 and 4 replicas, and between 4 and 5, at λ = 2.5,
/// μ = 1.
fn between(lo: u32) -> f64 {
    (p95(lo, 2.5, 1.0) + p95(lo + 1, 2.5, 1.0)) / 2.0 * 1000.0
}

fn pipeline(name: &str, worker_slo_ms: f64) -> ModelSources {
    let d = common::fresh_dir("judge", name);
    common::write_pipeline_model(&d, 60_000, worker_slo_ms, None);
    ModelSources::read_dir(&d).unwrap()
}

fn experiment(constraints: &str) -> Experiment {
    let text = format!(
        "format_version: 1\nname: workers\nseeds: [1, 2, 3]\nload_margin: 0\naxes:\n  - path: manifest.deployment/worker.spec.replicas\n    range: {{from: '3', to: '5', step: '1'}}\nconstraints: {constraints}\n"
    );
    Experiment::parse("exp.yaml", &text).unwrap()
}

fn recommended(
    x: &Experiment,
    base: &ModelSources,
    out: &str,
) -> (String, scaletwin::tune::Analysis) {
    let dir = common::fresh_dir("judge", out);
    let w = scaletwin::tune::resolve_workloads(x, Path::new(".")).unwrap();
    let r = Sweep::open(x, base, w, &dir, RunOptions::default(), None)
        .unwrap()
        .run()
        .unwrap();
    let a = r.analysis.unwrap();
    let v = a
        .recommendation
        .as_ref()
        .map(|r| r.values[0].1.clone())
        .unwrap_or_default();
    (v, a)
}

#[test]
fn a_consumer_with_an_slo_is_judged_by_default_and_can_be_overridden_or_left_out() {
    let base = pipeline("model", between(3));
    // The entry's bound alone (10 ms service) is met by every worker count: the worker's
    // own SLO in the model makes 4 replicas the cheapest.
    let (v, a) = recommended(&experiment("{p95_ms: 1000}"), &base, "default");
    assert_eq!(v, "4", "{:#?}", a.rows);
    let three = a.rows.iter().find(|r| r.values[0].1 == "3").unwrap();
    let why = three.binding.as_deref().unwrap();
    assert!(why.starts_with("worker p95 <= "), "{why}");
    assert_eq!(three.deployments[0].name, "worker");
    assert!(three.deployments[0].p95_ms.mean > between(3));
    // A bound of the experiment's own replaces the model's.
    let (v, _) = recommended(
        &experiment(&format!(
            "{{p95_ms: 1000, deployments: {{worker: {{p95_ms: {}}}}}}}",
            between(4)
        )),
        &base,
        "override",
    );
    assert_eq!(v, "5");
    // Left out, the cheapest worker count wins.
    let (v, a) = recommended(
        &experiment("{p95_ms: 1000, deployments: {worker: {judge: false}}}"),
        &base,
        "left-out",
    );
    assert_eq!(v, "3");
    assert!(a.rows.iter().all(|r| r.deployments.is_empty()));
}

#[test]
fn the_judged_deployments_figures_are_in_the_tables() {
    let base = pipeline("tables", between(3));
    let x = experiment("{p95_ms: 1000}");
    let dir = common::fresh_dir("judge", "tables-out");
    let w = scaletwin::tune::resolve_workloads(&x, Path::new(".")).unwrap();
    let sweep = Sweep::open(&x, &base, w, &dir, RunOptions::default(), None).unwrap();
    let x = sweep.x.clone();
    let r = sweep.run().unwrap();
    let a = r.analysis.unwrap();
    scaletwin::tune::output::write_all(&dir, &x, &base, &r.evaluations, &a).unwrap();
    for f in ["configs.csv", "evaluations.csv"] {
        let csv = std::fs::read_to_string(dir.join(f)).unwrap();
        let head = csv.lines().next().unwrap();
        for c in [
            "worker.p95_ms",
            "worker.success_rate",
            "worker.window_attainment",
        ] {
            assert!(head.split(',').any(|h| h == c), "{f}: {head}");
        }
    }
}

#[test]
fn bad_deployment_bounds_are_refused_naming_the_field() {
    let base = pipeline("bad", between(3));
    for (constraints, want) in [
        (
            "{deployments: {wrker: {p95_ms: 5}}}",
            "wrker is not a deployment of the model (deployments: front, worker)",
        ),
        (
            "{deployments: {front: {p95_ms: 5}}}",
            "front is the entry deployment",
        ),
        (
            "{deployments: {worker: {success_rate: 2}}}",
            "between 0 and 1",
        ),
        ("{deployments: {worker: {p95_ms: -1}}}", "must be > 0"),
    ] {
        let e = experiment(constraints)
            .judged(&base)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("exp.yaml: constraints.deployments.") && e.contains(want),
            "{constraints}: {e}"
        );
    }
}

/// The p95 of an M/M/c job's wait in the queue (s): 0 when fewer than 5 % wait, else
/// `ln(C / 0.05) / (c mu - lambda)` (Erlang C).
fn wait_p95(c: u32, lambda: f64, mu: f64) -> f64 {
    let pw = erlang_c(c, lambda, mu);
    if pw <= 0.05 {
        0.0
    } else {
        (pw / 0.05).ln() / (c as f64 * mu - lambda)
    }
}

#[test]
fn a_consumers_queue_wait_and_the_end_to_end_time_match_erlang_c() {
    // A long run (1.5 M jobs): at 83 % utilisation a queue's tail settles slowly.
    let d = common::fresh_dir("judge", "figures");
    common::write_pipeline_model(&d, 600_000, 10_000.0, None);
    let loaded = ModelSources::read_dir(&d).unwrap().load().unwrap();
    let o = scaletwin::engine::run(
        &loaded.model,
        &loaded.scenario.workload,
        loaded.scenario.run_config(1),
    );
    // Three workers at 2.5 jobs/s of 1 s each: an M/M/3 queue.
    let w = o.deployment("worker").unwrap();
    let wait = w.queue_wait_ms.expect("a consumer has a queue wait").p95;
    let want = wait_p95(3, 2.5, 1.0) * 1000.0;
    assert!(
        (wait - want).abs() / want < 0.05,
        "wait p95 {wait} ms, Erlang C {want} ms"
    );
    let mean = w.queue_wait_ms.unwrap().mean;
    let want = erlang_c(3, 2.5, 1.0) / 0.5 * 1000.0;
    assert!(
        (mean - want).abs() / want < 0.05,
        "mean wait {mean} ms, Erlang C {want} ms"
    );
    assert!(o.deployment("front").unwrap().queue_wait_ms.is_none());
    // End to end: the front's 10 ms, then the job's sojourn.
    let e = o.end_to_end.expect("the entry fans out");
    let want = (p95(3, 2.5, 1.0) + 0.01) * 1000.0;
    assert!(
        (e.latency_ms.p95 - want).abs() / want < 0.05,
        "end-to-end p95 {} ms, M/M/3 {want} ms",
        e.latency_ms.p95
    );
    let front = o.deployment("front").unwrap();
    let done = e.completed + e.failed;
    assert!(done <= front.succeeded && done + w.in_system_at_end >= front.succeeded);
    // A model whose entry fans nothing out has no end-to-end figure.
    let d = common::fresh_dir("judge", "mmc");
    common::write_mmc_model(&d, 600);
    let m = ModelSources::read_dir(&d).unwrap().load().unwrap();
    let o = scaletwin::engine::run(&m.model, &m.scenario.workload, m.scenario.run_config(1));
    assert!(o.end_to_end.is_none());
}

#[test]
fn a_bound_on_a_consumers_queue_wait_picks_the_fewest_workers_that_meet_it() {
    let base = pipeline("wait", 1e9);
    let bound = (wait_p95(3, 2.5, 1.0) + wait_p95(4, 2.5, 1.0)) / 2.0 * 1000.0;
    let (v, a) = recommended(
        &experiment(&format!(
            "{{p95_ms: 1000, deployments: {{worker: {{queue_wait_p95_ms: {bound}}}}}}}"
        )),
        &base,
        "queue-wait",
    );
    assert_eq!(v, "4", "{:#?}", a.rows);
    let three = a.rows.iter().find(|r| r.values[0].1 == "3").unwrap();
    assert!(
        three
            .binding
            .as_deref()
            .unwrap()
            .starts_with("worker queue wait p95 <= "),
        "{:?}",
        three.binding
    );
}
