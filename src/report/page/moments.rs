//! "Why it scaled": the biggest rises in offered load and the decisions that answered them.

use super::*;

/// A key moment of a run: a rise in offered load and what the autoscalers decided next.
pub struct Moment {
    pub t_s: f64,
    pub from_rps: f64,
    pub to_rps: f64,
    pub decisions: Vec<DecisionRecord>,
}

/// The biggest rises in the entry's offered load (at most `k`, at least ten minutes apart,
/// each at least a fifth above what came before) and the scaling decisions in the ten minutes
/// after each, with their reasons. With no such rise: the biggest scale-ups.
pub fn key_moments(run: &Run, k: usize) -> Vec<Moment> {
    let rows = run.entry_rows();
    let mut rises: Vec<(f64, f64, f64, f64)> = rows
        .windows(2)
        .filter(|w| w[1].offered_rps > w[0].offered_rps * 1.2 && w[1].offered_rps > 0.0)
        .map(|w| {
            (
                w[1].offered_rps - w[0].offered_rps,
                w[1].t_s,
                w[0].offered_rps,
                w[1].offered_rps,
            )
        })
        .collect();
    rises.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
    let mut picked: Vec<(f64, f64, f64)> = Vec::new();
    for (_, t, from, to) in rises {
        if picked.iter().all(|p| (p.0 - t).abs() >= 600.0) {
            picked.push((t, from, to));
        }
        if picked.len() == k {
            break;
        }
    }
    let step = rows
        .windows(2)
        .map(|w| w[1].t_s - w[0].t_s)
        .next()
        .unwrap_or(60.0);
    let mut out: Vec<Moment> = picked
        .into_iter()
        .map(|(t, from, to)| Moment {
            t_s: t,
            from_rps: from,
            to_rps: to,
            decisions: run
                .decisions
                .iter()
                .filter(|d| d.changed && d.t_s >= t - step && d.t_s <= t + 600.0)
                .take(6)
                .cloned()
                .collect(),
        })
        .filter(|m| !m.decisions.is_empty())
        .collect();
    if out.is_empty() {
        let mut ups: Vec<&DecisionRecord> = run
            .decisions
            .iter()
            .filter(|d| d.changed && d.desired > d.current)
            .collect();
        ups.sort_by(|a, b| {
            (b.desired - b.current)
                .cmp(&(a.desired - a.current))
                .then(a.t_s.total_cmp(&b.t_s))
        });
        out = ups
            .into_iter()
            .take(k)
            .map(|d| Moment {
                t_s: d.t_s,
                from_rps: f64::NAN,
                to_rps: f64::NAN,
                decisions: vec![d.clone()],
            })
            .collect();
    }
    out.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    out
}

pub(super) fn moments_html(runs: &[Run]) -> String {
    let Some(run) = runs
        .iter()
        .find(|r| r.label == "recommended")
        .or(runs.first())
    else {
        return "<p class=\"muted\">No decision log in this folder.</p>".into();
    };
    let ms = key_moments(run, 4);
    if ms.is_empty() {
        return format!(
            "<p id=\"why\">The autoscalers did not change any replica count in the {} run.</p>",
            esc(&run.label)
        );
    }
    let mut s = format!(
        "<p class=\"muted\">From the decision log of the {} run: the biggest rises in offered load and what the autoscalers decided in the ten minutes after each.</p><ul id=\"why\" class=\"moments\">",
        esc(&run.label)
    );
    for m in ms {
        if m.from_rps.is_finite() {
            let _ = write!(
                s,
                "<li><strong>{}</strong>: offered load {:.1} → {:.1} req/s<ul>",
                clock(m.t_s),
                m.from_rps,
                m.to_rps
            );
        } else {
            let _ = write!(
                s,
                "<li><strong>{}</strong>: biggest scale-up<ul>",
                clock(m.t_s)
            );
        }
        for d in &m.decisions {
            let _ = write!(
                s,
                "<li><code>{}</code> {} → {} ({}): {}</li>",
                esc(&d.object),
                d.current,
                d.desired,
                esc(&d.controller),
                esc(&d.reason)
            );
        }
        s.push_str("</ul></li>");
    }
    s.push_str("</ul>");
    s
}
