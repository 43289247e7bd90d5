//! Axes whose values changed no evaluation: among the engine's evaluations, every pair that
//! differs only in that axis's value gave the same figures. The sweep still ran them; the
//! warning names the axis so that the next sweep drops it (or addresses the field it meant).

use super::Experiment;
use super::evaluate::{Evaluation, Fidelity};
use std::collections::BTreeMap;

/// The figures an evaluation is judged and ranked by, as exact bits.
fn figures(e: &Evaluation) -> Vec<u64> {
    let mut v = vec![
        e.p95_ms.to_bits(),
        e.success_rate.to_bits(),
        e.window_attainment.to_bits(),
        e.pod_hours.to_bits(),
        e.cost.to_bits(),
        u64::from(e.scaling_events),
        u64::from(e.oscillations),
    ];
    for d in &e.deployments {
        v.extend([
            d.p95_ms.to_bits(),
            d.success_rate.to_bits(),
            d.window_attainment.to_bits(),
        ]);
    }
    v
}

/// The paths of the axes none of whose values changed an engine evaluation (each compared
/// with the evaluations that differ from it in that axis alone); an axis never varied alone
/// is not judged.
pub fn unchanged_axes(evals: &[Evaluation], x: &Experiment) -> Vec<String> {
    let full: Vec<&Evaluation> = evals
        .iter()
        .filter(|e| !e.baseline && e.error.is_none() && e.fidelity == Fidelity::Engine)
        .collect();
    let mut out = Vec::new();
    for (k, axis) in x.axes.iter().enumerate() {
        // Group by everything but this axis's value.
        let mut groups: BTreeMap<String, Vec<(&str, Vec<u64>)>> = BTreeMap::new();
        for e in &full {
            let Some((_, v)) = e.values.get(k) else {
                continue;
            };
            let rest: Vec<&str> = e
                .values
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, (_, v))| v.as_str())
                .collect();
            let key = format!(
                "{}|{}|{}|{}",
                e.workload,
                e.seed,
                (e.load * 1000.0).round(),
                rest.join("|")
            );
            groups
                .entry(key)
                .or_default()
                .push((v.as_str(), figures(e)));
        }
        let mut compared = false;
        let mut changed = false;
        for g in groups.values() {
            for (v, f) in g.iter().skip(1) {
                if *v != g[0].0 {
                    compared = true;
                    changed |= *f != g[0].1;
                }
            }
        }
        if compared && !changed {
            out.push(axis.path.clone());
        }
    }
    out
}
