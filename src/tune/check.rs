//! The checks a sweep makes before its first evaluation: every axis names a field the model
//! reads and every value fits it, every workload is a run the engine can do; and which axis
//! values are the model's current settings.

use super::evaluate::{ResolvedWorkload, SweepModel, prepare};
use super::{Experiment, TuneError};
use crate::engine::{self, fluid};

/// For each axis value, whether the model already has it: setting it changes nothing.
pub(super) fn current_values(x: &Experiment, model: &SweepModel) -> Vec<Vec<bool>> {
    x.values()
        .iter()
        .enumerate()
        .map(|(i, vals)| vals.iter().map(|v| model.is_current(i, v)).collect())
        .collect()
}

/// Every axis must name a field the model accepts: before running anything, some value of
/// each axis must compile on the model, so a typo is one clear error and not a table of failed
/// evaluations. (A value that only fails beside the model's other settings, such as a minimum
/// above the maximum, fails its own configurations and leaves the sweep running.)
pub(super) fn check_axes(x: &Experiment, model: &SweepModel) -> Result<(), TuneError> {
    let vals = x.values();
    for (i, a) in x.axes.iter().enumerate() {
        let mut first_error = None;
        for v in &vals[i] {
            match model.compile(&[(a.path.clone(), v.clone())]) {
                Ok(_) => {
                    first_error = None;
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(TuneError::Input {
                file: x.source.clone(),
                field: format!("axes[{i}].path"),
                message: format!("{}: {e}", a.path),
            });
        }
    }
    // A value its field cannot hold (a threshold of "abc") fails every configuration it is
    // in: refused before the first evaluation, naming the value.
    for (i, a) in x.axes.iter().enumerate() {
        for v in &vals[i] {
            if let Err(e) = model.reads(i, v) {
                return Err(TuneError::Input {
                    file: x.source.clone(),
                    field: format!("axes[{i}]"),
                    message: format!("{} = `{v}`: {e}", a.path),
                });
            }
        }
    }
    // An axis whose values all compile to the same model changes nothing a run reads (a
    // field scaletwin does not model, an object no model deployment uses): refused, rather
    // than a table of identical rows.
    for (i, a) in x.axes.iter().enumerate() {
        let compiled: Vec<String> = vals[i]
            .iter()
            .filter_map(|v| model.compile(&[(a.path.clone(), v.clone())]).ok())
            .map(|l| format!("{:?}{:?}", l.model, l.scenario))
            .collect();
        if compiled.len() >= 2 && compiled.iter().all(|c| *c == compiled[0]) {
            return Err(TuneError::Input {
                file: x.source.clone(),
                field: format!("axes[{i}].path"),
                message: format!(
                    "{}: its values ({}) all give the same model; the path names a field the simulation does not read or an object no model deployment uses; address the object that scales the deployment, or drop the axis",
                    a.path,
                    vals[i].join(", ")
                ),
            });
        }
    }
    let Ok(loaded) = model.compile(&[]) else {
        return Ok(());
    };
    // A p95 bound below the entry's own service-time p95 cannot be met by any setting.
    if let Some(b) = x.constraints.p95_ms {
        let m = &loaded.model;
        let entry = &m.deployments[m.entry];
        let s95 = fluid::p95_of(&entry.service_dist) * 1e3;
        if b < s95 * 0.999 {
            return Err(TuneError::Input {
                file: x.source.clone(),
                field: "constraints.p95_ms".into(),
                message: format!(
                    "{b} ms is below the p95 of {}'s own service time ({s95:.0} ms): no autoscaling setting can meet it; raise the bound or change the service",
                    entry.name
                ),
            });
        }
    }
    if let Some(w) = x.constraints.window_attainment
        && w > 0.0
        && x.duration_s.is_some_and(|d| d < loaded.scenario.window_s)
    {
        return Err(TuneError::Input {
            file: x.source.clone(),
            field: "constraints.window_attainment".into(),
            message: format!(
                "duration_s is shorter than one {} s window, so no window is judged: lengthen the run or drop the constraint",
                loaded.scenario.window_s
            ),
        });
    }
    Ok(())
}

/// Every workload must be a run the engine can do (duration, windows, ticks, requests,
/// users), at the highest load the sweep asks for: refused before the first evaluation.
pub(super) fn check_runs(
    x: &Experiment,
    model: &SweepModel,
    workloads: &[ResolvedWorkload],
) -> Result<(), TuneError> {
    if let Ok(loaded) = model.compile(&[])
        && let Err(e) = loaded.model.clone().restrict(&x.deployments)
    {
        return Err(TuneError::Input {
            file: x.source.clone(),
            field: "deployments".into(),
            message: e.to_string(),
        });
    }
    let load = 1.0 + x.load_margin.max(0.0);
    for (i, w) in workloads.iter().enumerate() {
        let Ok((m, workload, cfg)) = prepare(model, x, w, &[], load, x.seeds[0], false) else {
            continue;
        };
        if let Err(message) = engine::check_run(&m, &workload, &cfg) {
            return Err(TuneError::Input {
                file: x.source.clone(),
                field: if x.workloads.is_empty() {
                    "duration_s".into()
                } else {
                    format!("workloads[{i}] ({})", w.name)
                },
                message,
            });
        }
    }
    Ok(())
}
