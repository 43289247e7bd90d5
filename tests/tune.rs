//! Sweeps: a known answer (the cheapest M/M/c that meets a p95 bound), determinism across
//! thread counts, and resuming from a checkpoint.

use scaletwin::engine::service::ModelSources;
use scaletwin::tune::{Experiment, aggregate, recommend, results_csv, run_experiment};
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-tune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Sojourn-time tail of M/M/c: P(T > t).
fn tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - a / c as f64);
    let pw = last / (sum + last);
    // T = W + S: W is 0 with probability 1 - pw, else Exp(theta); S is Exp(mu).
    let theta = c as f64 * mu - lambda;
    let both = (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu);
    (1.0 - pw) * (-mu * t).exp() + pw * both
}

fn p95(c: u32, lambda: f64, mu: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 100.0);
    for _ in 0..100 {
        let m = (lo + hi) / 2.0;
        if tail(c, lambda, mu, m) > 0.05 {
            lo = m
        } else {
            hi = m
        }
    }
    lo
}

fn model_dir() -> PathBuf {
    let d = dir("model");
    std::fs::write(
        d.join("server.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: server}\nspec:\n  replicas: 4\n  template:\n    spec:\n      containers:\n        - name: s\n          resources: {requests: {cpu: '1'}}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("service.yaml"),
        "format_version: 1\nname: mmc\nentry: server\nscenario:\n  duration_s: 200000\n  workload: {loop: open, pattern: constant, rate: 2.5}\ndeployments:\n  server:\n    serving: {concurrency: 1, queue_limit: 100000, shared_queue: true}\n    work:\n      service_time: {dist: exponential, mean: 1.0}\n",
    )
    .unwrap();
    d
}

fn experiment(bound_ms: f64) -> Experiment {
    let text = format!(
        "format_version: 1\nname: cheapest-c\nseeds: [1, 2]\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {{from: '4', to: '7', step: '1'}}\nconstraints: {{p95_ms: {bound_ms}}}\n"
    );
    Experiment::parse("exp.yaml", &text).unwrap()
}

#[test]
fn the_recommendation_is_the_cheapest_c_that_erlang_c_allows() {
    let (lambda, mu) = (2.5, 1.0);
    let (p4, p5) = (p95(4, lambda, mu), p95(5, lambda, mu));
    assert!(p4 > p5);
    let bound = (p4 + p5) / 2.0 * 1000.0;
    let x = experiment(bound);
    let base = ModelSources::read_dir(&model_dir()).unwrap();
    let out = dir("answer");
    let evals = run_experiment(&x, &base, &out, None).unwrap();
    assert_eq!(evals.len(), 8);
    let aggs = aggregate(&evals, &x.constraints);
    let best = recommend(&aggs).expect("a configuration meets the bound");
    assert_eq!(
        best.values[0].1,
        "5",
        "p95 bound {bound:.0} ms between c=4 ({:.0} ms) and c=5 ({:.0} ms): {aggs:#?}",
        p4 * 1000.0,
        p5 * 1000.0
    );
    // The recommendation meets the constraint in each of its own replications.
    assert!(
        evals
            .iter()
            .filter(|e| e.config == best.config)
            .all(|e| e.p95_ms <= bound)
    );
    let csv = results_csv(&evals, &x.axes);
    assert_eq!(csv.lines().count(), 9);
}

#[test]
fn sweeps_are_deterministic_and_resume_from_the_checkpoint() {
    let x = experiment(5000.0);
    let base = ModelSources::read_dir(&model_dir()).unwrap();
    let one = run_experiment(&x, &base, &dir("t1"), Some(1)).unwrap();
    let two = run_experiment(&x, &base, &dir("t2"), Some(2)).unwrap();
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap(),
        "1 vs 2 threads"
    );
    // Interrupt: keep 3 finished evaluations and half of a fourth line, then resume.
    let d = dir("resume");
    let full = run_experiment(&x, &base, &d, Some(2)).unwrap();
    let ck = d.join("checkpoint.jsonl");
    let text = std::fs::read_to_string(&ck).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!(
        "{}\n{}",
        lines[..3].join("\n"),
        &lines[3][..lines[3].len() / 2]
    );
    std::fs::write(&ck, cut).unwrap();
    let resumed = run_experiment(&x, &base, &d, Some(2)).unwrap();
    assert_eq!(
        serde_json::to_string(&full).unwrap(),
        serde_json::to_string(&resumed).unwrap(),
        "resume gives the same table"
    );
}

#[test]
fn an_axis_over_an_unknown_path_is_one_clear_error() {
    let x = Experiment::parse("exp.yaml", "format_version: 1\nname: t\naxes:\n  - path: model.deployments.server.work.service_tim\n    values: ['2']\n").unwrap();
    let base = ModelSources::read_dir(&model_dir()).unwrap();
    let e = run_experiment(&x, &base, &dir("bad-axis"), Some(1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("axes[0].path") && e.contains("unknown field `service_tim`"),
        "{e}"
    );
}
