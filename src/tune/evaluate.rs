//! One evaluation: a configuration under one workload, seed, load and fidelity, run through
//! the engine or the fluid approximation; the workloads an experiment names, resolved once.

use super::{EXPERIMENT_FORMAT_VERSION, Experiment, TuneError};
use crate::engine::{self, RunConfig, Workload, fluid};
use crate::scenario::{LoadedModel, ModelError, ModelSources, ParsedModel, Setting};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How an evaluation was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Fidelity {
    /// The fluid approximation ([`crate::engine::fluid`]); seed-independent.
    Fluid,
    /// The discrete-event engine.
    Engine,
}

/// The figures of one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub format_version: u32,
    /// Grid index of the configuration (ignored for the baseline).
    pub config: usize,
    /// The model's own settings, not a grid point.
    pub baseline: bool,
    pub workload: String,
    pub seed: u64,
    pub fidelity: Fidelity,
    /// Load factor (1 nominal, 1 + load_margin for the extra-load check).
    pub load: f64,
    pub values: Vec<(String, String)>,
    pub p95_ms: f64,
    pub success_rate: f64,
    pub window_attainment: f64,
    pub pod_hours: f64,
    pub cost: f64,
    pub scaling_events: u32,
    pub oscillations: u32,
    /// The figures of the other judged deployments (`constraints.deployments`), by name.
    #[serde(default)]
    pub deployments: Vec<super::Figures>,
    /// p95 of the time from a request's arrival to its last fanned-out job's completion
    /// (the engine's, when the entry fans out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_p95_ms: Option<f64>,
    pub error: Option<String>,
}

/// What identifies an evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub config: usize,
    pub baseline: bool,
    pub workload: usize,
    pub seed: u64,
    pub fidelity: Fidelity,
    /// Load factor in thousandths.
    pub load_milli: u32,
}

impl Evaluation {
    pub(super) fn key(&self, workloads: &[ResolvedWorkload]) -> Option<Key> {
        Some(Key {
            config: if self.baseline { 0 } else { self.config },
            baseline: self.baseline,
            workload: workloads.iter().position(|w| w.name == self.workload)?,
            seed: self.seed,
            fidelity: self.fidelity,
            load_milli: (self.load * 1000.0).round() as u32,
        })
    }
}

/// A workload ready to run: traces read, defaults filled in.
#[derive(Clone, Debug)]
pub struct ResolvedWorkload {
    pub name: String,
    pub weight: f64,
    pub must_hold: bool,
    /// `None`: the model's scenario workload.
    pub workload: Option<Workload>,
    pub duration_s: Option<f64>,
}

/// Resolve an experiment's workloads (traces read once; relative paths from `dir`).
pub fn resolve_workloads(x: &Experiment, dir: &Path) -> Result<Vec<ResolvedWorkload>, TuneError> {
    if x.workloads.is_empty() {
        return Ok(vec![ResolvedWorkload {
            name: "scenario".into(),
            weight: 1.0,
            must_hold: false,
            workload: None,
            duration_s: x.duration_s,
        }]);
    }
    x.workloads
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (workload, span) = match (&w.load, &w.trace) {
                (Some(l), _) => (Some(l.clone()), None),
                (None, Some(t)) => {
                    let (trace, interp) = t.load(dir).map_err(|m| TuneError::Input {
                        file: x.source.clone(),
                        field: format!("workloads[{i}].trace"),
                        message: m,
                    })?;
                    (Some(trace.to_workload(interp)), Some(trace.span_s()))
                }
                (None, None) => (None, None),
            };
            Ok(ResolvedWorkload {
                name: w.name.clone(),
                weight: w.weight,
                must_hold: w.must_hold,
                workload,
                duration_s: w.duration_s.or(x.duration_s).or(span),
            })
        })
        .collect()
}

/// The experiment's model parsed once, with its axes read into settings: every evaluation
/// compiles its configuration from these, never from the files' text.
#[derive(Clone, Debug)]
pub struct SweepModel {
    parsed: ParsedModel,
    axes: Vec<Setting>,
}

impl SweepModel {
    /// Parse `base` and read each axis of `x` (an axis that names no field is an error
    /// naming the axis).
    pub fn new(x: &Experiment, base: &ModelSources) -> Result<Self, TuneError> {
        let axis_error = |i: usize, path: &str, e: ModelError| TuneError::Input {
            file: x.source.clone(),
            field: format!("axes[{i}].path"),
            message: format!("{path}: {e}"),
        };
        let parsed = ParsedModel::parse(base).map_err(|e| match x.axes.first() {
            Some(a) => axis_error(0, &a.path, e),
            None => TuneError::Input {
                file: e.file,
                field: e.field,
                message: e.message,
            },
        })?;
        let axes = x
            .axes
            .iter()
            .enumerate()
            .map(|(i, a)| {
                parsed
                    .setting(&a.path)
                    .map_err(|e| axis_error(i, &a.path, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SweepModel { parsed, axes })
    }

    /// The model with `values` (axis path, value) applied.
    pub fn compile(&self, values: &[(String, String)]) -> Result<LoadedModel, ModelError> {
        // A path that is not an axis (a recorded baseline's, say) is read here.
        let others = values
            .iter()
            .filter(|(p, _)| !self.axes.iter().any(|s| &s.path == p))
            .map(|(p, _)| self.parsed.setting(p))
            .collect::<Result<Vec<_>, _>>()?;
        let edits: Vec<(&Setting, &str)> = values
            .iter()
            .filter_map(|(p, v)| {
                let s = self.axes.iter().chain(&others).find(|s| &s.path == p)?;
                Some((s, v.as_str()))
            })
            .collect();
        self.parsed.compile(&edits)
    }

    /// Whether axis `i`'s field can hold `value` (read as its kind, before the model's
    /// fields are checked against each other).
    pub fn reads(&self, i: usize, value: &str) -> Result<(), ModelError> {
        self.parsed.read(&[(&self.axes[i], value)]).map(|_| ())
    }

    /// Whether setting axis `i` to `value` leaves the model as it is.
    pub fn is_current(&self, i: usize, value: &str) -> bool {
        self.parsed.unchanged_by(&[(&self.axes[i], value)])
    }
}

/// The arrivals every configuration of a batch shares for one (workload, seed, load): the
/// base model's workload drawn once (`None` where the workload's arrivals cannot
/// be shared or number more than `max`).
pub(super) fn shared_arrivals(
    base: &SweepModel,
    x: &Experiment,
    w: &ResolvedWorkload,
    key: &Key,
    max: usize,
) -> Option<engine::Arrivals> {
    let (_, workload, cfg) = prepare(
        base,
        x,
        w,
        &[],
        key.load_milli as f64 / 1000.0,
        key.seed,
        false,
    )
    .ok()?;
    engine::Arrivals::draw(&workload, cfg.seed, cfg.duration_s, max)
}

/// The model, workload and run configuration of one evaluation: `values` applied to the base
/// model, the workload scaled by `load`, the windows judged against the experiment's bounds.
pub(super) fn prepare(
    base: &SweepModel,
    x: &Experiment,
    w: &ResolvedWorkload,
    values: &[(String, String)],
    load: f64,
    seed: u64,
    record_decisions: bool,
) -> Result<(engine::Model, Workload, RunConfig), String> {
    let loaded = base.compile(values).map_err(|e| e.to_string())?;
    let mut model = loaded.model;
    model.restrict(&x.deployments)?;
    // Each judged deployment's windows are judged against its own bound.
    for (name, b) in x.judged_deployments() {
        if let Some(p) = b.p95_ms
            && let Some(d) = model.deployments.iter_mut().find(|d| &d.name == name)
        {
            d.slo_p95_ms = Some(p);
        }
    }
    let mut workload = w
        .workload
        .clone()
        .unwrap_or_else(|| loaded.scenario.workload.clone());
    if load != 1.0 {
        workload = workload.scaled(load);
    }
    // Windows are judged against the experiment's own bounds where it gives them.
    let mut slo = loaded.scenario.slo;
    if let Some(p) = x.constraints.p95_ms {
        slo.p95_ms = p;
    }
    if let Some(r) = x.constraints.success_rate {
        slo.success_rate = r;
    }
    let cfg = RunConfig {
        duration_s: w.duration_s.unwrap_or(loaded.scenario.duration_s),
        slo,
        record_decisions,
        ..loaded.scenario.run_config(seed)
    };
    Ok((model, workload, cfg))
}

/// Evaluate a configuration (`values` applied to the base model) under one workload;
/// `arrivals`, when given, are the workload's arrivals drawn beforehand (used when they fit).
pub fn evaluate(
    base: &SweepModel,
    x: &Experiment,
    w: &ResolvedWorkload,
    values: &[(String, String)],
    key: &Key,
    arrivals: Option<&engine::Arrivals>,
) -> Evaluation {
    let mut ev = Evaluation {
        format_version: EXPERIMENT_FORMAT_VERSION,
        config: key.config,
        baseline: key.baseline,
        workload: w.name.clone(),
        seed: key.seed,
        fidelity: key.fidelity,
        load: key.load_milli as f64 / 1000.0,
        values: values.to_vec(),
        p95_ms: 0.0,
        success_rate: 0.0,
        window_attainment: 0.0,
        pod_hours: 0.0,
        cost: 0.0,
        scaling_events: 0,
        oscillations: 0,
        deployments: Vec::new(),
        end_to_end_p95_ms: None,
        error: None,
    };
    let run = (|| -> Result<(), String> {
        let (model, workload, cfg) = prepare(base, x, w, values, ev.load, key.seed, false)?;
        // A configuration's own settings (a polling interval, say) can ask for a run the
        // engine cannot do; that configuration fails, the sweep goes on.
        engine::check_run(&model, &workload, &cfg)?;
        // Figures only the engine has: the consumers' queue waits, the end-to-end time.
        let mut waits: Vec<(String, f64)> = Vec::new();
        let mut end_to_end = None;
        let o = match key.fidelity {
            Fidelity::Engine => {
                let o = match arrivals {
                    Some(a) => engine::run_with_arrivals(&model, &workload, cfg, a),
                    None => engine::run(&model, &workload, cfg),
                };
                end_to_end = o.end_to_end.map(|e| e.latency_ms.p95);
                waits = o
                    .deployments
                    .iter()
                    .filter_map(|d| d.queue_wait_ms.map(|w| (d.name.clone(), w.p95)))
                    .collect();
                let d = o.deployment(&o.entry).unwrap_or(&o.deployments[0]);
                fluid::FluidOutcome {
                    p95_ms: d.latency_ms.p95,
                    success_rate: d.success_rate,
                    window_attainment: d.window_attainment,
                    windows: d.windows,
                    windows_attained: d.windows_attained,
                    pod_hours: o.total_pod_hours,
                    cost: o.total_cost,
                    scaling_events: d.scaling_events,
                    oscillations: d.oscillations,
                    deployments: o
                        .deployments
                        .iter()
                        .map(|d| fluid::FluidFigures {
                            name: d.name.clone(),
                            p95_ms: d.latency_ms.p95,
                            success_rate: d.success_rate,
                            window_attainment: d.window_attainment,
                            windows: d.windows,
                            windows_attained: d.windows_attained,
                        })
                        .collect(),
                }
            }
            Fidelity::Fluid => fluid::run(&model, &workload, &cfg),
        };
        for (name, _) in x.judged_deployments() {
            let f = o
                .deployments
                .iter()
                .find(|d| &d.name == name)
                .ok_or_else(|| format!("deployment {name} was not simulated"))?;
            ev.deployments.push(super::Figures {
                name: name.clone(),
                p95_ms: f.p95_ms,
                success_rate: f.success_rate,
                window_attainment: f.window_attainment,
                queue_wait_p95_ms: waits.iter().find(|(n, _)| n == name).map(|w| w.1),
            });
        }
        ev.end_to_end_p95_ms = end_to_end;
        ev.p95_ms = o.p95_ms;
        ev.success_rate = o.success_rate;
        ev.window_attainment = o.window_attainment;
        ev.pod_hours = o.pod_hours;
        ev.cost = o.cost;
        ev.scaling_events = o.scaling_events;
        ev.oscillations = o.oscillations;
        Ok(())
    })();
    if let Err(e) = run {
        ev.error = Some(e);
    }
    ev
}
