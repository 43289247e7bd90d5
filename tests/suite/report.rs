//! `scaletwin report`: golden summaries of a finished sweep, an interrupted one and a
//! simulation, and clear errors for folders it cannot report on.

use scaletwin::scenario::ModelSources;
use scaletwin::tune::{Experiment, RunOptions, Sweep};
use std::path::{Path, PathBuf};

use crate::common;

fn dir(name: &str) -> PathBuf {
    common::fresh_dir("report", name)
}

fn model(name: &str) -> ModelSources {
    let d = dir(&format!("{name}-model"));
    common::write_mmc_model(&d, 20_000);
    ModelSources::read_dir(&d).unwrap()
}

/// Compare with the golden file (`UPDATE_GOLDEN=1` rewrites it).
fn golden(name: &str, got: &str) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/report")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&p, got).unwrap();
    }
    let want = std::fs::read_to_string(&p).unwrap_or_default();
    assert_eq!(
        got,
        want,
        "{name} differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        p.display()
    );
}

fn tune_folder(name: &str) -> (PathBuf, Experiment, ModelSources) {
    let x = Experiment::parse(
        "exp.yaml",
        "format_version: 1\nname: report-golden\nseeds: [1, 2, 3]\nload_margin: 0.1\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {from: '4', to: '7', step: '1'}\nconstraints: {p95_ms: 3300, success_rate: 0.99}\n",
    )
    .unwrap();
    let b = model(name);
    (dir(name), x, b)
}

#[test]
fn a_finished_sweep_summarises_to_the_golden_files() {
    let (d, x, b) = tune_folder("tune");
    let w = scaletwin::tune::resolve_workloads(&x, Path::new(".")).unwrap();
    let r = Sweep::open(&x, &b, w, &d, RunOptions::default(), None)
        .unwrap()
        .run()
        .unwrap();
    let a = r.analysis.unwrap();
    scaletwin::tune::output::write_all(&d, &x, &b, &r.evaluations, &a).unwrap();
    let files = scaletwin::report::write(&d, Default::default()).unwrap();
    for f in [
        "summary.md",
        "summary.json",
        "report.html",
        "charts/pareto.svg",
    ] {
        assert!(files.contains(&d.join(f)), "{f} written: {files:?}");
    }
    // No timelines recorded in this folder: the page says so instead of drawing them.
    let page = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(page.contains("No recorded timelines in this folder"));
    let md = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert!(md.starts_with("# Tuning summary: report-golden\n\nRecommended: configuration"));
    golden("tune-summary.md", &md);
    golden(
        "tune-summary.json",
        &std::fs::read_to_string(d.join("summary.json")).unwrap(),
    );
}

#[test]
fn an_interrupted_sweep_still_reports_marked_partial() {
    let (d, x, b) = tune_folder("partial");
    let w = scaletwin::tune::resolve_workloads(&x, Path::new(".")).unwrap();
    Sweep::open(&x, &b, w, &d, RunOptions::default(), None)
        .unwrap()
        .run()
        .unwrap();
    // As if interrupted after the first seed of every configuration: keep the header and
    // those 4 evaluations (chosen by content: lines are appended in completion order).
    let ck = d.join("checkpoint.jsonl");
    let text = std::fs::read_to_string(&ck).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| {
            *i == 0
                || (l.contains("\"baseline\":false")
                    && l.contains("\"seed\":1,\"fidelity\":\"engine\",\"load\":1.0,"))
        })
        .map(|(_, l)| l)
        .collect();
    assert_eq!(kept.len(), 5);
    std::fs::write(&ck, kept.join("\n") + "\n").unwrap();
    scaletwin::report::write(&d, Default::default()).unwrap();
    let md = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert!(md.contains("(PARTIAL)") && md.contains("interrupted after 4 evaluations"));
    golden("partial-summary.md", &md);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
    assert_eq!(j["partial"], true);
}

#[test]
fn a_simulation_summarises_to_the_golden_files() {
    let b = model("sim");
    let loaded = b.load().unwrap();
    let cfg = scaletwin::engine::RunConfig {
        duration_s: 3600.0,
        seed: 1,
        window_s: 60.0,
        slo: loaded.scenario.slo,
        record_decisions: false,
        warmup_s: 0.0,
    };
    let o = scaletwin::engine::run(&loaded.model, &loaded.scenario.workload, cfg);
    let d = dir("sim");
    scaletwin::engine::output::write_outcome(&d, &o).unwrap();
    // Without its time series the page still comes out, naming the missing file.
    scaletwin::report::write(&d, Default::default()).unwrap();
    let page = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(page.contains("timeseries.csv is missing"), "{page:.2000}");
    assert!(!d.join("charts/timeline.svg").exists());
    scaletwin::engine::output::write_outputs(&d, &o).unwrap();
    scaletwin::report::write(&d, Default::default()).unwrap();
    assert!(d.join("charts/timeline.svg").exists());
    golden(
        "simulate-summary.md",
        &std::fs::read_to_string(d.join("summary.md")).unwrap(),
    );
    golden(
        "simulate-summary.json",
        &std::fs::read_to_string(d.join("summary.json")).unwrap(),
    );
}

#[test]
fn folders_it_cannot_report_on_get_clear_errors() {
    let empty = dir("empty");
    let e = scaletwin::report::write(&empty, Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing analysis.json")
            && e.contains("checkpoint.jsonl")
            && e.contains("outcome.json"),
        "{e}"
    );
    let old = dir("old");
    std::fs::write(old.join("outcome.json"), "{\"format_version\": 7}").unwrap();
    let e = scaletwin::report::write(&old, Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outcome.json: format_version 7; this build reads 1"),
        "{e}"
    );
    let torn = dir("torn");
    std::fs::write(torn.join("analysis.json"), "{\"format_version\": 1}").unwrap();
    let e = scaletwin::report::write(&torn, Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("analysis.json: missing field"), "{e}");
    let e = scaletwin::report::write(Path::new("no/such/folder"), Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a folder"), "{e}");
}
