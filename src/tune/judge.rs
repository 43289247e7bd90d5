//! Which deployments a sweep judges, and by which bounds: the entry by the experiment's
//! top-level constraints, every other deployment with an SLO in the model by its own p95 SLO
//! and the top-level success rate and window attainment, unless the experiment says otherwise
//! under `constraints.deployments`.

use super::evaluate::Evaluation;
use super::{Experiment, TuneError};
use crate::scenario::ModelSources;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The bounds one deployment other than the entry is judged by. A bound left out is taken
/// from the model (its `slo_p95_ms`) or from the top-level constraints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// p95 of the time from a request's (or a job's enqueueing's) arrival to its completion,
    /// ms: over the run, and in each window (a consumer's jobs wait in the queue first).
    #[serde(default)]
    pub p95_ms: Option<f64>,
    #[serde(default)]
    pub success_rate: Option<f64>,
    #[serde(default)]
    pub window_attainment: Option<f64>,
    /// A consumer's p95 wait in its queue (from a job's enqueueing to the start of its
    /// service), ms, over the run. Judged on the engine's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_wait_p95_ms: Option<f64>,
    /// `false`: the deployment is not judged at all (its SLO in the model is ignored).
    #[serde(default = "yes")]
    pub judge: bool,
}

fn yes() -> bool {
    true
}

/// A p95 bound must be > 0, a success rate or window attainment a fraction: the field that
/// is not, and why.
pub(super) fn check_bounds(
    p95_ms: Option<f64>,
    success_rate: Option<f64>,
    window_attainment: Option<f64>,
) -> Result<(), (&'static str, String)> {
    for (k, v) in [
        ("success_rate", success_rate),
        ("window_attainment", window_attainment),
    ] {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Err((k, format!("a fraction between 0 and 1 (found {v})")));
        }
    }
    match p95_ms {
        Some(p) if !(p.is_finite() && p > 0.0) => {
            Err(("p95_ms", format!("must be > 0 (found {p})")))
        }
        _ => Ok(()),
    }
}

/// The figures of one judged deployment in one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub name: String,
    pub p95_ms: f64,
    pub success_rate: f64,
    pub window_attainment: f64,
    /// A consumer's p95 wait in its queue, ms (the engine's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_wait_p95_ms: Option<f64>,
}

impl super::Constraints {
    /// The top-level bounds, the entry deployment's.
    pub fn entry_bounds(&self) -> Bounds {
        Bounds {
            p95_ms: self.p95_ms,
            success_rate: self.success_rate,
            window_attainment: self.window_attainment,
            queue_wait_p95_ms: None,
            judge: true,
        }
    }
}

impl Experiment {
    /// The deployments other than the entry that this experiment judges, with their bounds
    /// (after [`Experiment::judged`]).
    pub fn judged_deployments(&self) -> impl Iterator<Item = (&String, &Bounds)> {
        self.constraints.deployments.iter().filter(|(_, b)| b.judge)
    }

    /// The experiment with `constraints.deployments` completed from `base`: every deployment
    /// with an SLO in the model is judged unless it is listed with `judge: false`; a listed
    /// deployment's missing bounds come from the model and the top-level constraints. A name
    /// that is not a deployment, the entry, a bound out of range or a deployment with no bound
    /// at all is an error naming the field. Idempotent.
    pub fn judged(mut self, base: &ModelSources) -> Result<Experiment, TuneError> {
        let e = |field: String, message: String| TuneError::Input {
            file: self.source.clone(),
            field,
            message,
        };
        let loaded = base.load().map_err(|m| TuneError::Input {
            file: self.source.clone(),
            field: "model".into(),
            message: m.to_string(),
        })?;
        let m = &loaded.model;
        let simulated =
            |name: &str| self.deployments.is_empty() || self.deployments.iter().any(|d| d == name);
        let names: Vec<&str> = m.deployments.iter().map(|d| d.name.as_str()).collect();
        let entry = m.deployments[m.entry].name.clone();
        let top = self.constraints.clone();
        for (name, b) in &top.deployments {
            let field = format!("constraints.deployments.{name}");
            if *name == entry {
                return Err(e(
                    field,
                    format!(
                        "{name} is the entry deployment, judged by the top-level bounds (constraints.p95_ms, success_rate, window_attainment); set them there"
                    ),
                ));
            }
            if !names.contains(&name.as_str()) {
                return Err(e(
                    field,
                    format!(
                        "{name} is not a deployment of the model (deployments: {})",
                        names.join(", ")
                    ),
                ));
            }
            if b.judge && !simulated(name) {
                return Err(e(
                    field,
                    format!(
                        "{name} is not among the simulated deployments (`deployments:`); add it there or set judge: false"
                    ),
                ));
            }
            check_bounds(b.p95_ms, b.success_rate, b.window_attainment)
                .map_err(|(k, m)| e(format!("{field}.{k}"), m))?;
        }
        for d in &m.deployments {
            if d.name == entry || !simulated(&d.name) {
                continue;
            }
            let listed = top.deployments.get(&d.name);
            // Listed: as it says; not listed: judged when the model gives it an SLO.
            let judge = listed.map_or(d.slo_p95_ms.is_some(), |b| b.judge);
            if !judge {
                continue;
            }
            let b = listed.cloned().unwrap_or(Bounds {
                p95_ms: None,
                success_rate: None,
                window_attainment: None,
                queue_wait_p95_ms: None,
                judge: true,
            });
            let filled = Bounds {
                p95_ms: b.p95_ms.or(d.slo_p95_ms),
                success_rate: b.success_rate.or(top.success_rate),
                window_attainment: b.window_attainment.or(top.window_attainment),
                queue_wait_p95_ms: b.queue_wait_p95_ms,
                judge: true,
            };
            if let Some(w) = filled.queue_wait_p95_ms {
                if d.consumes.is_empty() {
                    return Err(e(
                        format!("constraints.deployments.{}.queue_wait_p95_ms", d.name),
                        format!(
                            "{} consumes no queue, so its requests never wait in one: bound its p95_ms instead",
                            d.name
                        ),
                    ));
                }
                if !(w.is_finite() && w > 0.0) {
                    return Err(e(
                        format!("constraints.deployments.{}.queue_wait_p95_ms", d.name),
                        format!("must be > 0 (found {w})"),
                    ));
                }
            }
            if filled.p95_ms.is_none()
                && filled.success_rate.is_none()
                && filled.window_attainment.is_none()
                && filled.queue_wait_p95_ms.is_none()
            {
                return Err(e(
                    format!("constraints.deployments.{}", d.name),
                    format!(
                        "{} has no SLO in the model and no bound here: give p95_ms, success_rate or window_attainment, or set judge: false",
                        d.name
                    ),
                ));
            }
            self.constraints.deployments.insert(d.name.clone(), filled);
        }
        Ok(self)
    }
}

/// A configuration's shortfalls against the constraints: their sum (the violation) and the
/// largest (the binding constraint).
pub(super) struct Check {
    pub(super) violation: f64,
    pub(super) binding: Option<(f64, String)>,
}

impl Check {
    fn shortfall(&mut self, amount: f64, what: String) {
        if amount > 0.0 {
            self.violation += amount;
            if self.binding.as_ref().is_none_or(|(a, _)| amount > *a) {
                self.binding = Some((amount, what));
            }
        }
    }

    /// Check one deployment's figures against `b` (`who`: "" for the entry, else the
    /// deployment's name; `label`: "" for the combined figures, else the workload).
    #[allow(clippy::too_many_arguments)]
    fn figures(
        &mut self,
        conf: f64,
        b: &Bounds,
        who: &str,
        label: &str,
        p95: &[f64],
        ok: &[f64],
        att: &[f64],
    ) {
        let at = if label.is_empty() {
            String::new()
        } else {
            format!(" under {label}")
        };
        let who = if who.is_empty() {
            String::new()
        } else {
            format!("{who} ")
        };
        if let Some(b) = b.p95_ms {
            let s = Stat::of(p95, conf);
            let worst = s.hi.max(p95.iter().copied().fold(f64::MIN, f64::max));
            self.shortfall(
                (worst - b) / b,
                format!(
                    "{who}p95 <= {b} ms{at} (upper {:.0}% bound {worst:.0} ms)",
                    conf * 100.0
                ),
            );
        }
        if let Some(b) = b.success_rate {
            let s = Stat::of(ok, conf);
            let worst = s.lo.min(ok.iter().copied().fold(f64::MAX, f64::min));
            self.shortfall(
                (b - worst) / b.max(1e-9),
                format!(
                    "{who}success rate >= {:.2}%{at} (lower bound {:.3}%)",
                    b * 100.0,
                    worst * 100.0
                ),
            );
        }
        if let Some(b) = b.window_attainment {
            let s = Stat::of(att, conf);
            let worst = s.lo.min(att.iter().copied().fold(f64::MAX, f64::min));
            self.shortfall(
                (b - worst) / b.max(1e-9),
                format!(
                    "{who}SLO met in >= {:.1}% of windows{at} (lower bound {:.2}%)",
                    b * 100.0,
                    worst * 100.0
                ),
            );
        }
    }

    /// Check the entry and every judged deployment under `f` (a replication's evaluation
    /// to its figures).
    pub(super) fn all(&mut self, x: &Experiment, label: &str, f: &Replications<'_>) {
        let c = &x.constraints;
        self.figures(
            c.confidence,
            &c.entry_bounds(),
            "",
            label,
            &f(&|e| e.p95_ms),
            &f(&|e| e.success_rate),
            &f(&|e| e.window_attainment),
        );
        if let Some(b) = c.end_to_end_p95_ms {
            let v = f(&|e| e.end_to_end_p95_ms.unwrap_or(f64::NAN));
            self.upper(c.confidence, b, &v, "end-to-end p95", label);
        }
        for (name, b) in x.judged_deployments() {
            let g = |k: fn(&Figures) -> f64| f(&|e| dep_figure(e, name, k));
            self.figures(
                c.confidence,
                b,
                name,
                label,
                &g(|d| d.p95_ms),
                &g(|d| d.success_rate),
                &g(|d| d.window_attainment),
            );
            if let Some(w) = b.queue_wait_p95_ms {
                let v = g(|d| d.queue_wait_p95_ms.unwrap_or(f64::NAN));
                self.upper(
                    c.confidence,
                    w,
                    &v,
                    &format!("{name} queue wait p95"),
                    label,
                );
            }
        }
    }

    /// An upper bound on a figure only the engine computes (NaN under the fluid
    /// approximation: not judged there).
    fn upper(&mut self, conf: f64, b: f64, v: &[f64], what: &str, label: &str) {
        if v.is_empty() || v.iter().any(|x| x.is_nan()) {
            return;
        }
        let at = if label.is_empty() {
            String::new()
        } else {
            format!(" under {label}")
        };
        let s = Stat::of(v, conf);
        let worst = s.hi.max(v.iter().copied().fold(f64::MIN, f64::max));
        self.shortfall(
            (worst - b) / b,
            format!(
                "{what} <= {b} ms{at} (upper {:.0}% bound {worst:.0} ms)",
                conf * 100.0
            ),
        );
    }
}

/// A figure of an evaluation to its values over the replications.
pub(super) type Replications<'a> = dyn Fn(&dyn Fn(&Evaluation) -> f64) -> Vec<f64> + 'a;

/// Deployment `name`'s figure `k` in `e` (NaN in a failed evaluation, which has none; its
/// row is infeasible by its error).
pub(super) fn dep_figure(e: &Evaluation, name: &str, k: fn(&Figures) -> f64) -> f64 {
    e.deployments
        .iter()
        .find(|d| d.name == name)
        .map_or(f64::NAN, k)
}

/// A mean with its confidence interval over replications (`lo == hi == mean` for one).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Stat {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Stat {
    /// Mean and two-sided Student-t interval at `confidence`.
    pub fn of(v: &[f64], confidence: f64) -> Stat {
        let n = v.len();
        if n == 0 {
            return Stat::default();
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Stat {
                mean,
                lo: mean,
                hi: mean,
            };
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .map(|d| d.inverse_cdf(0.5 + confidence / 2.0))
            .unwrap_or(f64::INFINITY);
        let h = t * (var / n as f64).sqrt();
        Stat {
            mean,
            lo: mean - h,
            hi: mean + h,
        }
    }
}
