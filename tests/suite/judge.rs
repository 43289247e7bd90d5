//! Every deployment with an SLO is judged: a consumer's p95 (from a job's enqueueing to its
//! completion, an M/M/c sojourn here) decides the recommendation unless the experiment says
//! otherwise.

use scaletwin::scenario::ModelSources;
use scaletwin::tune::{Experiment, RunOptions, Sweep};
use std::path::Path;

use crate::common;
use crate::tune::p95;

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
