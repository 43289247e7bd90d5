//! The automatic search space and the optimizer: known answers. Three independent M/M/c
//! consumers whose cheapest replica counts follow from Erlang C; a trigger on a queue its
//! deployment does not consume, switched off by the automatic search; a switched-off trigger
//! in the recommended files.

use scaletwin::scenario::ModelSources;
use scaletwin::tune::{Experiment, RunOptions, Sweep};
use std::path::Path;

use crate::common;
use crate::tune::p95;

const RATE: f64 = 2.2;

/// Mean service time (s) of the three stations' work.
const MEANS: [f64; 3] = [1.0, 2.0, 3.0];

/// Front (the entry) fans each request out to queues qa, qb, qc (one job each), each drained
/// by its own worker deployment (one job at a time, exponential service of mean 1, 2 and
/// 3 s) at fixed replicas: three M/M/c stations at 2.2, 4.4 and 6.6 Erlangs.
fn three_stations(dir: &Path, bounds_ms: &[f64; 3]) {
    let deployment = |name: &str, replicas: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n        - name: c\n          resources: {{requests: {{cpu: '1'}}}}\n"
        )
    };
    std::fs::write(dir.join("front.yaml"), deployment("front", 1)).unwrap();
    let mut service = format!(
        "format_version: 1\nname: stations\nentry: front\nscenario:\n  duration_s: 14400\n  workload: {{loop: open, pattern: constant, rate: {RATE}}}\nqueues:\n  - {{name: qa, kind: list}}\n  - {{name: qb, kind: list}}\n  - {{name: qc, kind: list}}\ndeployments:\n  front:\n    serving: {{concurrency: 1000}}\n    work:\n      service_time: {{dist: deterministic, value: 0.001}}\n    fan_out:\n      - {{queue: qa, count: {{dist: fixed, value: 1}}}}\n      - {{queue: qb, count: {{dist: fixed, value: 1}}}}\n      - {{queue: qc, count: {{dist: fixed, value: 1}}}}\n"
    );
    for (i, (name, q)) in [("wa", "qa"), ("wb", "qb"), ("wc", "qc")]
        .iter()
        .enumerate()
    {
        std::fs::write(dir.join(format!("{name}.yaml")), deployment(name, 9)).unwrap();
        service.push_str(&format!(
            "  {name}:\n    consumes: [{q}]\n    serving: {{concurrency: 1}}\n    work:\n      service_time: {{dist: exponential, mean: {}}}\n    slo_p95_ms: {}\n",
            MEANS[i], bounds_ms[i]
        ));
    }
    std::fs::write(dir.join("service.yaml"), service).unwrap();
}

/// The fewest servers whose M/M/c sojourn p95 (Erlang C) is within `bound_s`.
fn erlang_c_optimum(lambda: f64, mu: f64, bound_s: f64) -> u32 {
    (1..100)
        .find(|c| *c as f64 * mu > lambda && p95(*c, lambda, mu) <= bound_s)
        .unwrap()
}

fn run(x: &Experiment, base: &ModelSources, threads: usize) -> scaletwin::tune::SweepResult {
    let dir = common::fresh_dir("optimize", &format!("threads-{threads}"));
    let w = scaletwin::tune::resolve_workloads(x, Path::new(".")).unwrap();
    let opts = RunOptions {
        threads: Some(threads),
        ..RunOptions::default()
    };
    Sweep::open(x, base, w, &dir, opts, None)
        .unwrap()
        .run()
        .unwrap()
}

#[test]
fn the_optimizer_finds_the_erlang_c_optimum_of_three_knobs_identically_on_one_and_two_threads() {
    // Each station's bound lies halfway (in ratio) between the sojourn p95 of two and of one
    // replica more than its load needs, where a replica changes the p95 by 30 % or more, so
    // simulation noise cannot move the answer; the answer is then Erlang C's.
    let mus: Vec<f64> = MEANS.iter().map(|m| 1.0 / m).collect();
    let bounds: Vec<f64> = mus
        .iter()
        .map(|mu| {
            let c = (RATE / mu).floor() as u32 + 2;
            (p95(c, RATE, *mu) * p95(c - 1, RATE, *mu)).sqrt()
        })
        .collect();
    let want: Vec<u32> = mus
        .iter()
        .zip(&bounds)
        .map(|(mu, b)| erlang_c_optimum(RATE, *mu, *b))
        .collect();
    for ((mu, c), b) in mus.iter().zip(&want).zip(&bounds) {
        assert!(p95(*c, RATE, *mu) < b / 1.1 && p95(*c - 1, RATE, *mu) > b * 1.1);
    }
    let bounds: Vec<f64> = bounds.iter().map(|b| b * 1000.0).collect();
    let d = common::fresh_dir("optimize", "stations");
    three_stations(&d, &[bounds[0], bounds[1], bounds[2]]);
    let base = ModelSources::read_dir(&d).unwrap();
    let axis = |name: &str| {
        format!(
            "  - path: manifest.deployment/{name}.spec.replicas\n    range: {{from: '3', to: '12', step: '1'}}\n"
        )
    };
    let text = format!(
        "format_version: 1\nname: stations\nseeds: [1]\nload_margin: 0\nsearch: {{strategy: tpe, budget: 40, batch: 4, screen: 4, min_survivors: 4}}\naxes:\n{}{}{}",
        axis("wa"),
        axis("wb"),
        axis("wc")
    );
    let x = Experiment::parse("stations.yaml", &text).unwrap();
    assert_eq!(x.grid_size(), 1000);
    let one = run(&x, &base, 1);
    let two = run(&x, &base, 2);
    let a = one.analysis.as_ref().unwrap();
    let rec = a.recommendation.as_ref().expect("a recommendation");
    let got: Vec<u32> = rec.values.iter().map(|(_, v)| v.parse().unwrap()).collect();
    assert_eq!(got, want, "bounds {bounds:?}; rows {:#?}", a.rows);
    // The engine decided at most the budget (first seed), never the whole grid.
    let decided = one
        .evaluations
        .iter()
        .filter(|e| !e.baseline && e.fidelity == scaletwin::tune::Fidelity::Engine)
        .count();
    assert!(decided <= 40, "{decided}");
    // The convergence: one point per decided configuration, the best feasible cost never
    // rising, ending at the recommendation's.
    let c = &a.convergence;
    assert_eq!(c.len(), 40);
    assert!(
        c.windows(2)
            .all(|w| match (w[0].best_feasible, w[1].best_feasible) {
                (Some(p), Some(q)) => q <= p,
                (Some(_), None) => false,
                _ => true,
            })
    );
    // Same proposals, same evaluations, same answer on two threads.
    assert_eq!(one.evaluations, two.evaluations);
    assert_eq!(
        two.analysis.unwrap().recommendation.unwrap().config,
        rec.config
    );
}

const WORKER_SCALER: &str = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: worker}\nspec:\n  scaleTargetRef: {name: worker}\n  minReplicaCount: 3\n  maxReplicaCount: 4\n  triggers:\n    - type: redis\n      name: jobs\n      metadata: {address: redis:6379, listName: jobs, listLength: '5'}\n";

#[test]
fn the_automatic_search_switches_off_a_trigger_on_a_queue_its_deployment_does_not_consume() {
    let d = common::fresh_dir("optimize", "pipeline");
    common::write_pipeline_model(&d, 3600, 60_000.0, Some(common::FRONT_SCALER));
    std::fs::write(d.join("worker-scaler.yaml"), WORKER_SCALER).unwrap();
    let base = ModelSources::read_dir(&d).unwrap();
    let x = Experiment::parse(
        "auto.yaml",
        "format_version: 1\nname: auto\nseeds: [1]\nload_margin: 0\naxes: auto\nsearch: {strategy: tpe, budget: 24, batch: 4, screen: 4, min_survivors: 4}\n",
    )
    .unwrap()
    .with_auto_axes(&base)
    .unwrap();
    let paths: Vec<&str> = x.axes.iter().map(|a| a.path.as_str()).collect();
    let switch = "manifest.front.spec.triggers[name=backlog]";
    assert!(paths.contains(&switch), "{paths:?}");
    assert!(paths.contains(&"manifest.front.spec.triggers[name=backlog].metadata.listLength"));
    // The worker's only trigger cannot be switched off: the object would have none.
    assert!(!paths.iter().any(
        |p| p.starts_with("manifest.worker.spec.triggers[name=jobs]") && !p.contains(".metadata.")
    ));
    let r = run(&x, &base, 2);
    let a = r.analysis.unwrap();
    let rec = a.recommendation.expect("a recommendation");
    let off = rec.values.iter().find(|(p, _)| p == switch).unwrap();
    assert_eq!(off.1, "off", "{:#?}", rec.values);
    // The recommended files drop the trigger, and load as a model.
    let mut files = base.clone();
    files.apply_overrides(&rec.values).unwrap();
    let (_, scaler) = files
        .manifests
        .iter()
        .find(|(p, _)| p.ends_with("front-scaler.yaml"))
        .unwrap();
    assert!(
        !scaler.contains("backlog") && scaler.contains("type: cpu"),
        "{scaler}"
    );
    files.load().unwrap();
}

#[test]
fn a_trigger_switched_off_leaves_the_files_with_neither_it_nor_its_binding() {
    let base = scaletwin::scenario::embedded_amas();
    let path = "manifest.amas-orchestrator.spec.triggers[name=request_rate]";
    let mut files = base.clone();
    files
        .apply_overrides(&[(path.into(), "off".into())])
        .unwrap();
    let (_, so) = files
        .manifests
        .iter()
        .find(|(p, _)| p.ends_with("orchestrator.yaml"))
        .unwrap();
    assert!(!so.contains("name: request_rate") && so.contains("name: agent_queue"));
    assert!(!files.service.1.contains("request_rate: {signal"));
    assert!(files.service.1.contains("p95_latency: {signal"));
    files.load().unwrap();
    // A sweep compiles the same setting from the parsed files.
    let parsed = scaletwin::scenario::ParsedModel::parse(&base).unwrap();
    parsed
        .compile_values(&[(path.into(), "off".into())])
        .unwrap();
    // `on` keeps the files as they are; anything else is refused, naming the values.
    let mut same = base.clone();
    same.apply_overrides(&[(path.into(), "on".into())]).unwrap();
    assert_eq!(same.manifests, base.manifests);
    let e = parsed
        .compile_values(&[(path.into(), "maybe".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`on`") && e.contains("`off`"), "{e}");
}

#[test]
fn an_automatic_space_is_checked_and_listed_knobs_can_be_dropped_and_pinned() {
    let d = common::fresh_dir("optimize", "knobs");
    common::write_pipeline_model(&d, 3600, 60_000.0, Some(common::FRONT_SCALER));
    let base = ModelSources::read_dir(&d).unwrap();
    let parse = |extra: &str| {
        Experiment::parse(
            "auto.yaml",
            &format!("format_version: 1\nname: auto\n{extra}"),
        )
    };
    let x = parse("axes: auto\n").unwrap();
    assert_eq!(x.search.strategy, scaletwin::tune::Strategy::Tpe);
    let x = x.with_auto_axes(&base).unwrap();
    let max = x
        .axes
        .iter()
        .find(|a| a.path == "manifest.front.spec.maxReplicaCount")
        .unwrap();
    assert_eq!(
        max.values.as_deref(),
        Some(&["10".to_string(), "20".into(), "30".into()][..])
    );
    let cpu = x
        .axes
        .iter()
        .find(|a| a.path == "manifest.front.spec.triggers[type=cpu].metadata.value")
        .unwrap();
    assert_eq!(
        cpu.values.as_deref(),
        Some(&["55".to_string(), "70".into(), "85".into()][..])
    );
    // Dropped and pinned.
    let y = parse(
        "auto: {drop: ['*.stabilizationWindowSeconds', '*pollingInterval'], pin: {manifest.front.spec.maxReplicaCount: '15'}}\naxes: []\nsearch: {strategy: tpe}\n",
    )
    .unwrap()
    .with_auto_axes(&base)
    .unwrap();
    assert!(
        !y.axes
            .iter()
            .any(|a| a.path.contains("stabilization") || a.path.contains("polling"))
    );
    let max = y
        .axes
        .iter()
        .find(|a| a.path == "manifest.front.spec.maxReplicaCount")
        .unwrap();
    assert_eq!(max.values.as_deref(), Some(&["15".to_string()][..]));
    // A drop pattern that matches nothing, and both spellings at once, are errors naming
    // the field.
    let e = parse("auto: {drop: ['*.nothing']}\naxes: []\n")
        .unwrap()
        .with_auto_axes(&base)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("auto.drop[0]") && e.contains("matches no knob"),
        "{e}"
    );
    let e = parse("auto: {}\naxes: auto\n").unwrap_err().to_string();
    assert!(e.contains("axes"), "{e}");
    let e = parse("axes: everything\n").unwrap_err().to_string();
    assert!(e.contains("`auto`"), "{e}");
}
