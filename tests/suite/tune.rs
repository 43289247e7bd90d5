//! Sweeps: a known answer (the cheapest M/M/c that meets a p95 bound), determinism across
//! thread counts, and resuming from a checkpoint.

use scaletwin::scenario::ModelSources;
use scaletwin::tune::{Experiment, RunOptions, Sweep, SweepResult, merge_checkpoints};
use std::path::{Path, PathBuf};

use crate::common;

fn dir(name: &str) -> PathBuf {
    common::fresh_dir("tune", name)
}

/// Erlang C: the probability that a job of an M/M/c queue waits.
pub(crate) fn erlang_c(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - a / c as f64);
    last / (sum + last)
}

/// Sojourn-time tail of M/M/c: P(T > t).
fn tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let pw = erlang_c(c, lambda, mu);
    // T = W + S: W is 0 with probability 1 - pw, else Exp(theta); S is Exp(mu).
    let theta = c as f64 * mu - lambda;
    let both = (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu);
    (1.0 - pw) * (-mu * t).exp() + pw * both
}

pub(crate) fn p95(c: u32, lambda: f64, mu: f64) -> f64 {
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
    common::write_mmc_model(&d, 200_000);
    d
}

fn experiment(bound_ms: f64) -> Experiment {
    let text = format!(
        "format_version: 1\nname: cheapest-c\nseeds: [1, 2, 3, 4, 5]\nload_margin: 0\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {{from: '4', to: '7', step: '1'}}\nconstraints: {{p95_ms: {bound_ms}}}\n"
    );
    Experiment::parse("exp.yaml", &text).unwrap()
}

fn sweep(x: &Experiment, base: &ModelSources, out: &Path, opts: RunOptions) -> SweepResult {
    let w = scaletwin::tune::resolve_workloads(x, Path::new(".")).unwrap();
    Sweep::open(x, base, w, out, opts, None)
        .unwrap()
        .run()
        .unwrap()
}

fn threads(n: usize) -> RunOptions {
    RunOptions {
        threads: Some(n),
        ..RunOptions::default()
    }
}

fn base() -> ModelSources {
    ModelSources::read_dir(&model_dir()).unwrap()
}

/// The bound halfway between the p95 of c = 4 and c = 5 servers at λ = 2.5, μ = 1.
fn bound_between_4_and_5() -> f64 {
    let (p4, p5) = (p95(4, 2.5, 1.0), p95(5, 2.5, 1.0));
    assert!(p4 > p5);
    (p4 + p5) / 2.0 * 1000.0
}

#[test]
fn the_recommendation_is_the_cheapest_c_that_erlang_c_allows() {
    let bound = bound_between_4_and_5();
    let x = experiment(bound);
    let b = base();
    let out = dir("answer");
    let r = sweep(&x, &b, &out, RunOptions::default());
    // 4 configurations and the baseline, 5 seeds each.
    assert_eq!(r.evaluations.len(), 25);
    let a = r.analysis.unwrap();
    let best = a
        .recommendation
        .clone()
        .expect("a configuration meets the bound");
    assert_eq!(best.values[0].1, "5", "bound {bound:.0} ms: {:#?}", a.rows);
    // The recommendation meets the constraint in each of its own replications, and its
    // confidence interval too.
    let own: Vec<_> = r
        .evaluations
        .iter()
        .filter(|e| !e.baseline && e.config == best.config)
        .collect();
    assert_eq!(own.len(), 5);
    assert!(own.iter().all(|e| e.p95_ms <= bound));
    assert!(best.p95_ms.hi <= bound && best.p95_ms.lo <= best.p95_ms.mean);
    // c = 4 (the baseline's value) misses, and says which constraint binds.
    let four = a.rows.iter().find(|r| r.values[0].1 == "4").unwrap();
    assert!(!four.feasible && four.binding.as_deref().unwrap().starts_with("p95 <="));
    // Against the baseline (4 replicas): more pod-hours, lower p95.
    let c = a.comparison.clone().unwrap();
    assert!((c.pod_hours_change_pct - 25.0).abs() < 0.5, "{c:?}");
    assert!(c.p95_to_ms < c.p95_from_ms);
    // The tables, the analysis and the patched manifest with its diff.
    let files = scaletwin::tune::output::write_all(&out, &x, &b, &r.evaluations, &a).unwrap();
    assert!(files.iter().any(|f| f.ends_with("configs.csv")));
    let csv = std::fs::read_to_string(out.join("evaluations.csv")).unwrap();
    assert_eq!(csv.lines().count(), 26);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("manifest.deployment/server.spec.replicas")
    );
    let patched = std::fs::read_to_string(out.join("manifests/server.yaml")).unwrap();
    assert!(patched.contains("replicas: 5") && patched.contains("cpu: '1'"));
    let diff = std::fs::read_to_string(out.join("recommended.diff")).unwrap();
    assert!(
        diff.contains("-  replicas: 4") && diff.contains("+  replicas: 5"),
        "{diff}"
    );
    {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let f = std::fs::File::open(out.join("configs.parquet")).unwrap();
        let reader = SerializedFileReader::new(f).unwrap();
        let meta = reader.metadata().file_metadata();
        let kv = meta.key_value_metadata().cloned().unwrap_or_default();
        assert!(
            kv.iter()
                .any(|k| k.key == "format_version" && k.value.as_deref() == Some("1"))
        );
        assert_eq!(meta.num_rows(), 5, "4 configurations and the baseline");
    }
}

#[test]
fn the_extra_load_check_moves_the_recommendation_up_when_needed() {
    // A bound c = 5 meets at λ = 2.5 but not with 20 % more load (λ = 3), where c = 6 does.
    let bound = (p95(5, 2.5, 1.0) + p95(5, 3.0, 1.0)) / 2.0 * 1000.0;
    assert!(p95(4, 2.5, 1.0) * 1000.0 > bound && p95(6, 3.0, 1.0) * 1000.0 < bound - 50.0);
    let text = format!(
        "format_version: 1\nname: margin\nseeds: [1, 2, 3, 4, 5]\nload_margin: 0.2\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {{from: '4', to: '7', step: '1'}}\nconstraints: {{p95_ms: {bound}}}\n"
    );
    let x = Experiment::parse("exp.yaml", &text).unwrap();
    let a = sweep(&x, &base(), &dir("margin"), RunOptions::default())
        .analysis
        .unwrap();
    let r = a.recommendation.expect("c = 6 holds with +20 %");
    assert_eq!(r.values[0].1, "6");
    assert_eq!(a.recommendation_with_margin.unwrap().load, 1.2);
    assert!(
        a.failed_margin.contains(&1),
        "c = 5 failed the check: {:?}",
        a.failed_margin
    );
}

#[test]
fn sweeps_are_deterministic_resumable_and_shardable() {
    let x = experiment(5000.0);
    let b = base();
    let one = sweep(&x, &b, &dir("t1"), threads(1));
    let two = sweep(&x, &b, &dir("t2"), threads(2));
    let json = |r: &SweepResult| {
        (
            serde_json::to_string(&r.evaluations).unwrap(),
            serde_json::to_string(&r.analysis).unwrap(),
        )
    };
    assert_eq!(json(&one), json(&two), "1 vs 2 threads");
    // Interrupt: keep the header, 3 finished evaluations and half of a fourth line; resume.
    let d = dir("resume");
    let full = sweep(&x, &b, &d, threads(2));
    let ck = d.join("checkpoint.jsonl");
    let text = std::fs::read_to_string(&ck).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!(
        "{}\n{}",
        lines[..4].join("\n"),
        &lines[4][..lines[4].len() / 2]
    );
    std::fs::write(&ck, cut).unwrap();
    let resumed = sweep(&x, &b, &d, threads(2));
    assert_eq!(resumed.resumed, 3);
    assert_eq!(json(&full), json(&resumed), "resume gives the same tables");
    // Three shards, merged, give exactly the whole sweep.
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            let d = dir(&format!("shard{i}"));
            let r = sweep(
                &x,
                &b,
                &d,
                RunOptions {
                    shard: Some((i, 3)),
                    ..threads(1)
                },
            );
            assert!(r.analysis.is_none());
            d
        })
        .collect();
    let m = dir("merged");
    merge_checkpoints(&shards, &m).unwrap();
    let merged = sweep(&x, &b, &m, threads(2));
    assert_eq!(
        merged.ran, 0,
        "the shards evaluated everything the whole sweep needs"
    );
    assert_eq!(json(&full), json(&merged), "sharded + merged == whole");
    // A checkpoint of another experiment is not resumed by mistake.
    let other = experiment(4000.0);
    let w = scaletwin::tune::resolve_workloads(&other, Path::new(".")).unwrap();
    let e = Sweep::open(&other, &b, w, &d, RunOptions::default(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("different experiment") && e.contains("--fresh"),
        "{e}"
    );
}

#[test]
fn successive_halving_ranks_with_the_fluid_approximation_and_reports_agreement() {
    let bound = bound_between_4_and_5();
    let text = format!(
        "format_version: 1\nname: halving\nseeds: [1, 2, 3, 4, 5]\nload_margin: 0\nsearch: {{strategy: halving, eta: 2, min_survivors: 2}}\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {{from: '3', to: '10', step: '1'}}\nconstraints: {{p95_ms: {bound}}}\n"
    );
    let x = Experiment::parse("exp.yaml", &text).unwrap();
    let (d, b) = (dir("halving"), base());
    let r = sweep(&x, &b, &d, RunOptions::default());
    // Run again on the same folder: every evaluation, the fluid ones too, is resumed.
    let again = sweep(&x, &b, &d, RunOptions::default());
    assert_eq!((again.resumed, again.ran), (r.evaluations.len(), 0));
    let fluid = r
        .evaluations
        .iter()
        .filter(|e| e.fidelity == scaletwin::tune::Fidelity::Fluid)
        .count();
    assert_eq!(
        fluid, 8,
        "every candidate once under the fluid approximation"
    );
    let a = r.analysis.unwrap();
    // Rung 2 keeps 4 of 8 (one seed), rung 3 keeps 2 of those (both seeds).
    assert_eq!(a.rows.len(), 2, "{:#?}", a.rows);
    assert_eq!(a.recommendation.unwrap().values[0].1, "5");
    let g = a.agreement.unwrap();
    assert_eq!(g.configurations, 2);
    assert!(!g.winner_changed, "{g:?}");
}

#[test]
fn when_nothing_meets_the_constraints_the_closest_and_the_binding_one_are_named() {
    // Windows judge p95 against the model's 1.5 s SLO; exponential service of mean 1 s
    // has a p95 of 3 s by itself, so no window can meet it.
    let text = "format_version: 1\nname: none\nload_margin: 0\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    values: ['4', '6']\nconstraints: {window_attainment: 0.9}\n";
    let x = Experiment::parse("exp.yaml", text).unwrap();
    let a = sweep(&x, &base(), &dir("none"), RunOptions::default())
        .analysis
        .unwrap();
    assert!(a.recommendation.is_none());
    assert!(
        a.verdict
            .starts_with("No configuration meets every constraint"),
        "{}",
        a.verdict
    );
    assert_eq!(a.closest.len(), 2);
    assert!(
        a.closest[0].binding.contains("of windows"),
        "{:?}",
        a.closest
    );
}

#[test]
fn bad_experiments_get_clear_errors() {
    let b = base();
    let open = |text: &str| {
        let x = Experiment::parse("exp.yaml", text).unwrap();
        let w = scaletwin::tune::resolve_workloads(&x, Path::new(".")).unwrap();
        match Sweep::open(&x, &b, w, &dir("bad"), RunOptions::default(), None) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    };
    let e = open(
        "format_version: 1\nname: t\naxes:\n  - path: model.deployments.server.work.service_tim\n    values: ['2']\n",
    );
    assert!(
        e.starts_with("exp.yaml: axes[0].path") && e.contains("unknown field `service_tim`"),
        "{e}"
    );
    // Contradictory: a p95 bound below the service's own p95 (3 s for exponential mean 1 s).
    let e = open(
        "format_version: 1\nname: t\nconstraints: {p95_ms: 1000}\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    values: ['4']\n",
    );
    assert!(
        e.starts_with("exp.yaml: constraints.p95_ms")
            && e.contains("no autoscaling setting can meet it"),
        "{e}"
    );
    let e = open(
        "format_version: 1\nname: t\nduration_s: 30\nconstraints: {window_attainment: 0.9}\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    values: ['4']\n",
    );
    assert!(e.contains("shorter than one 60 s window"), "{e}");
    for (text, want) in [
        (
            "format_version: 1\nname: t\nsearch: {strategy: random}\naxes:\n  - path: a\n    values: ['1']\n",
            "need a number of samples",
        ),
        (
            "format_version: 1\nname: t\nload_margin: -0.2\naxes:\n  - path: a\n    values: ['1']\n",
            "load_margin",
        ),
        (
            "format_version: 1\nname: t\nworkloads: [{name: a}, {name: a}]\naxes:\n  - path: a\n    values: ['1']\n",
            "its own name",
        ),
        (
            "format_version: 1\nname: t\nworkloads: [{name: a, load: {pattern: constant, rate: -1}}]\naxes:\n  - path: a\n    values: ['1']\n",
            "workloads[0].load",
        ),
        (
            "format_version: 1\nname: t\nconstraints: {confidence: 1.5}\naxes:\n  - path: a\n    values: ['1']\n",
            "constraints.confidence",
        ),
        (
            "format_version: 1\nname: t\nsearch: {strategy: random, samples: 20000}\naxes:\n  - path: a\n    range: {from: '1', to: '200', step: '1'}\n  - path: b\n    range: {from: '1', to: '200', step: '1'}\n",
            "over max_configs",
        ),
    ] {
        let e = Experiment::parse("exp.yaml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("exp.yaml: ") && e.contains(want),
            "{want}: {e}"
        );
    }
}

#[test]
fn of_equal_configurations_the_one_closest_to_the_current_settings_wins() {
    // The CPU request changes neither pod-hours nor latency here; the current value ('1')
    // is listed last, so only the tie-break can pick it.
    let bound = bound_between_4_and_5();
    let text = format!(
        "format_version: 1\nname: ties\nseeds: [1, 2, 3, 4, 5]\nload_margin: 0\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {{from: '4', to: '6', step: '1'}}\n  - path: manifest.deployment/server.spec.template.spec.containers[name=s].resources.requests.cpu\n    values: ['2', '1']\nconstraints: {{p95_ms: {bound}}}\n"
    );
    let x = Experiment::parse("exp.yaml", &text).unwrap();
    let a = sweep(&x, &base(), &dir("ties"), RunOptions::default())
        .analysis
        .unwrap();
    let r = a.recommendation.unwrap();
    assert_eq!(r.values[0].1, "5");
    assert_eq!(r.values[1].1, "1", "{:#?}", a.rows);
    assert_eq!(r.changes, 1, "only the replica count changes");
}

#[test]
fn an_axis_that_changes_nothing_is_refused_naming_it() {
    // A Deployment beside the model's that nothing in the model uses: its replicas are a
    // field the manifests hold and the simulation never reads.
    let d = dir("inert");
    common::write_mmc_model(&d, 200_000);
    std::fs::write(
        d.join("other.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers: [{name: o, image: x}]\n",
    )
    .unwrap();
    let b = ModelSources::read_dir(&d).unwrap();
    let text = "format_version: 1\nname: t\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    values: ['4', '5']\n  - path: manifest.deployment/other.spec.replicas\n    values: ['1', '2', '3']\n";
    let x = Experiment::parse("exp.yaml", text).unwrap();
    let w = scaletwin::tune::resolve_workloads(&x, Path::new(".")).unwrap();
    let e = match Sweep::open(&x, &b, w, &dir("inert-out"), RunOptions::default(), None) {
        Ok(_) => panic!("an inert axis was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.starts_with("exp.yaml: axes[1].path")
            && e.contains("manifest.deployment/other.spec.replicas")
            && e.contains("1, 2, 3")
            && e.contains("all give the same model"),
        "{e}"
    );
}

#[test]
fn an_axis_whose_values_change_no_evaluation_is_named_in_a_warning() {
    // Fixed replicas never remove a pod, so the endpoint-removal delay changes the model but
    // no run; the replica count changes every run.
    let text = "format_version: 1\nname: inert-value\nseeds: [1]\nload_margin: 0\nduration_s: 3600\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    values: ['4', '5']\n  - path: model.deployments.server.lifecycle.endpoint_removal_delay_s\n    values: ['1', '5']\nconstraints: {p95_ms: 100000}\n";
    let x = Experiment::parse("exp.yaml", text).unwrap();
    let a = sweep(&x, &base(), &dir("inert-value"), RunOptions::default())
        .analysis
        .unwrap();
    assert_eq!(
        a.unchanged_axes,
        vec!["model.deployments.server.lifecycle.endpoint_removal_delay_s".to_string()]
    );
    let out = scaletwin::tune::output::analysis_text(&x, &a);
    assert!(
        out.contains("warning: axis model.deployments.server.lifecycle.endpoint_removal_delay_s: none of its values changed an evaluation"),
        "{out}"
    );
}
