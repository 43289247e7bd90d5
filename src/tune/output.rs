//! What a sweep leaves in its results folder: the evaluations and per-configuration tables
//! (CSV, and Parquet with `format_version` in the file's metadata), `analysis.json`, and the
//! recommended settings written into the model's own manifests with a diff.

use super::analysis::{Analysis, Row};
use super::evaluate::Evaluation;
use super::{EXPERIMENT_FORMAT_VERSION, Experiment, TuneError};
use crate::io::write_atomic;
use crate::scenario::ModelSources;
use std::path::{Path, PathBuf};

/// A column of a results table.
#[derive(Clone, Debug, PartialEq)]
pub enum Col {
    F64(Vec<f64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

/// A small column table, written as CSV or Parquet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub names: Vec<String>,
    pub cols: Vec<Col>,
}

impl Table {
    fn push(&mut self, name: &str, c: Col) {
        self.names.push(name.to_string());
        self.cols.push(c);
    }

    pub fn rows(&self) -> usize {
        match self.cols.first() {
            Some(Col::F64(v)) => v.len(),
            Some(Col::U64(v)) => v.len(),
            Some(Col::Bool(v)) => v.len(),
            Some(Col::Str(v)) => v.len(),
            None => 0,
        }
    }

    /// CSV with a header; strings quoted when they need it; floats as Rust prints them
    /// (shortest round-trip form).
    pub fn to_csv(&self) -> String {
        let q = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = self
            .names
            .iter()
            .map(|n| q(n))
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for i in 0..self.rows() {
            let cells: Vec<String> = self
                .cols
                .iter()
                .map(|c| match c {
                    Col::F64(v) => {
                        if v[i].is_finite() {
                            format!("{}", v[i])
                        } else {
                            String::new()
                        }
                    }
                    Col::U64(v) => v[i].to_string(),
                    Col::Bool(v) => v[i].to_string(),
                    Col::Str(v) => q(&v[i]),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Write as Parquet (atomically), with `format_version` in the key-value metadata.
    pub fn write_parquet(&self, path: &Path) -> Result<(), crate::io::WriteError> {
        use crate::io::ParquetColumn as P;
        let columns: Vec<(&str, P)> = self
            .names
            .iter()
            .zip(&self.cols)
            .map(|(n, c)| {
                let col = match c {
                    Col::F64(v) => P::F64(v),
                    Col::U64(v) => P::U64(v),
                    Col::Bool(v) => P::Bool(v),
                    Col::Str(v) => P::Str(v),
                };
                (n.as_str(), col)
            })
            .collect();
        crate::io::write_parquet(
            path,
            &columns,
            &[("format_version", EXPERIMENT_FORMAT_VERSION.to_string())],
        )
    }
}

fn axis_columns(t: &mut Table, x: &Experiment, values: &[&[(String, String)]]) {
    for (k, a) in x.axes.iter().enumerate() {
        t.push(
            &a.path,
            Col::Str(
                values
                    .iter()
                    .map(|v| v.get(k).map(|p| p.1.clone()).unwrap_or_default())
                    .collect(),
            ),
        );
    }
}

/// One row per evaluation.
pub fn evaluations_table(evals: &[Evaluation], x: &Experiment) -> Table {
    let mut t = Table::default();
    let f = |g: &dyn Fn(&Evaluation) -> f64| Col::F64(evals.iter().map(g).collect());
    let u = |g: &dyn Fn(&Evaluation) -> u64| Col::U64(evals.iter().map(g).collect());
    t.push("format_version", u(&|_| EXPERIMENT_FORMAT_VERSION as u64));
    t.push("config", u(&|e| e.config as u64));
    t.push(
        "baseline",
        Col::Bool(evals.iter().map(|e| e.baseline).collect()),
    );
    t.push(
        "workload",
        Col::Str(evals.iter().map(|e| e.workload.clone()).collect()),
    );
    t.push("seed", u(&|e| e.seed));
    t.push(
        "fidelity",
        Col::Str(
            evals
                .iter()
                .map(|e| format!("{:?}", e.fidelity).to_lowercase())
                .collect(),
        ),
    );
    t.push("load", f(&|e| e.load));
    let vals: Vec<&[(String, String)]> = evals.iter().map(|e| &e.values[..]).collect();
    axis_columns(&mut t, x, &vals);
    t.push("p95_ms", f(&|e| e.p95_ms));
    t.push("success_rate", f(&|e| e.success_rate));
    t.push("window_attainment", f(&|e| e.window_attainment));
    for (name, _) in x.judged_deployments() {
        let g = |k: fn(&super::Figures) -> f64| {
            Col::F64(
                evals
                    .iter()
                    .map(|e| {
                        e.deployments
                            .iter()
                            .find(|d| &d.name == name)
                            .map_or(f64::NAN, k)
                    })
                    .collect(),
            )
        };
        t.push(&format!("{name}.p95_ms"), g(|d| d.p95_ms));
        t.push(&format!("{name}.success_rate"), g(|d| d.success_rate));
        t.push(
            &format!("{name}.window_attainment"),
            g(|d| d.window_attainment),
        );
        if evals
            .iter()
            .flat_map(|e| &e.deployments)
            .any(|d| &d.name == name && d.queue_wait_p95_ms.is_some())
        {
            t.push(
                &format!("{name}.queue_wait_p95_ms"),
                g(|d| d.queue_wait_p95_ms.unwrap_or(f64::NAN)),
            );
        }
    }
    if evals.iter().any(|e| e.end_to_end_p95_ms.is_some()) {
        t.push(
            "end_to_end_p95_ms",
            f(&|e| e.end_to_end_p95_ms.unwrap_or(f64::NAN)),
        );
    }
    t.push("pod_hours", f(&|e| e.pod_hours));
    t.push("cost", f(&|e| e.cost));
    t.push("scaling_events", u(&|e| e.scaling_events as u64));
    t.push("oscillations", u(&|e| e.oscillations as u64));
    t.push(
        "error",
        Col::Str(
            evals
                .iter()
                .map(|e| e.error.clone().unwrap_or_default())
                .collect(),
        ),
    );
    t
}

/// One row per configuration (full fidelity, nominal load, best first), then the baseline,
/// then the extra-load checks.
pub fn configs_table(a: &Analysis, x: &Experiment) -> Table {
    let mut rows: Vec<&Row> = a.rows.iter().collect();
    rows.extend(a.baseline.iter());
    rows.extend(a.recommendation_with_margin.iter());
    let mut t = Table::default();
    let f = |g: &dyn Fn(&Row) -> f64| Col::F64(rows.iter().map(|r| g(r)).collect());
    t.push(
        "format_version",
        Col::U64(vec![EXPERIMENT_FORMAT_VERSION as u64; rows.len()]),
    );
    t.push(
        "rank",
        Col::U64(
            rows.iter()
                .enumerate()
                .map(|(i, r)| {
                    if r.baseline || r.load != 1.0 {
                        0
                    } else {
                        i as u64 + 1
                    }
                })
                .collect(),
        ),
    );
    t.push(
        "config",
        Col::U64(rows.iter().map(|r| r.config as u64).collect()),
    );
    t.push(
        "baseline",
        Col::Bool(rows.iter().map(|r| r.baseline).collect()),
    );
    t.push("load", f(&|r| r.load));
    let vals: Vec<&[(String, String)]> = rows.iter().map(|r| &r.values[..]).collect();
    axis_columns(&mut t, x, &vals);
    t.push(
        "replications",
        Col::U64(rows.iter().map(|r| r.replications as u64).collect()),
    );
    for (name, g) in [
        (
            "p95_ms",
            (|r: &Row| r.p95_ms) as fn(&Row) -> super::analysis::Stat,
        ),
        ("success_rate", |r: &Row| r.success_rate),
        ("window_attainment", |r: &Row| r.window_attainment),
        ("pod_hours", |r: &Row| r.pod_hours),
        ("cost", |r: &Row| r.cost),
    ] {
        t.push(name, f(&|r| g(r).mean));
        t.push(&format!("{name}_ci_lo"), f(&|r| g(r).lo));
        t.push(&format!("{name}_ci_hi"), f(&|r| g(r).hi));
    }
    for (name, _) in x.judged_deployments() {
        let g = |k: fn(&super::analysis::DeploymentRow) -> f64| {
            f(&|r| {
                r.deployments
                    .iter()
                    .find(|d| &d.name == name)
                    .map_or(f64::NAN, k)
            })
        };
        t.push(&format!("{name}.p95_ms"), g(|d| d.p95_ms.mean));
        t.push(&format!("{name}.success_rate"), g(|d| d.success_rate.mean));
        t.push(
            &format!("{name}.window_attainment"),
            g(|d| d.window_attainment.mean),
        );
    }
    t.push("scaling_events", f(&|r| r.scaling_events));
    t.push("oscillations", f(&|r| r.oscillations));
    t.push(
        "feasible",
        Col::Bool(rows.iter().map(|r| r.feasible).collect()),
    );
    t.push("violation", f(&|r| r.violation));
    t.push(
        "binding",
        Col::Str(
            rows.iter()
                .map(|r| r.binding.clone().unwrap_or_default())
                .collect(),
        ),
    );
    t
}

/// Write a table as `<stem>.csv` and `<stem>.parquet`.
pub fn write_table(dir: &Path, stem: &str, t: &Table) -> Result<Vec<PathBuf>, TuneError> {
    let err = |p: &Path, m: String| TuneError::io(p, m);
    let csv = dir.join(format!("{stem}.csv"));
    write_atomic(&csv, t.to_csv().as_bytes()).map_err(|e| err(&csv, e.to_string()))?;
    let pq = dir.join(format!("{stem}.parquet"));
    t.write_parquet(&pq).map_err(|e| err(&pq, e.to_string()))?;
    Ok(vec![csv, pq])
}

/// The recommended settings in the model's own files: every manifest (and service.yaml)
/// the settings change, written to `dir/manifests/`, and one unified diff.
pub fn write_patched(
    base: &ModelSources,
    values: &[(String, String)],
    dir: &Path,
) -> Result<Vec<PathBuf>, TuneError> {
    let err = |p: &Path, m: String| TuneError::io(p, m);
    let mut patched = base.clone();
    patched
        .apply_overrides(values)
        .map_err(|e| TuneError::Input {
            file: dir.display().to_string(),
            field: "(recommendation)".into(),
            message: e.to_string(),
        })?;
    let mdir = dir.join("manifests");
    std::fs::create_dir_all(&mdir).map_err(|e| err(&mdir, e.to_string()))?;
    let mut diff = String::new();
    let mut written = Vec::new();
    let pairs = std::iter::once((&base.service, &patched.service))
        .chain(base.manifests.iter().zip(patched.manifests.iter()));
    for ((path, old), (_, new)) in pairs {
        if old == new {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "manifest.yaml".into());
        let shown = path.display().to_string();
        diff.push_str(&crate::manifest::unified_diff(&shown, &shown, old, new));
        let out = mdir.join(&name);
        write_atomic(&out, new.as_bytes()).map_err(|e| err(&out, e.to_string()))?;
        written.push(out);
    }
    let d = dir.join("recommended.diff");
    write_atomic(&d, diff.as_bytes()).map_err(|e| err(&d, e.to_string()))?;
    written.push(d);
    Ok(written)
}

/// Write the tables, `analysis.json` and (with a recommendation) the patched manifests.
pub fn write_all(
    dir: &Path,
    x: &Experiment,
    base: &ModelSources,
    evals: &[Evaluation],
    a: &Analysis,
) -> Result<Vec<PathBuf>, TuneError> {
    let mut out = write_table(dir, "evaluations", &evaluations_table(evals, x))?;
    out.extend(write_table(dir, "configs", &configs_table(a, x))?);
    let j = dir.join("analysis.json");
    let text = serde_json::to_string_pretty(a).unwrap_or_default() + "\n";
    write_atomic(&j, text.as_bytes()).map_err(|e| TuneError::io(&j, e))?;
    out.push(j);
    // Settings of an earlier run's recommendation must not outlive it.
    let _ = std::fs::remove_dir_all(dir.join("manifests"));
    let _ = std::fs::remove_file(dir.join("recommended.diff"));
    if let Some(r) = &a.recommendation {
        out.extend(write_patched(base, &r.values, dir)?);
    }
    Ok(out)
}

/// The analysis as `tune` prints it: the ranked table (fifteen best, then the baseline), the
/// verdict and recommended values, the closest configurations, the Pareto front, the
/// sensitivity and the fidelities' agreement.
pub fn analysis_text(x: &Experiment, a: &Analysis) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut head = format!(
        "{:>4}  {:>6}  {:>10}  {:>16}  {:>8}  {:>8}  {:>6}  {:>8}",
        "rank", "config", "pod-hours", "p95 ms (95% CI)", "success", "windows", "events", "meets"
    );
    for ax in &x.axes {
        head.push_str(&format!("  {}", super::short(&ax.path)));
    }
    let _ = writeln!(out, "{head}");
    let line = |out: &mut String, rank: String, r: &Row| {
        let mut l = format!(
            "{rank:>4}  {:>6}  {:>10.2}  {:>16}  {:>7.3}%  {:>7.2}%  {:>6.0}  {:>8}",
            if r.baseline {
                "base".to_string()
            } else {
                r.config.to_string()
            },
            r.pod_hours.mean,
            format!(
                "{:.0} ({:.0}-{:.0})",
                r.p95_ms.mean, r.p95_ms.lo, r.p95_ms.hi
            ),
            r.success_rate.mean * 100.0,
            r.window_attainment.mean * 100.0,
            r.scaling_events,
            if r.feasible { "yes" } else { "no" },
        );
        for (_, v) in &r.values {
            l.push_str(&format!("  {v}"));
        }
        let _ = writeln!(out, "{l}");
    };
    let shown = 15;
    for (i, r) in a.rows.iter().take(shown).enumerate() {
        line(&mut out, (i + 1).to_string(), r);
    }
    if a.rows.len() > shown {
        let _ = writeln!(out, "  … {} more in configs.csv", a.rows.len() - shown);
    }
    if let Some(b) = &a.baseline {
        line(&mut out, "-".into(), b);
    }
    let _ = writeln!(out, "\n{}", a.verdict);
    if let Some(b) = a.bound_sentence() {
        let _ = writeln!(out, "{b}");
    }
    for p in &a.unchanged_axes {
        let _ = writeln!(
            out,
            "warning: axis {p}: none of its values changed an evaluation (every pair differing in it alone gave the same figures); drop it, or address the field it was meant to change"
        );
    }
    if let Some(r) = &a.recommendation {
        for (p, v) in &r.values {
            let _ = writeln!(out, "  {p} = {v}");
        }
    }
    for c in &a.closest {
        let _ = writeln!(
            out,
            "  closest: configuration {} misses by {:.1}%: {}",
            c.config,
            c.violation * 100.0,
            c.binding
        );
    }
    if !a.pareto.is_empty() {
        let shown: Vec<String> = a.pareto.iter().take(12).map(|c| c.to_string()).collect();
        let _ = writeln!(
            out,
            "Pareto front (cost, windows met, scaling events), cheapest first: configurations {}{}",
            shown.join(", "),
            if a.pareto.len() > shown.len() {
                format!(" and {} more (analysis.json)", a.pareto.len() - shown.len())
            } else {
                String::new()
            }
        );
    }
    if !a.sensitivity.is_empty() {
        let _ = writeln!(
            out,
            "Sensitivity (share of variance explained: cost / windows met):"
        );
        for s in &a.sensitivity {
            let _ = writeln!(
                out,
                "  {:>5.1}% / {:>5.1}%  {}",
                s.cost_share * 100.0,
                s.attainment_share * 100.0,
                s.path
            );
        }
    }
    if let Some(g) = &a.agreement {
        let _ = writeln!(
            out,
            "Fluid vs engine on {} configurations: rank correlation cost {:.2}, p95 {:.2}; verdicts agree {:.0}%; winner {}",
            g.configurations,
            g.cost_rank_correlation,
            g.p95_rank_correlation,
            g.verdict_agreement * 100.0,
            if g.winner_changed {
                format!(
                    "changed ({} by the fluid approximation, {} by the engine)",
                    g.fluid_winner.map_or("none".into(), |c| c.to_string()),
                    g.engine_winner.map_or("none".into(), |c| c.to_string())
                )
            } else {
                "unchanged".into()
            }
        );
    }
    out
}
