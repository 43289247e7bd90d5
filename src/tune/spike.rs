//! The spike check: a workload that must hold, added to an experiment that has none, so a
//! recommendation tuned on a calm day cannot fail the first spike unnoticed.
//!
//! For a model whose scenario is an open-loop schedule, `spike-check` runs two hours (or the
//! experiment's `duration_s`, when shorter) at the scenario's mean rate with the scenario's
//! spikes twice as high (multiplier `2m`, each as long as the scenario's, at most 20 minutes;
//! `m` = 1.5 when the scenario has none, so `x3`), the first after 10 minutes and then every
//! 30 minutes (after a sixth and every half of a shorter run). It weighs 0 (not part of the cost) and must hold.
//! `spike_check: false` in the experiment leaves it out; an experiment with a must-hold
//! workload of its own gets none.

use super::{Experiment, TuneError, WorkloadSpec};
use crate::engine::{Pattern, RateSchedule, Workload};
use crate::scenario::ModelSources;

/// The workload's name in tables and reports.
pub const NAME: &str = "spike-check";
/// Simulated seconds of the spike check.
pub const DURATION_S: f64 = 7200.0;

/// A schedule's mean rate over a day (requests per second), before its spikes.
fn mean_rate(s: &RateSchedule) -> Option<f64> {
    let m = match &s.pattern {
        Pattern::Constant { rate } => *rate,
        Pattern::Ramp { from, to, .. } => (from + to) / 2.0,
        Pattern::Step { steps } => {
            steps.iter().map(|st| st.rate).sum::<f64>() / steps.len().max(1) as f64
        }
        Pattern::Spike { base, .. } => *base,
        Pattern::Stress { start, .. } => *start,
        Pattern::Diurnal { mean, .. } => *mean,
        Pattern::Bins { rates, .. } | Pattern::LinearBins { rates, .. } => {
            rates.iter().sum::<f64>() / rates.len().max(1) as f64
        }
    };
    (m.is_finite() && m > 0.0).then_some(m * s.scale)
}

/// The spike check for `base`'s scenario (`None`: not an open-loop schedule).
/// `duration_s`: the experiment's run length, when it sets one shorter than the check's.
pub fn workload(
    base: &ModelSources,
    duration_s: Option<f64>,
) -> Result<Option<WorkloadSpec>, String> {
    let d = duration_s.map_or(DURATION_S, |d| d.min(DURATION_S));
    let loaded = base.load().map_err(|e| e.to_string())?;
    let Workload::Open { schedule } = &loaded.scenario.workload else {
        return Ok(None);
    };
    let Some(rate) = mean_rate(schedule) else {
        return Ok(None);
    };
    let (multiplier, duration_s) = match &schedule.spikes {
        Some(s) => (s.multiplier, s.duration_s),
        None => match &schedule.pattern {
            Pattern::Spike {
                multiplier,
                duration_s,
                ..
            } => (*multiplier, *duration_s),
            _ => (1.5, 300.0),
        },
    };
    Ok(Some(WorkloadSpec {
        name: NAME.into(),
        weight: 0.0,
        must_hold: true,
        duration_s: Some(d),
        load: Some(Workload::Open {
            schedule: RateSchedule {
                pattern: Pattern::Spike {
                    base: rate,
                    multiplier: 2.0 * multiplier,
                    duration_s: duration_s.min(1200.0),
                    period_s: 1800.0_f64.min(d / 2.0),
                    first_at_s: 600.0_f64.min(d / 6.0),
                },
                spikes: None,
                scale: 1.0,
            },
        }),
        trace: None,
    }))
}

impl Experiment {
    /// The experiment with the spike check added when it has no must-hold workload (and
    /// `spike_check` is on): the model's scenario (or the experiment's workloads) and the
    /// check. Idempotent.
    pub fn with_spike_check(mut self, base: &ModelSources) -> Result<Experiment, TuneError> {
        if !self.spike_check || self.workloads.iter().any(|w| w.must_hold) {
            return Ok(self);
        }
        let check = workload(base, self.duration_s).map_err(|m| TuneError::Input {
            file: self.source.clone(),
            field: "model".into(),
            message: m,
        })?;
        let Some(check) = check else {
            return Ok(self);
        };
        if self.workloads.iter().any(|w| w.name == NAME) {
            return Ok(self);
        }
        if self.workloads.is_empty() {
            self.workloads.push(WorkloadSpec {
                name: "scenario".into(),
                weight: 1.0,
                must_hold: false,
                duration_s: None,
                load: None,
                trace: None,
            });
        }
        self.workloads.push(check);
        Ok(self)
    }
}
