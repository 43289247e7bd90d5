//! `validate`'s chart, drawn with the report's chart helpers and palette.

use super::{Tick, Validation, WindowP95};
use crate::report::charts::{
    BASELINE, ChartResult, FONT, RECOMMENDED, SLO, err, legend, legend_line, new_svg, num, panel,
    time_unit,
};
use plotters::prelude::*;

/// Simulated against observed (or recorded) timelines, on the model clock: what `validate`
/// and `backtest` draw.
pub struct Overlay<'a> {
    pub title: String,
    /// What the reference is called in the legend (`observed`, `recorded`).
    pub reference: &'a str,
    pub duration_s: f64,
    pub sync_period_s: f64,
    pub tick_agreement: f64,
    pub ticks: &'a [Tick],
    /// The reference's replica series `(t, replicas)`.
    pub replicas: &'a [(f64, f64)],
    pub window_s: f64,
    pub windows: &'a [WindowP95],
    pub slo_p95_ms: f64,
    pub run_reference_p95_ms: f64,
    pub run_simulated_p95_ms: f64,
}

/// `validate`'s overlaid timelines: replicas the simulator held at each HPA sync tick
/// against the observed replica series (with the ±1 pod band), and p95 per window simulated
/// against observed, with the SLO bound. Model time.
pub fn validation(v: &Validation, observed: &[(f64, f64)]) -> ChartResult {
    overlay(&Overlay {
        title: format!("Simulated vs observed: {} / {}", v.model, v.deployment),
        reference: "observed",
        duration_s: v.duration_s,
        sync_period_s: v.sync_period_s,
        tick_agreement: v.tick_agreement,
        ticks: &v.ticks,
        replicas: observed,
        window_s: v.window_s,
        windows: &v.windows,
        slo_p95_ms: v
            .verdicts
            .iter()
            .find(|x| x.name == "p95_ms")
            .map(|x| x.bound)
            .unwrap_or(0.0),
        run_reference_p95_ms: v.observed_p95_ms,
        run_simulated_p95_ms: v.simulated_p95_ms,
    })
}

/// The two panels: replicas at each sync tick (simulated with its ±1 band, and the
/// reference's series), and p95 per window both ways against the SLO.
pub fn overlay(v: &Overlay) -> ChartResult {
    let observed = v.replicas;
    let mut buf = String::new();
    {
        let root = new_svg(&mut buf, 640);
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(&v.title, (FONT, 22)).map_err(err)?;
        let end = v.duration_s.max(1.0);
        let (unit, uname) = time_unit(end);
        let x = 0.0..end / unit;
        let xfmt = |t: &f64| num(*t);
        let panels = root.split_evenly((2, 1));
        // Replicas.
        {
            let hi = v
                .ticks
                .iter()
                .map(|t| t.simulated as f64)
                .chain(observed.iter().map(|o| o.1))
                .fold(1.0, f64::max);
            let mut c = panel(
                &panels[0],
                &format!(
                    "Replicas (shaded: simulated ±1 pod; {:.0} % of sync ticks agree)",
                    v.tick_agreement * 100.0
                ),
                28,
            )
            .build_cartesian_2d(x.clone(), 0.0..hi * 1.2 + 1.0)
            .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(0)
                .x_labels(12)
                .y_labels(6)
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|t| num(*t))
                .x_desc(format!("time ({uname})"))
                .y_desc("pods")
                .draw()
                .map_err(err)?;
            let half = v.sync_period_s / 2.0;
            c.draw_series(v.ticks.iter().map(|t| {
                let (a, b) = (t.t_s / unit, (t.t_s + 2.0 * half) / unit);
                let n = t.simulated as f64;
                Rectangle::new(
                    [(a, (n - 1.0).max(0.0)), (b, n + 1.0)],
                    RECOMMENDED.mix(0.12).filled(),
                )
            }))
            .map_err(err)?;
            let steps = |pts: Vec<(f64, f64)>| {
                let mut out = Vec::new();
                for (i, p) in pts.iter().enumerate() {
                    if i > 0 {
                        out.push((p.0, pts[i - 1].1));
                    }
                    out.push(*p);
                }
                out
            };
            c.draw_series(LineSeries::new(
                steps(
                    v.ticks
                        .iter()
                        .map(|t| (t.t_s / unit, t.simulated as f64))
                        .collect(),
                ),
                RECOMMENDED.stroke_width(2),
            ))
            .map_err(err)?
            .label("simulated (set at each sync tick)")
            .legend(legend_line(RECOMMENDED));
            c.draw_series(LineSeries::new(
                steps(observed.iter().map(|(t, r)| (t / unit, *r)).collect()),
                BASELINE.stroke_width(2),
            ))
            .map_err(err)?
            .label(v.reference)
            .legend(legend_line(BASELINE));
            legend(&mut c, SeriesLabelPosition::UpperRight)?;
        }
        // p95 per window.
        {
            let slo = v.slo_p95_ms;
            let vals: Vec<f64> = v
                .windows
                .iter()
                .flat_map(|w| [w.observed_p95_ms, w.simulated_p95_ms])
                .flatten()
                .filter(|x| *x > 0.0)
                .collect();
            let lo = vals.iter().copied().fold(slo.max(1.0), f64::min) / 1.5;
            let hi = vals.iter().copied().fold(slo.max(1.0), f64::max) * 1.5;
            let mut c = panel(
                &panels[1],
                &format!(
                    "p95 latency per {:.0}-s window (run: {} {:.0} ms, simulated {:.0} ms)",
                    v.window_s, v.reference, v.run_reference_p95_ms, v.run_simulated_p95_ms
                ),
                40,
            )
            .build_cartesian_2d(x.clone(), (lo..hi).log_scale())
            .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(0)
                .x_labels(12)
                .y_labels(10)
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|t| num(*t))
                .x_desc(format!("time ({uname})"))
                .y_desc("ms (log)")
                .draw()
                .map_err(err)?;
            if slo > 0.0 {
                c.draw_series(DashedLineSeries::new(
                    [(x.start, slo), (x.end, slo)],
                    8,
                    5,
                    SLO.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("SLO: p95 ≤ {} ms", num(slo)))
                .legend(legend_line(SLO));
            }
            for (label, color, pick) in [
                (
                    "simulated",
                    RECOMMENDED,
                    (|w: &WindowP95| w.simulated_p95_ms) as fn(&WindowP95) -> Option<f64>,
                ),
                (v.reference, BASELINE, |w| w.observed_p95_ms),
            ] {
                let pts: Vec<(f64, f64)> = v
                    .windows
                    .iter()
                    .filter_map(|w| pick(w).filter(|x| *x > 0.0).map(|p| (w.t_s / unit, p)))
                    .collect();
                c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(err)?
                    .label(label)
                    .legend(legend_line(color));
                c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(err)?;
            }
            legend(&mut c, SeriesLabelPosition::UpperRight)?;
        }
        root.present().map_err(err)?;
    }
    Ok(buf)
}
