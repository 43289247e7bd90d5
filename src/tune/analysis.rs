//! From evaluations to a decision: per-configuration figures with confidence intervals, the
//! constraint check, the ranking, the recommendation against the baseline, the Pareto front,
//! the axes' sensitivity, the agreement between fidelities, and the closest configurations
//! when nothing meets the constraints.

use super::evaluate::{Evaluation, Fidelity, ResolvedWorkload};
pub use super::judge::Stat;
use super::judge::{Check, dep_figure};
use super::{CostMeasure, Experiment, Figures};
use serde::{Deserialize, Serialize};

/// The figures of one configuration (weighted over the workloads, per replication, then
/// averaged) and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub config: usize,
    pub baseline: bool,
    pub fidelity: Fidelity,
    pub load: f64,
    pub values: Vec<(String, String)>,
    pub replications: usize,
    pub p95_ms: Stat,
    pub success_rate: Stat,
    pub window_attainment: Stat,
    pub pod_hours: Stat,
    pub cost: Stat,
    pub scaling_events: f64,
    pub oscillations: f64,
    /// Every constraint met with confidence, in every replication, on the combined figures
    /// and on every must-hold workload.
    pub feasible: bool,
    /// Sum of the relative shortfalls (0 when feasible; infinite, written as null, when an
    /// evaluation failed).
    #[serde(deserialize_with = "infinite_if_null")]
    pub violation: f64,
    /// The constraint furthest from being met.
    pub binding: Option<String>,
    /// An evaluation failed (the message).
    pub error: Option<String>,
    /// Settings that differ from the model's current ones (the last tie-break: of equals,
    /// the smallest change).
    #[serde(default)]
    pub changes: usize,
    /// The other judged deployments' figures (`constraints.deployments`).
    #[serde(default)]
    pub deployments: Vec<DeploymentRow>,
}

/// One judged deployment's figures in a [`Row`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRow {
    pub name: String,
    pub p95_ms: Stat,
    pub success_rate: Stat,
    pub window_attainment: Stat,
}

impl Row {
    /// The objective's cost.
    pub fn objective(&self, x: &Experiment) -> f64 {
        match x.objective.cost {
            CostMeasure::PodHours => self.pod_hours.mean,
            CostMeasure::Money => self.cost.mean,
        }
    }
}

/// Aggregate the evaluations of `configs` (or of the baseline) at one fidelity and load.
/// Configurations without every (workload, seed) evaluation are left out.
#[allow(clippy::too_many_arguments)]
pub fn aggregate(
    evals: &[Evaluation],
    x: &Experiment,
    workloads: &[ResolvedWorkload],
    configs: &[usize],
    baseline: bool,
    fidelity: Fidelity,
    seeds: &[u64],
    load: f64,
) -> Vec<Row> {
    let seeds: Vec<u64> = if fidelity == Fidelity::Fluid {
        vec![0]
    } else {
        seeds.to_vec()
    };
    let want: std::collections::HashSet<usize> = configs.iter().copied().collect();
    let lm = (load * 1000.0).round() as u64;
    let mut by: std::collections::BTreeMap<usize, Vec<&Evaluation>> = Default::default();
    for e in evals {
        if e.baseline == baseline
            && (baseline || want.contains(&e.config))
            && e.fidelity == fidelity
            && (e.load * 1000.0).round() as u64 == lm
            && seeds.contains(&e.seed)
        {
            by.entry(if baseline { 0 } else { e.config })
                .or_default()
                .push(e);
        }
    }
    let wsum: f64 = workloads.iter().map(|w| w.weight).sum();
    let mut rows = Vec::new();
    for (config, v) in by {
        let get = |w: &str, s: u64| v.iter().find(|e| e.workload == w && e.seed == s).copied();
        if workloads
            .iter()
            .any(|w| seeds.iter().any(|s| get(&w.name, *s).is_none()))
        {
            continue;
        }
        let error = v.iter().find_map(|e| e.error.clone());
        // Per replication: the weighted combination over the workloads.
        let comb = |f: &dyn Fn(&Evaluation) -> f64| -> Vec<f64> {
            seeds
                .iter()
                .map(|s| {
                    workloads
                        .iter()
                        .map(|w| w.weight * f(get(&w.name, *s).expect("checked")))
                        .sum::<f64>()
                        / wsum
                })
                .collect()
        };
        let p95 = comb(&|e| e.p95_ms);
        let ok = comb(&|e| e.success_rate);
        let att = comb(&|e| e.window_attainment);
        let conf = x.constraints.confidence;
        let mut check = Check {
            violation: 0.0,
            binding: None,
        };
        check.all(x, "", &comb);
        for w in workloads.iter().filter(|w| w.must_hold) {
            let one = |f: &dyn Fn(&Evaluation) -> f64| -> Vec<f64> {
                seeds
                    .iter()
                    .map(|s| f(get(&w.name, *s).expect("checked")))
                    .collect()
            };
            check.all(x, &w.name, &one);
        }
        let deployments = x
            .judged_deployments()
            .map(|(name, _)| {
                let g = |k: fn(&Figures) -> f64| Stat::of(&comb(&|e| dep_figure(e, name, k)), conf);
                DeploymentRow {
                    name: name.clone(),
                    p95_ms: g(|d| d.p95_ms),
                    success_rate: g(|d| d.success_rate),
                    window_attainment: g(|d| d.window_attainment),
                }
            })
            .collect();
        let first = v[0];
        rows.push(Row {
            config,
            baseline,
            fidelity,
            load,
            values: first.values.clone(),
            replications: seeds.len(),
            p95_ms: Stat::of(&p95, conf),
            success_rate: Stat::of(&ok, conf),
            window_attainment: Stat::of(&att, conf),
            pod_hours: Stat::of(&comb(&|e| e.pod_hours), conf),
            cost: Stat::of(&comb(&|e| e.cost), conf),
            scaling_events: comb(&|e| e.scaling_events as f64).iter().sum::<f64>()
                / seeds.len() as f64,
            oscillations: comb(&|e| e.oscillations as f64).iter().sum::<f64>() / seeds.len() as f64,
            feasible: error.is_none() && check.violation == 0.0,
            violation: if error.is_some() {
                f64::INFINITY
            } else {
                check.violation
            },
            binding: match &error {
                Some(e) => Some(format!("evaluation failed: {e}")),
                None => check.binding.map(|b| b.1),
            },
            error,
            changes: 0,
            deployments,
        });
    }
    rows
}

/// Best first: feasible before infeasible; feasible by cost, then stability (scaling events
/// plus reversals), then p95, then the fewest changed settings; infeasible by how far they
/// miss, then cost.
pub fn ranked<'r>(rows: &'r [Row], x: &Experiment) -> Vec<&'r Row> {
    let mut v: Vec<&Row> = rows.iter().collect();
    v.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                !r.feasible,
                if r.feasible { 0.0 } else { r.violation },
                r.objective(x),
                r.scaling_events + r.oscillations,
                r.p95_ms.mean,
                (r.changes, r.config),
            )
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(ka.3.total_cmp(&kb.3))
            .then(ka.4.total_cmp(&kb.4))
            .then(ka.5.cmp(&kb.5))
    });
    v
}

/// The recommendation compared with the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub pod_hours_change_pct: f64,
    pub cost_change_pct: f64,
    pub p95_from_ms: f64,
    pub p95_to_ms: f64,
    pub fewer_scaling_events: f64,
    pub baseline_feasible: bool,
    pub sentence: String,
}

/// How much an axis moves the cost and the SLO attainment (share of the variance explained
/// by the axis's main effect over the evaluated configurations).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    pub path: String,
    pub cost_share: f64,
    pub attainment_share: f64,
}

/// How well the fluid approximation agreed with the engine on the configurations both ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub configurations: usize,
    /// Spearman rank correlation of the cost.
    pub cost_rank_correlation: f64,
    /// Spearman rank correlation of the p95.
    pub p95_rank_correlation: f64,
    /// Fraction of configurations both fidelities call feasible or both infeasible.
    pub verdict_agreement: f64,
    /// The fluid approximation's own pick (best ranked of all candidates).
    pub fluid_winner: Option<usize>,
    pub engine_winner: Option<usize>,
    pub winner_changed: bool,
}

/// A near miss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Closest {
    pub config: usize,
    pub values: Vec<(String, String)>,
    #[serde(deserialize_with = "infinite_if_null")]
    pub violation: f64,
    pub binding: String,
}

/// Everything a sweep concludes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub format_version: u32,
    pub experiment: String,
    /// Configurations the search started from, and evaluations in the checkpoint.
    pub candidates: usize,
    pub evaluations: usize,
    /// The configurations evaluated at full fidelity, best first.
    pub rows: Vec<Row>,
    pub baseline: Option<Row>,
    pub recommendation: Option<Row>,
    /// The recommendation under 1 + load_margin times the load.
    pub recommendation_with_margin: Option<Row>,
    pub load_margin: f64,
    /// Configurations that met the constraints but not with the extra load.
    pub failed_margin: Vec<usize>,
    pub comparison: Option<Comparison>,
    /// Not dominated in (cost, window attainment, scaling events).
    pub pareto: Vec<usize>,
    pub sensitivity: Vec<Sensitivity>,
    pub agreement: Option<Agreement>,
    pub closest: Vec<Closest>,
    /// One paragraph for people.
    pub verdict: String,
    /// The fewest pod-hours any autoscaler could have used (see [`super::bound`]), weighted
    /// over the workloads as the rows are; `None` for closed loops.
    #[serde(default)]
    pub lower_bound: Option<super::bound::LowerBound>,
    /// Axes none of whose values changed an evaluation ([`super::inert`]).
    #[serde(default)]
    pub unchanged_axes: Vec<String>,
    /// The optimizer's progress: the best feasible cost after each configuration it decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub convergence: Vec<Convergence>,
}

impl Analysis {
    /// The bound's pod-hours over `r`'s (1: as cheap as the bound), when both are known.
    pub fn efficiency(&self, r: &Row) -> Option<f64> {
        let b = self.lower_bound.as_ref()?;
        (r.pod_hours.mean > 0.0).then(|| b.pod_hours / r.pod_hours.mean)
    }

    /// One line: the bound, and the efficiency of the current settings and the recommendation.
    pub fn bound_sentence(&self) -> Option<String> {
        let b = self.lower_bound.as_ref()?;
        let eff = |r: &Option<Row>, what: &str| {
            r.as_ref().and_then(|r| {
                self.efficiency(r).map(|e| {
                    format!(
                        "{what} {:.2} pod-hours ({:.0}% efficient, {:.2}x the bound)",
                        r.pod_hours.mean,
                        e * 100.0,
                        1.0 / e
                    )
                })
            })
        };
        let parts: Vec<String> = [
            eff(&self.baseline, "current"),
            eff(&self.recommendation, "recommended"),
        ]
        .into_iter()
        .flatten()
        .collect();
        Some(format!(
            "Lower bound: {:.2} pod-hours (a clairvoyant policy: per {:.0} s window, the fewest replicas that meet each deployment's SLO at that window's load, started ahead by their start-up time){}{}.",
            b.pod_hours,
            b.window_s,
            if parts.is_empty() { "" } else { "; " },
            parts.join(", ")
        ))
    }
}

pub struct Inputs<'a> {
    pub x: &'a Experiment,
    pub rows: Vec<Row>,
    pub baseline: Option<Row>,
    pub margin_rows: Vec<Row>,
    pub chosen: Option<usize>,
    pub fluid_rows: Vec<Row>,
    pub candidates: usize,
    pub evaluated: usize,
    /// The (axis, value) pairs that are the model's current settings: a sentence about a
    /// configuration of a large space names only the settings it changes.
    pub current: Vec<(String, String)>,
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation (Pearson on average ranks); 1 when either side is constant
/// and the other too, 0 when only one is.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    if n < 2.0 {
        return 1.0;
    }
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    match (va > 0.0, vb > 0.0) {
        (true, true) => cov / (va * vb).sqrt(),
        (false, false) => 1.0,
        _ => 0.0,
    }
}

/// Rows not dominated in (lower cost, higher window attainment, fewer scaling events).
pub fn pareto(rows: &[Row], x: &Experiment) -> Vec<usize> {
    let ok: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let dominated = |a: &Row, b: &Row| {
        let (ca, cb) = (a.objective(x), b.objective(x));
        let (aa, ab) = (a.window_attainment.mean, b.window_attainment.mean);
        let (ea, eb) = (a.scaling_events, b.scaling_events);
        cb <= ca && ab >= aa && eb <= ea && (cb < ca || ab > aa || eb < ea)
    };
    let mut front: Vec<&Row> = ok
        .iter()
        .filter(|a| !ok.iter().any(|b| dominated(a, b)))
        .copied()
        .collect();
    front.sort_by(|a, b| a.objective(x).total_cmp(&b.objective(x)));
    front.iter().map(|r| r.config).collect()
}

/// Main-effect variance shares of each axis over the rows.
pub fn sensitivity(rows: &[Row], x: &Experiment) -> Vec<Sensitivity> {
    let ok: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let share = |axis: usize, f: &dyn Fn(&Row) -> f64| -> f64 {
        let n = ok.len() as f64;
        if n < 2.0 {
            return 0.0;
        }
        let mean = ok.iter().map(|r| f(r)).sum::<f64>() / n;
        let total: f64 = ok.iter().map(|r| (f(r) - mean).powi(2)).sum();
        // Differences at the level of rounding noise are no effect at all.
        if total <= n * (1e-9 * mean.abs().max(1e-9)).powi(2) {
            return 0.0;
        }
        let mut groups: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
        for r in &ok {
            let g = groups.entry(r.values[axis].1.as_str()).or_default();
            g.0 += f(r);
            g.1 += 1.0;
        }
        let between: f64 = groups
            .values()
            .map(|(s, c)| c * (s / c - mean).powi(2))
            .sum();
        between / total
    };
    let mut out: Vec<Sensitivity> = x
        .axes
        .iter()
        .enumerate()
        .map(|(k, a)| Sensitivity {
            path: a.path.clone(),
            cost_share: share(k, &|r| r.objective(x)),
            attainment_share: share(k, &|r| r.window_attainment.mean),
        })
        .collect();
    out.sort_by(|a, b| {
        (b.cost_share + b.attainment_share).total_cmp(&(a.cost_share + a.attainment_share))
    });
    out
}

/// Each judged deployment's p95 and windows met, from `b` to `r` (empty when none).
fn deployments_change(b: &Row, r: &Row) -> String {
    b.deployments
        .iter()
        .filter_map(|d| {
            let n = r.deployments.iter().find(|n| n.name == d.name)?;
            Some(format!(
                "; {} p95 {:.0} -> {:.0} ms, windows met {:.1}% -> {:.1}%",
                d.name,
                d.p95_ms.mean,
                n.p95_ms.mean,
                d.window_attainment.mean * 100.0,
                n.window_attainment.mean * 100.0
            ))
        })
        .collect()
}

fn settings(values: &[(String, String)]) -> String {
    values
        .iter()
        .map(|(p, v)| format!("{}={v}", short(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Beyond this many axes, a sentence names only the settings a configuration changes.
const LISTED_AXES: usize = 8;

/// A configuration's settings for a sentence: every one in a small space; in a large one,
/// those that differ from the model's current settings, each with its object.
fn changed_settings(values: &[(String, String)], current: &[(String, String)]) -> String {
    if values.len() <= LISTED_AXES {
        return settings(values);
    }
    let changed: Vec<String> = values
        .iter()
        .filter(|pv| !current.contains(pv))
        .map(|(p, v)| {
            let object = p
                .strip_prefix("manifest.")
                .and_then(|r| r.split('.').next())
                .map(|o| format!("{o} "))
                .unwrap_or_default();
            format!("{object}{}={v}", short(p))
        })
        .collect();
    if changed.is_empty() {
        "the current settings".into()
    } else {
        format!("changing {}: {}", changed.len(), changed.join(", "))
    }
}

/// The last two parts of a path, enough to recognise it.
pub fn short(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let k = parts.len().saturating_sub(2);
    parts[k..].join(".")
}

/// Draw the conclusions.
pub fn analyse(i: Inputs<'_>) -> Analysis {
    let x = i.x;
    let ordered: Vec<Row> = ranked(&i.rows, x).into_iter().cloned().collect();
    let recommendation = i
        .chosen
        .and_then(|c| ordered.iter().find(|r| r.config == c).cloned());
    let recommendation_with_margin = i
        .chosen
        .and_then(|c| i.margin_rows.iter().find(|r| r.config == c).cloned());
    let failed_margin: Vec<usize> = i
        .margin_rows
        .iter()
        .filter(|r| !r.feasible)
        .map(|r| r.config)
        .collect();
    let comparison = match (&recommendation, &i.baseline) {
        (Some(r), Some(b)) => {
            let pct = |new: f64, old: f64| {
                if old > 0.0 {
                    (new - old) / old * 100.0
                } else {
                    0.0
                }
            };
            let ph = pct(r.pod_hours.mean, b.pod_hours.mean);
            let fewer = b.scaling_events - r.scaling_events;
            Some(Comparison {
                pod_hours_change_pct: ph,
                cost_change_pct: pct(r.cost.mean, b.cost.mean),
                p95_from_ms: b.p95_ms.mean,
                p95_to_ms: r.p95_ms.mean,
                fewer_scaling_events: fewer,
                baseline_feasible: b.feasible,
                sentence: format!(
                    "{}{:.1}% pod-hours, p95 {:.0} -> {:.0} ms, {} scaling events{}{}",
                    if ph <= 0.0 { "−" } else { "+" },
                    ph.abs(),
                    b.p95_ms.mean,
                    r.p95_ms.mean,
                    if fewer >= 0.0 {
                        format!("{fewer:.0} fewer")
                    } else {
                        format!("{:.0} more", -fewer)
                    },
                    deployments_change(b, r),
                    match (&b.feasible, &b.binding) {
                        (false, Some(why)) => format!("; the current settings miss: {why}"),
                        _ => String::new(),
                    }
                ),
            })
        }
        _ => None,
    };
    let agreement = if i.fluid_rows.is_empty() {
        None
    } else {
        let common: Vec<(&Row, &Row)> = i
            .rows
            .iter()
            .filter_map(|e| {
                i.fluid_rows
                    .iter()
                    .find(|f| f.config == e.config)
                    .map(|f| (f, e))
            })
            .collect();
        let pick = |f: &dyn Fn(&Row) -> f64, side: usize| -> Vec<f64> {
            common
                .iter()
                .map(|(a, b)| f(if side == 0 { a } else { b }))
                .collect()
        };
        let fluid_winner = ranked(&i.fluid_rows, x)
            .first()
            .filter(|r| r.feasible)
            .map(|r| r.config);
        Some(Agreement {
            configurations: common.len(),
            cost_rank_correlation: spearman(
                &pick(&|r| r.objective(x), 0),
                &pick(&|r| r.objective(x), 1),
            ),
            p95_rank_correlation: spearman(
                &pick(&|r| r.p95_ms.mean, 0),
                &pick(&|r| r.p95_ms.mean, 1),
            ),
            verdict_agreement: if common.is_empty() {
                1.0
            } else {
                common
                    .iter()
                    .filter(|(a, b)| a.feasible == b.feasible)
                    .count() as f64
                    / common.len() as f64
            },
            fluid_winner,
            engine_winner: i.chosen,
            winner_changed: fluid_winner != i.chosen,
        })
    };
    let feasible = ordered.iter().filter(|r| r.feasible).count();
    let near = |r: &Row, binding: String| Closest {
        config: r.config,
        values: r.values.clone(),
        violation: r.violation,
        binding,
    };
    // Near misses: with a recommendation none; when some met the constraints but not with
    // the extra load, those extra-load checks; else the least infeasible configurations.
    let closest: Vec<Closest> = if recommendation.is_some() {
        vec![]
    } else if feasible > 0 {
        i.margin_rows
            .iter()
            .take(5)
            .map(|r| {
                let b = r.binding.clone().unwrap_or_default();
                near(r, format!("with +{:.0}% load: {b}", x.load_margin * 100.0))
            })
            .collect()
    } else {
        ranked(&i.rows, x)
            .into_iter()
            .filter(|r| !r.feasible)
            .take(5)
            .map(|r| near(r, r.binding.clone().unwrap_or_default()))
            .collect()
    };
    let verdict = match (&recommendation, &comparison) {
        (Some(r), Some(c)) => format!(
            "Recommended: configuration {} ({}): {:.2} pod-hours, p95 {:.0} ms ({:.0}% CI {:.0}–{:.0}), success {:.3}%, windows met {:.2}%{}; against the current settings: {}.",
            r.config,
            changed_settings(&r.values, &i.current),
            r.pod_hours.mean,
            r.p95_ms.mean,
            x.constraints.confidence * 100.0,
            r.p95_ms.lo,
            r.p95_ms.hi,
            r.success_rate.mean * 100.0,
            r.window_attainment.mean * 100.0,
            if x.load_margin > 0.0 {
                format!(
                    ", still meeting every constraint with +{:.0}% load",
                    x.load_margin * 100.0
                )
            } else {
                String::new()
            },
            c.sentence
        ),
        (Some(r), None) => format!(
            "Recommended: configuration {} ({}): {:.2} pod-hours, p95 {:.0} ms.",
            r.config,
            settings(&r.values),
            r.pod_hours.mean,
            r.p95_ms.mean
        ),
        (None, _) if feasible > 0 => format!(
            "No recommendation: {feasible} configurations meet the constraints at the nominal load, but none of the {} cheapest still meets them with +{:.0}% load (closest misses below).",
            i.margin_rows.len(),
            x.load_margin * 100.0
        ),
        (None, _) => match closest.first() {
            Some(c) => format!(
                "No configuration meets every constraint. The closest is configuration {} ({}); the binding constraint: {}.",
                c.config,
                changed_settings(&c.values, &i.current),
                c.binding
            ),
            None => "No configuration was evaluated.".into(),
        },
    };
    Analysis {
        format_version: super::EXPERIMENT_FORMAT_VERSION,
        experiment: x.name.clone(),
        candidates: i.candidates,
        evaluations: i.evaluated,
        pareto: pareto(&ordered, x),
        sensitivity: sensitivity(&ordered, x),
        rows: ordered,
        baseline: i.baseline,
        recommendation,
        recommendation_with_margin,
        load_margin: x.load_margin,
        failed_margin,
        comparison,
        agreement,
        closest,
        verdict,
        lower_bound: None,
        unchanged_axes: Vec::new(),
        convergence: Vec::new(),
    }
}

/// A shortfall read back from JSON, which writes an infinite one as null.
fn infinite_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// One configuration the engine decided, in the order the optimizer decided them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// 1-based: the n-th configuration decided.
    pub evaluation: usize,
    pub config: usize,
    /// Its objective (mean over the seeds; none when its evaluations failed).
    pub cost: Option<f64>,
    pub feasible: bool,
    /// The cheapest feasible objective among the first `evaluation` (None: none yet).
    pub best_feasible: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_intervals_use_student_t() {
        let s = Stat::of(&[1.0, 2.0, 3.0], 0.95);
        // t(0.975, 2) = 4.3027; sd = 1; half-width = 4.3027 / sqrt(3).
        assert!(
            (s.hi - 2.0 - 4.302_652_7 / 3f64.sqrt()).abs() < 1e-5,
            "{s:?}"
        );
        assert_eq!(Stat::of(&[5.0], 0.95).lo, 5.0);
    }

    #[test]
    fn spearman_ranks() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }
}
