//! Which deployments a sweep judges, and by which bounds: the entry by the experiment's
//! top-level constraints, every other deployment with an SLO in the model by its own p95 SLO
//! and the top-level success rate and window attainment, unless the experiment says otherwise
//! under `constraints.deployments`.

use super::{Experiment, TuneError};
use crate::scenario::ModelSources;
use serde::{Deserialize, Serialize};

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
}

impl super::Constraints {
    /// The top-level bounds, the entry deployment's.
    pub fn entry_bounds(&self) -> Bounds {
        Bounds {
            p95_ms: self.p95_ms,
            success_rate: self.success_rate,
            window_attainment: self.window_attainment,
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
                judge: true,
            });
            let filled = Bounds {
                p95_ms: b.p95_ms.or(d.slo_p95_ms),
                success_rate: b.success_rate.or(top.success_rate),
                window_attainment: b.window_attainment.or(top.window_attainment),
                judge: true,
            };
            if filled.p95_ms.is_none()
                && filled.success_rate.is_none()
                && filled.window_attainment.is_none()
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
