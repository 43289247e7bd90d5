//! Reports regenerated from a results folder alone, for a finished sweep (`analysis.json`),
//! an interrupted one (only `checkpoint.jsonl`) or a simulation (`outcome.json`): the page
//! `report.html` with its charts (`charts/*.svg`, PNG on request), the pull-request summary
//! `summary.md` and the machine-readable `summary.json`.

pub mod charts;
pub mod page;

use crate::engine::Outcome;
use crate::io::write_atomic;
use crate::tune::{Analysis, EXPERIMENT_FORMAT_VERSION, Evaluation, Fidelity, Row, short};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Version of `summary.json`.
pub const SUMMARY_FORMAT_VERSION: u32 = 1;

/// A results folder that cannot be reported on: the folder, what is wrong, what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The folder holds nothing to report on, or a file in it is not what scaletwin wrote:
    /// the command line exits 2.
    #[error("{dir}: {message}")]
    Input { dir: String, message: String },
    /// A file could not be read or written (permissions, disk full): the command line exits 3.
    #[error("{dir}: {message}")]
    Io { dir: String, message: String },
}

impl ReportError {
    /// What is wrong, without the folder.
    pub fn message(&self) -> &str {
        match self {
            ReportError::Input { message, .. } | ReportError::Io { message, .. } => message,
        }
    }

    /// The exit code the command line ends with: 2 bad input, 3 a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Input { .. } => 2,
            ReportError::Io { .. } => 3,
        }
    }
}

/// What a results folder holds.
#[derive(Clone, Debug)]
pub enum Results {
    /// A finished sweep.
    Tune(Box<Analysis>),
    /// An interrupted sweep: the evaluations finished so far.
    PartialTune {
        experiment: String,
        evaluations: Vec<Evaluation>,
    },
    /// A simulation.
    Simulate(Box<Outcome>),
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T, ReportError> {
    let p = dir.join(name);
    let err = |m: String| ReportError::Input {
        dir: dir.display().to_string(),
        message: m,
    };
    let text = std::fs::read_to_string(&p).map_err(|e| ReportError::Io {
        dir: dir.display().to_string(),
        message: format!("{name}: cannot read: {e}"),
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("{name}: not JSON: {e}")))?;
    match v.get("format_version").and_then(|f| f.as_u64()) {
        Some(1) => {}
        Some(other) => {
            return Err(err(format!(
                "{name}: format_version {other}; this build reads 1: rerun the command that wrote it with this build"
            )));
        }
        None => {
            return Err(err(format!(
                "{name}: no format_version: not written by scaletwin"
            )));
        }
    }
    serde_json::from_value(v).map_err(|e| err(format!("{name}: {e}")))
}

/// Find out what `dir` holds.
pub fn load(dir: &Path) -> Result<Results, ReportError> {
    let err = |m: String| ReportError::Input {
        dir: dir.display().to_string(),
        message: m,
    };
    if !dir.is_dir() {
        return Err(err("not a folder".into()));
    }
    if dir.join("analysis.json").exists() {
        return Ok(Results::Tune(Box::new(read_json(dir, "analysis.json")?)));
    }
    if dir.join("outcome.json").exists() {
        return Ok(Results::Simulate(Box::new(read_json(dir, "outcome.json")?)));
    }
    let ck = dir.join("checkpoint.jsonl");
    if ck.exists() {
        let (header, evaluations) =
            crate::tune::read_checkpoint(&ck).map_err(|e| err(e.to_string()))?;
        let experiment = header.map(|h| h.experiment).unwrap_or_default();
        if evaluations.is_empty() {
            return Err(err(
                "checkpoint.jsonl holds no finished evaluation yet: nothing to report".into(),
            ));
        }
        return Ok(Results::PartialTune {
            experiment,
            evaluations,
        });
    }
    Err(err(
        "missing analysis.json (a finished `scaletwin tune`), checkpoint.jsonl (an interrupted one) and outcome.json (a `scaletwin simulate`): point report at a results folder".into(),
    ))
}

fn settings_table(values: &[(String, String)]) -> String {
    let mut s = String::from("| setting | value |\n|---|---|\n");
    for (p, v) in values {
        s.push_str(&format!("| `{p}` | {v} |\n"));
    }
    s
}

fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

fn row_json(r: &Row) -> serde_json::Value {
    json!({
        "config": r.config,
        "settings": r.values.iter().map(|(p, v)| (p.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "pod_hours": r.pod_hours.mean,
        "cost": r.cost.mean,
        "p95_ms": {"mean": r.p95_ms.mean, "ci_lo": r.p95_ms.lo, "ci_hi": r.p95_ms.hi},
        "success_rate": r.success_rate.mean,
        "window_attainment": r.window_attainment.mean,
        "scaling_events": r.scaling_events,
        "feasible": r.feasible,
        "binding": r.binding,
    })
}

/// A configuration's mean figures so far in an interrupted sweep.
struct PartialRow {
    config: usize,
    values: Vec<(String, String)>,
    replications: usize,
    pod_hours: f64,
    p95_ms: f64,
}

/// Mean figures per configuration of an interrupted sweep (engine, nominal load), cheapest
/// first.
fn partial_rows(evals: &[Evaluation]) -> Vec<PartialRow> {
    let mut by: std::collections::BTreeMap<usize, Vec<&Evaluation>> = Default::default();
    for e in evals.iter().filter(|e| {
        !e.baseline && e.fidelity == Fidelity::Engine && e.load == 1.0 && e.error.is_none()
    }) {
        by.entry(e.config).or_default().push(e);
    }
    let mut rows: Vec<_> = by
        .into_iter()
        .map(|(c, v)| {
            let n = v.len() as f64;
            PartialRow {
                config: c,
                values: v[0].values.clone(),
                replications: v.len(),
                pod_hours: v.iter().map(|e| e.pod_hours).sum::<f64>() / n,
                p95_ms: v.iter().map(|e| e.p95_ms).sum::<f64>() / n,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.pod_hours
            .total_cmp(&b.pod_hours)
            .then(a.config.cmp(&b.config))
    });
    rows
}

/// `summary.md`: the recommendation, the settings, the verdicts and the best configurations.
pub fn summary_md(r: &Results) -> String {
    let mut s = String::new();
    match r {
        Results::Tune(a) => {
            s.push_str(&format!("# Tuning summary: {}\n\n", a.experiment));
            s.push_str(&format!("{}\n\n", a.verdict));
            if let Some(rec) = &a.recommendation {
                s.push_str("## Recommended settings\n\n");
                s.push_str(&settings_table(&rec.values));
                s.push_str("\nThe patched manifests are in `manifests/`, the change in `recommended.diff`.\n\n");
                s.push_str("## Against the current settings\n\n| | current | recommended |\n|---|---|---|\n");
                if let Some(b) = &a.baseline {
                    for (name, cur, new) in [
                        (
                            "pod-hours",
                            format!("{:.2}", b.pod_hours.mean),
                            format!("{:.2}", rec.pod_hours.mean),
                        ),
                        (
                            "p95 latency",
                            format!("{:.0} ms", b.p95_ms.mean),
                            format!("{:.0} ms", rec.p95_ms.mean),
                        ),
                        (
                            "success rate",
                            pct(b.success_rate.mean),
                            pct(rec.success_rate.mean),
                        ),
                        (
                            "windows meeting the SLO",
                            pct(b.window_attainment.mean),
                            pct(rec.window_attainment.mean),
                        ),
                        (
                            "scaling events",
                            format!("{:.0}", b.scaling_events),
                            format!("{:.0}", rec.scaling_events),
                        ),
                        (
                            "meets every constraint",
                            yes(b.feasible).into(),
                            yes(rec.feasible).into(),
                        ),
                    ] {
                        s.push_str(&format!("| {name} | {cur} | {new} |\n"));
                    }
                    for d in &b.deployments {
                        let Some(n) = rec.deployments.iter().find(|n| n.name == d.name) else {
                            continue;
                        };
                        s.push_str(&format!(
                            "| {} p95 | {:.0} ms | {:.0} ms |\n| {} windows meeting its SLO | {} | {} |\n",
                            d.name,
                            d.p95_ms.mean,
                            n.p95_ms.mean,
                            d.name,
                            pct(d.window_attainment.mean),
                            pct(n.window_attainment.mean)
                        ));
                    }
                    if let (Some(lb), Some(eb), Some(er)) =
                        (&a.lower_bound, a.efficiency(b), a.efficiency(rec))
                    {
                        s.push_str(&format!(
                            "| efficiency (lower bound {:.2} pod-hours / cost) | {} | {} |\n",
                            lb.pod_hours,
                            pct(eb),
                            pct(er)
                        ));
                    }
                }
                s.push('\n');
            }
            if let Some(lb) = &a.lower_bound {
                s.push_str("## Lower bound\n\n");
                s.push_str(&format!("{}\n\n", a.bound_sentence().unwrap_or_default()));
                s.push_str("| deployment | sized for p95 | peak replicas | pod-hours |\n|---|---|---|---|\n");
                for d in &lb.deployments {
                    s.push_str(&format!(
                        "| {} | {} | {} | {:.2} |\n",
                        d.name,
                        d.p95_ms
                            .map_or("stability only".into(), |p| format!("{p:.0} ms")),
                        d.peak_replicas,
                        d.pod_hours
                    ));
                }
                s.push('\n');
            }
            if !a.closest.is_empty() {
                s.push_str("## Closest configurations\n\n| config | misses by | binding constraint |\n|---|---|---|\n");
                for c in &a.closest {
                    s.push_str(&format!(
                        "| {} | {:.1}% | {} |\n",
                        c.config,
                        c.violation * 100.0,
                        c.binding
                    ));
                }
                s.push('\n');
            }
            s.push_str("## Best configurations\n\n| rank | config | pod-hours | p95 ms (CI) | success | windows | events | meets |");
            for r in a.rows.first().map(|r| &r.values[..]).unwrap_or(&[]) {
                s.push_str(&format!(" {} |", short(&r.0)));
            }
            s.push_str("\n|---|---|---|---|---|---|---|---|");
            for _ in a.rows.first().map(|r| &r.values[..]).unwrap_or(&[]) {
                s.push_str("---|");
            }
            s.push('\n');
            for (i, r) in a.rows.iter().take(10).enumerate() {
                s.push_str(&format!(
                    "| {} | {} | {:.2} | {:.0} ({:.0}–{:.0}) | {} | {} | {:.0} | {} |",
                    i + 1,
                    r.config,
                    r.pod_hours.mean,
                    r.p95_ms.mean,
                    r.p95_ms.lo,
                    r.p95_ms.hi,
                    pct(r.success_rate.mean),
                    pct(r.window_attainment.mean),
                    r.scaling_events,
                    yes(r.feasible)
                ));
                for (_, v) in &r.values {
                    s.push_str(&format!(" {v} |"));
                }
                s.push('\n');
            }
            s.push_str(&format!(
                "\n{} configurations evaluated at full fidelity of {} candidates ({} evaluations).\n",
                a.rows.len(),
                a.candidates,
                a.evaluations
            ));
            if let Some(g) = &a.agreement {
                s.push_str(&format!(
                    "The fluid approximation agreed with the engine on {} configurations: rank correlation {:.2} (cost) and {:.2} (p95), {:.0}% of verdicts; the winner {}.\n",
                    g.configurations,
                    g.cost_rank_correlation,
                    g.p95_rank_correlation,
                    g.verdict_agreement * 100.0,
                    if g.winner_changed { "changed" } else { "did not change" }
                ));
            }
        }
        Results::PartialTune {
            experiment,
            evaluations,
        } => {
            s.push_str(&format!("# Tuning summary: {experiment} (PARTIAL)\n\n"));
            s.push_str(&format!(
                "The sweep was interrupted after {} evaluations; there is no recommendation yet. Run the same `scaletwin tune` into this folder to finish it (finished evaluations are kept).\n\n",
                evaluations.len()
            ));
            s.push_str("## Cheapest configurations so far (engine, nominal load; not yet checked against the constraints)\n\n| config | replications | pod-hours | p95 ms | settings |\n|---|---|---|---|---|\n");
            for r in partial_rows(evaluations).into_iter().take(10) {
                let set: Vec<String> = r
                    .values
                    .iter()
                    .map(|(p, v)| format!("{}={v}", short(p)))
                    .collect();
                s.push_str(&format!(
                    "| {} | {} | {:.2} | {:.0} | {} |\n",
                    r.config,
                    r.replications,
                    r.pod_hours,
                    r.p95_ms,
                    set.join(", ")
                ));
            }
        }
        Results::Simulate(o) => {
            s.push_str(&format!(
                "# Simulation summary: {}\n\n{} s simulated (seed {}), entry `{}`.\n\n",
                o.model, o.duration_s, o.seed, o.entry
            ));
            s.push_str("| SLO | bound | verdict |\n|---|---|---|\n");
            for (name, bound, ok) in [
                (
                    "p95 latency",
                    format!("<= {} ms", o.slo.p95_ms),
                    o.verdicts.p95,
                ),
                (
                    "success rate",
                    format!(">= {}", pct(o.slo.success_rate)),
                    o.verdicts.success_rate,
                ),
                (
                    "windows meeting the SLO",
                    format!(">= {}", pct(o.slo.window_attainment)),
                    o.verdicts.window_attainment,
                ),
            ] {
                s.push_str(&format!(
                    "| {name} | {bound} | {} |\n",
                    if ok { "PASS" } else { "FAIL" }
                ));
            }
            s.push_str("\n| deployment | requests | success | p95 ms | pod-hours | scaling events | max replicas |\n|---|---|---|---|---|---|---|\n");
            for d in &o.deployments {
                s.push_str(&format!(
                    "| {} | {} | {} | {:.0} | {:.2} | {} | {} |\n",
                    d.name,
                    d.arrived,
                    pct(d.success_rate),
                    d.latency_ms.p95,
                    d.pod_hours,
                    d.scaling_events,
                    d.max_replicas
                ));
            }
            s.push_str(&format!(
                "\nTotal: {:.2} pod-hours, cost {:.2}.\n",
                o.total_pod_hours, o.total_cost
            ));
        }
    }
    s
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `summary.json`.
pub fn summary_json(r: &Results) -> serde_json::Value {
    match r {
        Results::Tune(a) => json!({
            "format_version": SUMMARY_FORMAT_VERSION,
            "kind": "tune",
            "partial": false,
            "experiment": a.experiment,
            "verdict": a.verdict,
            "recommendation": a.recommendation.as_ref().map(row_json),
            "recommendation_with_margin": a.recommendation_with_margin.as_ref().map(row_json),
            "load_margin": a.load_margin,
            "baseline": a.baseline.as_ref().map(row_json),
            "comparison": a.comparison,
            "closest": a.closest,
            "top": a.rows.iter().take(10).map(row_json).collect::<Vec<_>>(),
            "pareto": a.pareto,
            "sensitivity": a.sensitivity,
            "agreement": a.agreement,
            "lower_bound": a.lower_bound,
            "candidates": a.candidates,
            "evaluations": a.evaluations,
            "results_format_version": EXPERIMENT_FORMAT_VERSION,
        }),
        Results::PartialTune {
            experiment,
            evaluations,
        } => json!({
            "format_version": SUMMARY_FORMAT_VERSION,
            "kind": "tune",
            "partial": true,
            "experiment": experiment,
            "evaluations": evaluations.len(),
            "cheapest_so_far": partial_rows(evaluations).into_iter().take(10).map(|r| json!({
                "config": r.config,
                "settings": r.values.into_iter().map(|(p, x)| (p, json!(x))).collect::<serde_json::Map<_, _>>(),
                "replications": r.replications,
                "pod_hours": r.pod_hours,
                "p95_ms": r.p95_ms,
            })).collect::<Vec<_>>(),
        }),
        Results::Simulate(o) => json!({
            "format_version": SUMMARY_FORMAT_VERSION,
            "kind": "simulate",
            "partial": false,
            "model": o.model,
            "seed": o.seed,
            "duration_s": o.duration_s,
            "entry": o.entry,
            "slo": o.slo,
            "verdicts": o.verdicts,
            "deployments": o.deployments.iter().map(|d| json!({
                "name": d.name,
                "requests": d.arrived,
                "success_rate": d.success_rate,
                "p95_ms": d.latency_ms.p95,
                "pod_hours": d.pod_hours,
                "scaling_events": d.scaling_events,
                "max_replicas": d.max_replicas,
            })).collect::<Vec<_>>(),
            "total_pod_hours": o.total_pod_hours,
            "total_cost": o.total_cost,
        }),
    }
}

/// What to write besides the page and the summaries.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Also write every chart as PNG (`charts/*.png`).
    pub png: bool,
}

/// Record the lint findings of the current manifests in `dir/lint.json`, for the page, with
/// the structural findings of a run of them when given.
pub fn write_lint(
    dir: &Path,
    set: &crate::manifest::ManifestSet,
    run: Option<&crate::lint::run::RunFindings>,
) -> std::io::Result<PathBuf> {
    let mut findings = crate::lint::lint(set);
    findings.extend(run.iter().flat_map(|r| r.findings.iter().cloned()));
    let v = json!({
        "format_version": page::LINT_FORMAT_VERSION,
        "findings": findings,
        "deciding": run.map(|r| &r.deciding),
    });
    let p = dir.join("lint.json");
    write_atomic(
        &p,
        (serde_json::to_string_pretty(&v).map_err(std::io::Error::other)? + "\n").as_bytes(),
    )?;
    Ok(p)
}

/// The structural findings of the run recorded in `run_dir` (`outcome.json`,
/// `decisions.jsonl`) of model `m`; a run of another model is an error naming both.
pub fn run_findings(
    m: &crate::engine::Model,
    set: &crate::manifest::ManifestSet,
    run_dir: &Path,
    limits: &crate::lint::run::RunLimits,
) -> Result<crate::lint::run::RunFindings, ReportError> {
    let outcome: crate::engine::Outcome = read_json(run_dir, "outcome.json")?;
    if outcome.model != m.name {
        return Err(ReportError::Input {
            dir: run_dir.display().to_string(),
            message: format!(
                "outcome.json: a run of model {}, not of {}: give the model the run simulated",
                outcome.model, m.name
            ),
        });
    }
    let decisions = page::read_decisions(run_dir, "decisions.jsonl")?;
    Ok(crate::lint::run::lint_run(
        m, set, &outcome, &decisions, limits,
    ))
}

/// The data files of a results folder the page links to, in a fixed order.
fn data_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for name in [
        "summary.md",
        "summary.json",
        "analysis.json",
        "configs.csv",
        "configs.parquet",
        "evaluations.csv",
        "evaluations.parquet",
        "checkpoint.jsonl",
        "recommended.diff",
        "manifests/",
        "outcome.json",
        "timeseries.csv",
        "decisions.jsonl",
        "summary.txt",
        "lint.json",
        "timelines/timelines.json",
        "timelines/baseline/timeseries.csv",
        "timelines/baseline/decisions.jsonl",
        "timelines/recommended/timeseries.csv",
        "timelines/recommended/decisions.jsonl",
    ] {
        if dir.join(name.trim_end_matches('/')).exists() {
            out.push(name.to_string());
        }
    }
    out
}

/// Regenerate the page, its charts, `summary.md` and `summary.json` in `dir` from what it
/// holds; returns the files written.
pub fn write(dir: &Path, opts: Options) -> Result<Vec<PathBuf>, ReportError> {
    let r = load(dir)?;
    let werr = |name: &str, e: &dyn std::fmt::Display| ReportError::Io {
        dir: dir.display().to_string(),
        message: format!("{name}: cannot write: {e}"),
    };
    let mut out = Vec::new();
    for (name, text) in [
        ("summary.md", summary_md(&r)),
        (
            "summary.json",
            serde_json::to_string_pretty(&summary_json(&r)).unwrap_or_default() + "\n",
        ),
    ] {
        let p = dir.join(name);
        write_atomic(&p, text.as_bytes()).map_err(|e| werr(name, &e))?;
        out.push(p);
    }
    let (runs, timelines) = page::runs(dir, &r)?;
    let (charts, notes) = page::charts(&r, &runs).map_err(|e| ReportError::Input {
        dir: dir.display().to_string(),
        message: e.message().to_string(),
    })?;
    // Charts of an earlier report must not outlive it.
    let cdir = dir.join("charts");
    let _ = std::fs::remove_dir_all(&cdir);
    for c in &charts {
        let name = format!("charts/{}.svg", c.id);
        let p = dir.join(&name);
        write_atomic(&p, c.svg.as_bytes()).map_err(|e| werr(&name, &e))?;
        out.push(p);
        if opts.png {
            let name = format!("charts/{}.png", c.id);
            let png = charts::to_png(&c.svg).map_err(|e| ReportError::Io {
                dir: dir.display().to_string(),
                message: format!("{name}: {e}"),
            })?;
            let p = dir.join(&name);
            write_atomic(&p, &png).map_err(|e| werr(&name, &e))?;
            out.push(p);
        }
    }
    let page = page::html(
        dir,
        &r,
        &runs,
        timelines.as_ref(),
        &charts,
        &notes,
        &data_files(dir),
    )?;
    let p = dir.join("report.html");
    write_atomic(&p, page.as_bytes()).map_err(|e| werr("report.html", &e))?;
    out.push(p);
    Ok(out)
}
