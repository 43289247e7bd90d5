//! The report page (`report.html`) and its charts (`charts/*.svg`, PNG on request), built from
//! a results folder alone: `analysis.json` and `timelines/` of a sweep, or `outcome.json`,
//! `timeseries.csv` and `decisions.jsonl` of a simulation, plus `lint.json` and
//! `recommended.diff` where present. One self-contained file: inline SVG and CSS, no script,
//! no request leaves the page.

mod lint;
mod moments;

use lint::lint_html;
use moments::moments_html;
pub use moments::{Moment, key_moments};

use super::charts::{self, BASELINE, RECOMMENDED};
use super::{ReportError, Results, partial_rows};
use crate::engine::{DecisionRecord, Outcome, SeriesRow};
use crate::tune::{Analysis, Fidelity, Row, Timelines, short};
use std::fmt::Write as _;
use std::path::Path;

/// Version of `lint.json`.
pub const LINT_FORMAT_VERSION: u32 = 1;

/// One recorded run, read back from its folder.
pub struct Run {
    pub label: String,
    pub outcome: Outcome,
    /// Every deployment's rows.
    pub series: Vec<SeriesRow>,
    pub decisions: Vec<DecisionRecord>,
}

impl Run {
    fn entry_rows(&self) -> Vec<SeriesRow> {
        self.series
            .iter()
            .filter(|s| s.deployment == self.outcome.entry)
            .cloned()
            .collect()
    }

    /// Scaling events of the entry deployment: time, new count, up?
    fn events(&self) -> Vec<(f64, f64, bool)> {
        self.decisions
            .iter()
            .filter(|d| d.changed && d.object == self.outcome.entry)
            .map(|d| (d.t_s, d.desired as f64, d.desired > d.current))
            .collect()
    }
}

fn rerr(dir: &Path, m: String) -> ReportError {
    ReportError::Input {
        dir: dir.display().to_string(),
        message: m,
    }
}

/// Read `timeseries.csv`; a bad line is an error naming the file and line.
pub fn read_series(dir: &Path, name: &str) -> Result<Vec<SeriesRow>, ReportError> {
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| ReportError::Io {
        dir: dir.display().to_string(),
        message: format!("{name}: cannot read: {e}"),
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| rerr(dir, format!("{name}: line {}: {what}: `{line}`", i + 1));
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 10 {
            return Err(bad("expected 10 columns"));
        }
        let n = |k: usize| f[k].parse::<f64>().map_err(|_| bad("not a number"));
        let u = |k: usize| f[k].parse::<u64>().map_err(|_| bad("not a whole number"));
        rows.push(SeriesRow {
            t_s: n(0)?,
            deployment: f[1].to_string(),
            offered_rps: n(2)?,
            desired_replicas: u(3)? as u32,
            current_replicas: u(4)? as u32,
            ready_replicas: u(5)? as u32,
            queue_length: u(6)?,
            utilization: n(7)?,
            p95_ms: n(8)?,
            success_rate: n(9)?,
        });
    }
    Ok(rows)
}

/// Read `decisions.jsonl`; a bad line is an error naming the file and line.
pub fn read_decisions(dir: &Path, name: &str) -> Result<Vec<DecisionRecord>, ReportError> {
    let p = dir.join(name);
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(vec![]);
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| rerr(dir, format!("{name}: line {}: {e}", i + 1)))
        })
        .collect()
}

/// Read a run folder (`outcome.json`, `timeseries.csv`, `decisions.jsonl`).
pub fn read_run(dir: &Path, label: &str) -> Result<Run, ReportError> {
    let outcome: Outcome = super::read_json(dir, "outcome.json")?;
    Ok(Run {
        label: label.to_string(),
        outcome,
        series: read_series(dir, "timeseries.csv")?,
        decisions: read_decisions(dir, "decisions.jsonl")?,
    })
}

/// The runs a results folder holds for the timeline: a sweep's `timelines/` (current
/// settings, recommendation) or a simulation's own run.
pub fn runs(dir: &Path, r: &Results) -> Result<(Vec<Run>, Option<Timelines>), ReportError> {
    match r {
        Results::Simulate(_) if !dir.join("timeseries.csv").exists() => Ok((vec![], None)),
        Results::Simulate(_) => Ok((vec![read_run(dir, "simulated")?], None)),
        Results::Tune(_) => {
            let root = dir.join("timelines");
            if !root.join("timelines.json").exists() {
                return Ok((vec![], None));
            }
            let t: Timelines = super::read_json(&root, "timelines.json")?;
            let mut out = Vec::new();
            for run in &t.runs {
                let label = match run.name.as_str() {
                    "baseline" => "current settings".to_string(),
                    "recommended" => "recommended".to_string(),
                    other => other.to_string(),
                };
                let run_dir = root.join(&run.name);
                // As for a simulation: a run without its time series is left out of the
                // charts, not a reason to refuse the whole report.
                if !run_dir.join("timeseries.csv").exists() {
                    eprintln!(
                        "warning: {}: timeseries.csv is missing: the {label} timeline is left out",
                        run_dir.display()
                    );
                    continue;
                }
                out.push(read_run(&run_dir, &label)?);
            }
            Ok((out, Some(t)))
        }
        Results::PartialTune { .. } => Ok((vec![], None)),
    }
}

/// A chart of the page.
pub struct Chart {
    /// Element id on the page and file name under `charts/`.
    pub id: &'static str,
    pub title: String,
    pub caption: String,
    pub svg: String,
}

fn color_of(label: &str) -> plotters::style::RGBColor {
    if label == "current settings" {
        BASELINE
    } else {
        RECOMMENDED
    }
}

/// Configurations evaluated at full fidelity under the nominal load (not the baseline).
fn full_rows(a: &Analysis) -> Vec<&Row> {
    a.rows
        .iter()
        .filter(|r| {
            !r.baseline && r.fidelity == Fidelity::Engine && r.load == 1.0 && r.error.is_none()
        })
        .collect()
}

/// Every chart the results allow, and notes on the ones they do not.
pub fn charts(r: &Results, runs: &[Run]) -> Result<(Vec<Chart>, Vec<String>), ReportError> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let e = |m: String| rerr(Path::new("charts"), m);
    let slo = runs
        .first()
        .map(|r| r.outcome.slo.p95_ms)
        .unwrap_or(crate::engine::Slo::default().p95_ms);
    if !runs.is_empty() {
        let entry = runs[0].outcome.entry.clone();
        let rows: Vec<Vec<SeriesRow>> = runs.iter().map(|r| r.entry_rows()).collect();
        let tl: Vec<charts::TimelineRun<'_>> = runs
            .iter()
            .zip(&rows)
            .map(|(run, rows)| charts::TimelineRun {
                label: &run.label,
                color: color_of(&run.label),
                series: rows,
                events: run.events(),
            })
            .collect();
        let title = if runs.len() > 1 {
            format!("{entry}: current settings vs recommended")
        } else {
            format!("{entry}: simulated timeline")
        };
        out.push(Chart {
            id: "timeline",
            title: "Timeline".into(),
            caption: format!(
                "Offered load, replicas, p95 latency per window against the SLO and queue length of `{entry}`, {} seed {}.",
                if runs.len() > 1 {
                    "current settings and recommendation on the same arrivals,"
                } else {
                    "one simulated run,"
                },
                runs[0].outcome.seed
            ),
            svg: charts::timeline(&title, &tl, slo).map_err(e)?,
        });
        let cdfs: Vec<(String, Vec<(f64, f64)>)> = runs
            .iter()
            .filter_map(|r| {
                r.outcome
                    .deployment(&r.outcome.entry)
                    .filter(|d| !d.latency_cdf_ms.is_empty())
                    .map(|d| (r.label.clone(), d.latency_cdf_ms.clone()))
            })
            .collect();
        if cdfs.is_empty() {
            notes.push("No latency distribution recorded (an outcome written before the report existed): no CDF.".into());
        } else {
            let curves: Vec<charts::Cdf<'_>> = cdfs
                .iter()
                .map(|(l, p)| charts::Cdf {
                    label: l,
                    color: color_of(l),
                    points: p,
                })
                .collect();
            out.push(Chart {
                id: "latency-cdf",
                title: "Latency distribution".into(),
                caption: format!(
                    "Share of `{entry}` requests answered within a given time (log scale); the dashed line is the SLO's p95 bound."
                ),
                svg: charts::latency_cdf(&curves, slo).map_err(e)?,
            });
        }
        let shares: Vec<charts::ReplicaShare<'_>> = runs
            .iter()
            .zip(&rows)
            .map(|(run, rows)| {
                let mut by: std::collections::BTreeMap<u32, f64> = Default::default();
                for s in rows.iter() {
                    *by.entry(s.ready_replicas).or_default() += 1.0;
                }
                let n = rows.len().max(1) as f64;
                charts::ReplicaShare {
                    label: &run.label,
                    color: color_of(&run.label),
                    shares: by.into_iter().map(|(k, v)| (k, v / n)).collect(),
                }
            })
            .collect();
        out.push(Chart {
            id: "replicas",
            title: "Replica counts".into(),
            caption: format!("Share of the run `{entry}` spent at each number of ready pods."),
            svg: charts::replica_histogram(&shares).map_err(e)?,
        });
    } else if matches!(r, Results::Simulate(_)) {
        notes.push("timeseries.csv is missing from this folder: no timeline, CDF or replica chart (rerun `scaletwin simulate` to write it).".into());
    } else if !matches!(r, Results::PartialTune { .. }) {
        notes.push("No recorded timelines in this folder (rerun `scaletwin tune` with this build to record them): no timeline, CDF or replica chart.".into());
    }
    if let Results::Tune(a) = r {
        let rows = full_rows(a);
        let pts: Vec<charts::ParetoPoint> = rows
            .iter()
            .map(|r| charts::ParetoPoint {
                cost: r.pod_hours.mean,
                attainment: r.window_attainment.mean,
                scaling_events: r.scaling_events,
                on_front: a.pareto.contains(&r.config),
                feasible: r.feasible,
            })
            .collect();
        if pts.is_empty() {
            notes.push("No configuration finished at full fidelity: no Pareto chart.".into());
        } else {
            out.push(Chart {
                id: "pareto",
                title: "Cost against SLO attainment".into(),
                caption:
                    "Each dot is a configuration evaluated at full fidelity (filled: meets the constraints; hollow: does not), coloured by its scaling events; the line joins the Pareto front (no other configuration is cheaper, meets more windows and scales less)."
                    .into(),
                svg: charts::pareto(
                    "pod-hours",
                    &pts,
                    a.baseline
                        .as_ref()
                        .map(|b| (b.pod_hours.mean, b.window_attainment.mean)),
                    a.recommendation
                        .as_ref()
                        .map(|r| (r.pod_hours.mean, r.window_attainment.mean)),
                )
                .map_err(e)?,
            });
        }
        let hm = heatmaps(a, &rows).map_err(e)?;
        if hm.is_empty() {
            notes.push("Fewer than two axes with two or more values: no two-axis heatmap.".into());
        }
        out.extend(hm);
        let sens: Vec<(String, f64, f64)> = a
            .sensitivity
            .iter()
            .map(|s| (short(&s.path), s.cost_share, s.attainment_share))
            .collect();
        if sens.is_empty() {
            notes.push("No sensitivity analysis (fewer than two configurations).".into());
        } else {
            out.push(Chart {
                id: "sensitivity",
                title: "Which settings matter".into(),
                caption: "Share of the variance of cost and of SLO windows met explained by each axis on its own (main effects over the configurations evaluated at full fidelity).".into(),
                svg: charts::sensitivity(&sens).map_err(e)?,
            });
        }
        if !a.convergence.is_empty() {
            let pts: Vec<(f64, f64, bool, Option<f64>)> = a
                .convergence
                .iter()
                .filter_map(|c| Some((c.evaluation as f64, c.cost?, c.feasible, c.best_feasible)))
                .collect();
            let pod_hours = a
                .recommendation
                .as_ref()
                .or(a.rows.first())
                .is_none_or(|r| (r.cost.mean - r.pod_hours.mean).abs() < 1e-9);
            out.push(Chart {
                id: "convergence",
                title: "The optimizer's progress".into(),
                caption: "Each dot is a configuration the engine decided, in the order the optimizer proposed them (first seed; filled: meets the constraints); the line is the cheapest that met them so far.".into(),
                svg: charts::convergence(
                    "cost",
                    &pts,
                    a.baseline.as_ref().map(|b| b.cost.mean),
                    a.lower_bound.as_ref().filter(|_| pod_hours).map(|b| b.pod_hours),
                )
                .map_err(e)?,
            });
        }
    }
    Ok((out, notes))
}

/// The distinct values of an axis in the order they first appear, numerically sorted when
/// they all are numbers.
fn axis_values(rows: &[&Row], k: usize) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in rows {
        if let Some((_, x)) = r.values.get(k)
            && !v.contains(x)
        {
            v.push(x.clone());
        }
    }
    if v.iter().all(|s| s.parse::<f64>().is_ok()) {
        v.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap_or(0.0)
                .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    }
    v
}

/// Heatmaps of cost over pairs of axes (most influential first): each cell the cheapest
/// configuration with those two values, crossed out when none with them meets the SLOs.
fn heatmaps(a: &Analysis, rows: &[&Row]) -> Result<Vec<Chart>, String> {
    let Some(first) = rows.first() else {
        return Ok(vec![]);
    };
    let paths: Vec<String> = first.values.iter().map(|(p, _)| p.clone()).collect();
    let mut order: Vec<usize> = (0..paths.len())
        .filter(|&k| axis_values(rows, k).len() >= 2)
        .collect();
    let share = |k: usize| {
        a.sensitivity
            .iter()
            .find(|s| s.path == paths[k])
            .map(|s| s.cost_share + s.attainment_share)
            .unwrap_or(0.0)
    };
    order.sort_by(|x, y| share(*y).total_cmp(&share(*x)).then(x.cmp(y)));
    let mut pairs = Vec::new();
    for (i, &x) in order.iter().enumerate() {
        for &y in &order[i + 1..] {
            pairs.push((x, y));
        }
    }
    let mut out = Vec::new();
    for (n, (kx, ky)) in pairs.into_iter().take(2).enumerate() {
        let xs = axis_values(rows, kx);
        let ys = axis_values(rows, ky);
        let mut cells: Vec<Vec<charts::Cell>> = vec![vec![None; xs.len()]; ys.len()];
        for r in rows {
            let xi = xs.iter().position(|v| *v == r.values[kx].1);
            let yi = ys.iter().position(|v| *v == r.values[ky].1);
            if let (Some(xi), Some(yi)) = (xi, yi) {
                let c = &mut cells[yi][xi];
                let v = r.pod_hours.mean;
                *c = match *c {
                    None => Some((v, r.feasible)),
                    // The cheapest configuration that meets the SLOs, else the cheapest.
                    Some((w, ok)) => {
                        if (r.feasible && !ok) || (r.feasible == ok && v < w) {
                            Some((v, r.feasible))
                        } else {
                            Some((w, ok))
                        }
                    }
                };
            }
        }
        let (xn, yn) = (short(&paths[kx]), short(&paths[ky]));
        let title = format!("Pod-hours by {xn} × {yn}");
        out.push(Chart {
            id: if n == 0 { "heatmap" } else { "heatmap-2" },
            title: title.clone(),
            caption: format!(
                "Each cell: the cheapest configuration with these two values ({} other axes at their best value); crossed out when no such configuration meets the SLOs; n/a when none was evaluated at full fidelity.",
                paths.len() - 2
            ),
            svg: charts::heatmap(&title, &xn, &xs, &yn, &ys, &cells, "pod-hours")?,
        });
    }
    Ok(out)
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn clock(t: f64) -> String {
    let t = t.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", t / 3600, (t % 3600) / 60, t % 60)
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1000px;padding:1.5rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
#recommendation{font-size:1.1rem;background:#eef5fb;border-left:5px solid #0072B2;padding:.8rem 1rem}
#recommendation.none{background:#fdf1e8;border-left-color:#D55E00}
.partial{background:#fdf1e8;border-left:5px solid #D55E00;padding:.6rem 1rem;font-weight:600}
.pass{color:#00734f;font-weight:700}.fail{color:#b34700;font-weight:700}
table{border-collapse:collapse;font-size:.88rem;margin:.6rem 0}#lint{table-layout:fixed;width:100%}#lint td{overflow-wrap:anywhere}#lint col.w{width:9rem}#lint col.s{width:5rem}#lint col.f{width:15rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}tr.rec td{background:#eef5fb;font-weight:600}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6rem;overflow-x:auto;font-size:.82rem}
pre .add{color:#005a8c;font-weight:600}pre .del{color:#a33c00}
figure{margin:1.2rem 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.88rem;color:#555}
.muted{color:#666;font-size:.9rem}ul.moments li{margin-bottom:.6rem}code{font-size:.85em}";

fn verdict_span(ok: bool) -> &'static str {
    if ok {
        "<span class=\"pass\">PASS</span>"
    } else {
        "<span class=\"fail\">FAIL</span>"
    }
}

/// The headline: the recommendation in one sentence, its savings and SLO verdicts.
fn headline(r: &Results, runs: &[Run]) -> String {
    match r {
        Results::Tune(a) => match &a.recommendation {
            Some(rec) => {
                let set: Vec<String> = rec
                    .values
                    .iter()
                    .map(|(p, v)| format!("<code>{}</code>&nbsp;=&nbsp;{}", esc(&short(p)), esc(v)))
                    .collect();
                let mut s = format!(
                    "<p id=\"recommendation\"><strong>Recommendation:</strong> configuration {}: {}. ",
                    rec.config,
                    set.join(", ")
                );
                if let Some(c) = &a.comparison {
                    let _ = write!(s, "Against the current settings: {}. ", esc(&c.sentence));
                }
                let slo = runs.first().map(|r| r.outcome.slo);
                let _ = write!(
                    s,
                    "SLO verdicts: p95 {:.0} ms (95% CI {:.0}–{:.0}){} {}, success {:.3}% {}, windows met {:.2}% {}",
                    rec.p95_ms.mean,
                    rec.p95_ms.lo,
                    rec.p95_ms.hi,
                    slo.map(|s| format!(" ≤ {} ms", s.p95_ms))
                        .unwrap_or_default(),
                    verdict_span(rec.feasible),
                    rec.success_rate.mean * 100.0,
                    verdict_span(rec.feasible),
                    rec.window_attainment.mean * 100.0,
                    verdict_span(rec.feasible),
                );
                match &a.recommendation_with_margin {
                    Some(m) => {
                        let _ = write!(
                            s,
                            "; with +{:.0}% load: {}.",
                            a.load_margin * 100.0,
                            verdict_span(m.feasible)
                        );
                    }
                    None => s.push('.'),
                }
                if let Some(b) = a.bound_sentence() {
                    let _ = write!(s, " {}", esc(&b));
                }
                s.push_str("</p>");
                s
            }
            None => format!(
                "<p id=\"recommendation\" class=\"none\"><strong>No recommendation:</strong> {}</p>",
                esc(&a.verdict)
            ),
        },
        Results::PartialTune { evaluations, .. } => format!(
            "<p class=\"partial\">PARTIAL: the sweep was interrupted after {} evaluations; there is no recommendation yet. Run the same <code>scaletwin tune</code> into this folder to finish it.</p>",
            evaluations.len()
        ),
        Results::Simulate(o) => format!(
            "<p id=\"recommendation\"><strong>Simulation of {}:</strong> {:.1} h, seed {}, entry <code>{}</code>: p95 ≤ {} ms {}, success ≥ {:.2}% {}, windows met ≥ {:.1}% {}; {:.2} pod-hours.</p>",
            esc(&o.model),
            o.duration_s / 3600.0,
            o.seed,
            esc(&o.entry),
            o.slo.p95_ms,
            verdict_span(o.verdicts.p95),
            o.slo.success_rate * 100.0,
            verdict_span(o.verdicts.success_rate),
            o.slo.window_attainment * 100.0,
            verdict_span(o.verdicts.window_attainment),
            o.total_pod_hours
        ),
    }
}

fn diff_html(diff: &str) -> String {
    let mut s = String::from("<pre id=\"settings-diff\">");
    for line in diff.lines() {
        let class = if line.starts_with('+') && !line.starts_with("+++") {
            "add"
        } else if line.starts_with('-') && !line.starts_with("---") {
            "del"
        } else {
            ""
        };
        if class.is_empty() {
            s.push_str(&esc(line));
        } else {
            let _ = write!(s, "<span class=\"{class}\">{}</span>", esc(line));
        }
        s.push('\n');
    }
    s.push_str("</pre>");
    s
}

fn top_table(r: &Results) -> String {
    match r {
        Results::Tune(a) => {
            let rec = a.recommendation.as_ref().map(|r| r.config);
            let axes: Vec<String> = a
                .rows
                .first()
                .map(|r| r.values.iter().map(|(p, _)| short(p)).collect())
                .unwrap_or_default();
            let mut s = String::from(
                "<table id=\"top-configs\"><tr><th>rank</th><th>config</th><th>pod-hours</th><th>p95 ms (95% CI)</th><th>success</th><th>windows met</th><th>scaling events</th><th>meets SLOs</th>",
            );
            for x in &axes {
                let _ = write!(s, "<th class=\"l\">{}</th>", esc(x));
            }
            s.push_str("</tr>");
            for (i, row) in a.rows.iter().take(10).enumerate() {
                let _ = write!(
                    s,
                    "<tr{}><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.0} ({:.0}–{:.0})</td><td>{:.3}%</td><td>{:.2}%</td><td>{:.0}</td><td>{}</td>",
                    if Some(row.config) == rec {
                        " class=\"rec\""
                    } else {
                        ""
                    },
                    i + 1,
                    row.config,
                    row.pod_hours.mean,
                    row.p95_ms.mean,
                    row.p95_ms.lo,
                    row.p95_ms.hi,
                    row.success_rate.mean * 100.0,
                    row.window_attainment.mean * 100.0,
                    row.scaling_events,
                    if row.feasible { "yes" } else { "no" }
                );
                for (_, v) in &row.values {
                    let _ = write!(s, "<td class=\"l\">{}</td>", esc(v));
                }
                s.push_str("</tr>");
            }
            s.push_str("</table>");
            s
        }
        Results::PartialTune { evaluations, .. } => {
            let mut s = String::from(
                "<table id=\"top-configs\"><tr><th>config</th><th>replications</th><th>pod-hours</th><th>p95 ms</th><th class=\"l\">settings</th></tr>",
            );
            for p in partial_rows(evaluations).into_iter().take(10) {
                let set: Vec<String> = p
                    .values
                    .iter()
                    .map(|(k, v)| format!("{}={v}", short(k)))
                    .collect();
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.0}</td><td class=\"l\">{}</td></tr>",
                    p.config,
                    p.replications,
                    p.pod_hours,
                    p.p95_ms,
                    esc(&set.join(", "))
                );
            }
            s.push_str("</table>");
            s
        }
        Results::Simulate(o) => {
            let mut s = String::from(
                "<table id=\"top-configs\"><tr><th class=\"l\">deployment</th><th>requests</th><th>success</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>pod-hours</th><th>scaling events</th><th>max replicas</th></tr>",
            );
            for d in &o.deployments {
                let _ = write!(
                    s,
                    "<tr><td class=\"l\">{}</td><td>{}</td><td>{:.3}%</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
                    esc(&d.name),
                    d.arrived,
                    d.success_rate * 100.0,
                    d.latency_ms.p50,
                    d.latency_ms.p95,
                    d.latency_ms.p99,
                    d.pod_hours,
                    d.scaling_events,
                    d.max_replicas
                );
            }
            s.push_str("</table>");
            s
        }
    }
}

/// Strip the XML prologue plotters does not write anyway, and give the SVG a label for
/// screen readers.
fn inline_svg(svg: &str, title: &str) -> String {
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(title)),
        1,
    )
}

/// The whole page.
pub fn html(
    dir: &Path,
    r: &Results,
    runs: &[Run],
    timelines: Option<&Timelines>,
    charts: &[Chart],
    notes: &[String],
    files: &[String],
) -> Result<String, ReportError> {
    let name = match r {
        Results::Tune(a) => format!("Tuning report: {}", a.experiment),
        Results::PartialTune { experiment, .. } => {
            format!("Tuning report: {experiment} (PARTIAL)")
        }
        Results::Simulate(o) => format!("Simulation report: {}", o.model),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        esc(&name),
        esc(&name)
    );
    s.push_str(&headline(r, runs));
    s.push('\n');
    if let Results::Tune(a) = r {
        s.push_str("<h2 id=\"diff\">Settings diff</h2>\n");
        match std::fs::read_to_string(dir.join("recommended.diff")) {
            Ok(d) if a.recommendation.is_some() => {
                s.push_str("<p class=\"muted\">The recommended settings patched into the model's own manifests (every other byte kept); the patched files are in <a href=\"manifests/\">manifests/</a>.</p>");
                s.push_str(&diff_html(&d));
            }
            _ => s.push_str("<p class=\"muted\">No recommendation, so no diff.</p>"),
        }
    }
    s.push_str("\n<h2>Lint findings for the current manifests</h2>\n");
    s.push_str(&lint_html(dir)?);
    s.push_str("\n<h2>Why it scaled</h2>\n");
    s.push_str(&moments_html(runs));
    s.push_str("\n<h2>Charts</h2>\n");
    if let Some(t) = timelines {
        let _ = write!(
            s,
            "<p class=\"muted\">Timelines, latency and replica charts: workload <code>{}</code>, seed {}.</p>",
            esc(&t.workload),
            t.seed
        );
    }
    for n in notes {
        let _ = write!(s, "<p class=\"muted\">{}</p>", esc(n));
    }
    for c in charts {
        let _ = write!(
            s,
            "<figure id=\"chart-{}\">\n{}\n<figcaption><strong>{}.</strong> {} <a href=\"charts/{}.svg\">SVG</a></figcaption></figure>\n",
            c.id,
            inline_svg(&c.svg, &c.title),
            esc(&c.title),
            esc(&c.caption),
            c.id
        );
    }
    s.push_str("\n<h2>Top configurations</h2>\n");
    s.push_str(&top_table(r));
    s.push_str("\n<h2>Data files</h2>\n<ul id=\"files\">");
    for f in files {
        let _ = write!(s, "<li><a href=\"{}\">{}</a></li>", esc(f), esc(f));
    }
    s.push_str("</ul>\n<p class=\"muted\">Written by scaletwin report; regenerate with <code>scaletwin report DIR</code>.</p>\n</body></html>\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: f64, rps: f64) -> SeriesRow {
        SeriesRow {
            t_s: t,
            deployment: "web".into(),
            offered_rps: rps,
            ..Default::default()
        }
    }

    fn decision(t: f64, current: i32, desired: i32) -> DecisionRecord {
        DecisionRecord {
            t_s: t,
            object: "web".into(),
            controller: "hpa".into(),
            current,
            desired,
            changed: current != desired,
            reason: format!("t={t}s: scaled {current} -> {desired}"),
            metric: None,
            limit: None,
        }
    }

    fn run(series: Vec<SeriesRow>, decisions: Vec<DecisionRecord>) -> Run {
        Run {
            label: "recommended".into(),
            outcome: Outcome {
                entry: "web".into(),
                ..Default::default()
            },
            series,
            decisions,
        }
    }

    #[test]
    fn key_moments_are_the_rises_in_load_with_the_decisions_after_them() {
        let series: Vec<SeriesRow> = (0..60)
            .map(|i| {
                let t = i as f64 * 60.0;
                // A rise at 10 min (10 -> 40 req/s) and a smaller one at 40 min (10 -> 20).
                let rps = if (10..20).contains(&i) {
                    40.0
                } else if (40..45).contains(&i) {
                    20.0
                } else {
                    10.0
                };
                row(t, rps)
            })
            .collect();
        let decisions = vec![
            decision(630.0, 2, 6),
            decision(645.0, 6, 6), // no change: not a moment's decision
            decision(2430.0, 2, 3),
            decision(3000.0, 3, 2), // long after both rises
        ];
        let ms = key_moments(&run(series, decisions), 4);
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].t_s, 600.0);
        assert_eq!((ms[0].from_rps, ms[0].to_rps), (10.0, 40.0));
        assert_eq!(ms[0].decisions.len(), 1);
        assert_eq!(ms[0].decisions[0].desired, 6);
        assert_eq!(ms[1].t_s, 2400.0);
        assert_eq!(ms[1].decisions[0].desired, 3);
    }

    #[test]
    fn without_rises_the_biggest_scale_ups_are_the_moments() {
        let series: Vec<SeriesRow> = (0..10).map(|i| row(i as f64 * 60.0, 5.0)).collect();
        let ms = key_moments(
            &run(series, vec![decision(60.0, 1, 2), decision(300.0, 2, 5)]),
            1,
        );
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].decisions[0].desired, 5);
        assert!(ms[0].from_rps.is_nan());
    }

    #[test]
    fn a_broken_series_line_is_named() {
        let d = std::env::temp_dir().join(format!("scaletwin-page-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("timeseries.csv"),
            "t_s,deployment,offered_rps,desired_replicas,current_replicas,ready_replicas,queue_length,utilization,p95_ms,success_rate\n60,web,1,1,1,1,0,0.1,5,1\n120,web,x,1,1,1,0,0.1,5,1\n",
        )
        .unwrap();
        let e = read_series(&d, "timeseries.csv").unwrap_err().to_string();
        assert!(e.contains("timeseries.csv: line 3: not a number"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
