//! What calibration reads about the links between deployments and their triggers rather than
//! about one deployment: fan-out ratios between a queue's producer and consumer, and what a
//! request-rate trigger's query counts.

use super::bundle::Bundle;
use super::estimate::{Calibration, Estimate, NotIdentified, ok_rate, round};
use crate::scenario::ServiceFile;
use std::collections::BTreeMap;

/// Fan-out ratios: for each queue with one producer and one consumer that consumes only it,
/// both recorded (else said, for each recorded producer), the consumer's jobs per producer success over the range (the queue's
/// backlog at either end is assumed small against the range's total). The count keeps its
/// family: a fixed count takes the nearest whole number when the ratio is within 0.05 of it
/// (else a Poisson of that mean); Poisson and geometric take the ratio as their mean.
pub fn fan_out(
    b: &Bundle,
    m: &crate::engine::model::Model,
    svc: &mut ServiceFile,
    out: &mut Calibration,
) {
    use crate::engine::dist::CountDist;
    for (q, queue) in m.queues.iter().enumerate() {
        let producers: Vec<&crate::engine::model::DeploymentModel> = m
            .deployments
            .iter()
            .filter(|d| d.fan_out.iter().any(|f| f.0 == q))
            .collect();
        let consumers: Vec<&crate::engine::model::DeploymentModel> = m
            .deployments
            .iter()
            .filter(|d| d.consumes.contains(&q))
            .collect();
        let recorded = |d: &str| b.info.deployments.iter().any(|x| x == d);
        // Said, for each producer the bundle recorded, when the ratio cannot be read.
        let mut unread = |why: String| {
            for p in producers.iter().filter(|p| recorded(&p.name)) {
                out.not_identified.push(NotIdentified {
                    deployment: p.name.clone(),
                    parameter: format!("fan_out[{}].count", queue.name),
                    kept: "(the model's)".into(),
                    reason: why.clone(),
                });
            }
        };
        let ([p], [c]) = (producers.as_slice(), consumers.as_slice()) else {
            unread(format!(
                "queue {} has {} producers and {} consumers: the jobs cannot be shared out among them",
                queue.name,
                producers.len(),
                consumers.len()
            ));
            continue;
        };
        if c.consumes.len() != 1 || !recorded(&c.name) {
            unread(if c.consumes.len() != 1 {
                format!(
                    "{} consumes {} queues: its jobs cannot be told apart by queue",
                    c.name,
                    c.consumes.len()
                )
            } else {
                format!(
                    "the consumer {} is not in the bundle (record it with --deployment {})",
                    c.name, c.name
                )
            });
            continue;
        }
        if !recorded(&p.name) {
            continue;
        }
        let made = ok_rate(b, &p.name, "requests");
        let done = ok_rate(b, &c.name, "jobs");
        let both: Vec<(f64, f64)> = made
            .iter()
            .filter_map(|(t, x)| done.get(t).map(|y| (*x, *y)))
            .collect();
        let ratio = |pts: &[(f64, f64)]| {
            let (x, y) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
            (x > 0.0).then(|| y / x)
        };
        let parameter = format!("fan_out[{}].count", queue.name);
        let Some(r) = ratio(&both) else {
            out.not_identified.push(NotIdentified {
                deployment: p.name.clone(),
                parameter,
                kept: "(the model's)".into(),
                reason: format!(
                    "no steps with both {}'s requests (`{}`) and {}'s jobs (`{}`)",
                    p.name,
                    b.query(&p.name, "requests"),
                    c.name,
                    b.query(&c.name, "jobs")
                ),
            });
            continue;
        };
        let half = both.len() / 2;
        let halves: Vec<f64> = [&both[..half], &both[half..]]
            .iter()
            .filter_map(|h| ratio(h))
            .collect();
        let Some(spec) = svc.deployments.get_mut(&p.name) else {
            continue;
        };
        let Some(f) = spec.fan_out.iter_mut().find(|f| f.queue == queue.name) else {
            continue;
        };
        f.count = match f.count {
            CountDist::Fixed { .. } if (r - r.round()).abs() <= 0.05 => CountDist::Fixed {
                value: r.round() as u32,
            },
            CountDist::Geometric { .. } => CountDist::Geometric { mean: round(r, 4) },
            _ => CountDist::Poisson { mean: round(r, 4) },
        };
        out.estimates.push(Estimate {
            deployment: p.name.clone(),
            parameter,
            value: serde_json::to_value(&f.count).unwrap_or_default(),
            figure: format!("{r:.4} jobs for {} per {} request", c.name, p.name),
            estimate: r,
            interval: (halves.len() == 2)
                .then(|| (halves[0].min(halves[1]), halves[0].max(halves[1]))),
            interval_kind: "ratio in each half of the steps".into(),
            source: vec![b.query(&p.name, "requests"), b.query(&c.name, "jobs")],
            fit: "relative difference of the two halves".into(),
            fit_value: if halves.len() == 2 {
                (halves[0] - halves[1]).abs() / r.max(f64::MIN_POSITIVE)
            } else {
                0.0
            },
            n: both.len(),
            summary: BTreeMap::new(),
        });
    }
}

/// Request-rate bindings of prometheus triggers count what the trigger's query counts: the
/// binding's `count` follows the query (see [`crate::scenario::skeleton::counted_by`]), reported as an estimate.
pub fn counted_answers(
    m: &crate::engine::model::Model,
    svc: &mut ServiceFile,
    out: &mut Calibration,
) {
    use crate::engine::model::{AutoscalerKind, Counted, Signal};
    use crate::policy::keda::Scaler;
    for a in &m.autoscalers {
        let AutoscalerKind::Keda { spec, .. } = &a.kind else {
            continue;
        };
        for (i, t) in spec.triggers.iter().enumerate() {
            let Scaler::Prometheus { query, .. } = &t.scaler else {
                continue;
            };
            let tn = t.name.clone().unwrap_or_else(|| i.to_string());
            let Some(Signal::RequestRate { count, .. }) =
                svc.bindings.get_mut(&a.name).and_then(|b| b.get_mut(&tn))
            else {
                continue;
            };
            let want = crate::scenario::skeleton::counted_by(query);
            let was = *count;
            *count = want;
            let name = |c: Counted| if c == Counted::Ok { "ok" } else { "all" };
            out.estimates.push(Estimate {
                deployment: m.deployments[a.deployment].name.clone(),
                parameter: format!("bindings.{}.{tn}.count", a.name),
                value: serde_json::json!(name(want)),
                figure: format!(
                    "{} ({}; the base model said {})",
                    name(want),
                    if want == Counted::Ok {
                        "the trigger's query keeps 2xx answers only"
                    } else {
                        "the trigger's query counts every answer"
                    },
                    name(was)
                ),
                estimate: f64::from(u8::from(want == Counted::Ok)),
                interval: None,
                interval_kind: "read from the query, not estimated".into(),
                source: vec![query.clone()],
                fit: "none (read from the ScaledObject)".into(),
                fit_value: 0.0,
                n: 0,
                summary: BTreeMap::new(),
            });
        }
    }
}
