//! The report's charts, drawn with plotters into SVG strings (and rasterised to PNG on
//! request). Every chart has a title, units on each axis and a legend where it has more than
//! one series; colours come from the Okabe–Ito palette, which stays distinguishable under the
//! common colour-vision deficiencies, and sequential scales use viridis.

mod sweep;

pub use sweep::{ParetoPoint, convergence, heatmap, pareto};

use crate::engine::SeriesRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Okabe–Ito: the current settings.
pub const BASELINE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// Okabe–Ito blue: the recommendation (or the only run of a simulation).
pub const RECOMMENDED: RGBColor = RGBColor(0x00, 0x72, 0xB2);
/// Okabe–Ito vermillion: SLO bounds.
pub const SLO: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Offered load and other reference lines.
pub const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
/// Okabe–Ito bluish green: the second bar of a pair.
pub const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);

pub(crate) const FONT: &str = "sans-serif";
const WIDTH: u32 = 960;

/// A chart that could not be drawn.
pub type ChartResult = Result<String, String>;

pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing a chart: {e}")
}

/// Viridis at `t` in 0..1 (five stops, linearly interpolated).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = [
        (0x44, 0x01, 0x54),
        (0x3B, 0x52, 0x8B),
        (0x21, 0x90, 0x8C),
        (0x5D, 0xC9, 0x63),
        (0xFD, 0xE7, 0x25),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A compact number for tick labels.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}").trim_end_matches(".0").to_string()
    } else if a >= 1.0 {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// `lo..hi` widened so that a flat series still gets a visible range.
fn span(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 {
        (
            lo - 0.5_f64.max(lo.abs() * 0.1),
            hi + 0.5_f64.max(hi.abs() * 0.1),
        )
    } else {
        (lo, hi + (hi - lo) * 0.05)
    }
}

/// The legend box every chart uses.
pub(crate) fn legend<'a, DB, CT>(
    c: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    c.configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.88))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 13))
        .draw()
        .map_err(err)
}

/// One of the timeline's stacked panels.
pub(crate) fn panel<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_label_area: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(caption, (FONT, 16))
        .margin(6)
        .x_label_area_size(x_label_area)
        .y_label_area_size(64);
    b
}

pub(crate) fn legend_line(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
}

fn legend_box(c: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled())
}

/// The time unit of a run's x axis: hours for runs over two hours, else minutes.
pub(crate) fn time_unit(duration_s: f64) -> (f64, &'static str) {
    if duration_s > 7200.0 {
        (3600.0, "h")
    } else {
        (60.0, "min")
    }
}

/// One run on the timeline.
pub struct TimelineRun<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    /// The entry deployment's rows, in time order.
    pub series: &'a [SeriesRow],
    /// Scaling events of the entry deployment: time (s), new replica count, up?
    pub events: Vec<(f64, f64, bool)>,
}

pub(crate) fn new_svg(buf: &mut String, h: u32) -> DrawingArea<SVGBackend<'_>, Shift> {
    SVGBackend::with_string(buf, (WIDTH, h)).into_drawing_area()
}

/// Offered load, replicas (ready solid, desired dashed, scaling events marked), p95 against
/// the SLO line and queue length, every run on the same axes.
pub fn timeline(title: &str, runs: &[TimelineRun<'_>], slo_p95_ms: f64) -> ChartResult {
    let mut buf = String::new();
    {
        let root = new_svg(&mut buf, 1000);
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(title, (FONT, 22)).map_err(err)?;
        let t_end = runs
            .iter()
            .filter_map(|r| r.series.last().map(|s| s.t_s))
            .fold(1.0, f64::max);
        let (unit, uname) = time_unit(t_end);
        let x = 0.0..t_end / unit;
        let panels = root.split_evenly((4, 1));
        let xfmt = |v: &f64| num(*v);
        let xdesc = format!("time ({uname})");

        // 1. Offered load: the same arrivals reach every run (common random numbers), so
        // it is drawn once, from the first run.
        {
            let first = runs.first().map(|r| r.series).unwrap_or(&[]);
            let hi = first.iter().map(|s| s.offered_rps).fold(0.0, f64::max);
            let mut c = panel(&panels[0], "Offered load", 28)
                .build_cartesian_2d(x.clone(), 0.0..span(0.0, hi.max(1e-9)).1)
                .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(0)
                .x_labels(12)
                .y_labels(5)
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|v| num(*v))
                .y_desc("req/s")
                .draw()
                .map_err(err)?;
            c.draw_series(AreaSeries::new(
                first.iter().map(|s| (s.t_s / unit, s.offered_rps)),
                0.0,
                INK.mix(0.15),
            ))
            .map_err(err)?;
            c.draw_series(LineSeries::new(
                first.iter().map(|s| (s.t_s / unit, s.offered_rps)),
                INK.stroke_width(1),
            ))
            .map_err(err)?
            .label("offered load (req/s)")
            .legend(legend_line(INK));
            legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        }

        // 2. Replicas.
        {
            let hi = runs
                .iter()
                .flat_map(|r| r.series.iter())
                .map(|s| s.desired_replicas.max(s.ready_replicas) as f64)
                .fold(1.0, f64::max);
            let mut c = panel(
                &panels[1],
                "Replicas (solid: ready, dashed: desired; ▲ scale-up, ▼ scale-down)",
                28,
            )
            .build_cartesian_2d(x.clone(), 0.0..hi * 1.15 + 0.5)
            .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(0)
                .x_labels(12)
                .y_labels(6)
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|v| num(*v))
                .y_desc("pods")
                .draw()
                .map_err(err)?;
            for r in runs {
                let color = r.color;
                c.draw_series(DashedLineSeries::new(
                    r.series
                        .iter()
                        .map(|s| (s.t_s / unit, s.desired_replicas as f64)),
                    6,
                    4,
                    color.stroke_width(1),
                ))
                .map_err(err)?;
                c.draw_series(LineSeries::new(
                    r.series
                        .iter()
                        .map(|s| (s.t_s / unit, s.ready_replicas as f64)),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("{} ({} scaling events)", r.label, r.events.len()))
                .legend(legend_line(color));
                c.draw_series(r.events.iter().map(|&(t, n, up)| {
                    let d = if up { -1 } else { 1 };
                    EmptyElement::at((t / unit, n))
                        + Polygon::new(vec![(-3, -3 * d), (3, -3 * d), (0, 3 * d)], color.filled())
                }))
                .map_err(err)?;
            }
            legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        }

        // 3. p95 latency per window, log scale, against the SLO.
        {
            let vals: Vec<f64> = runs
                .iter()
                .flat_map(|r| r.series.iter())
                .map(|s| s.p95_ms)
                .filter(|v| *v > 0.0)
                .collect();
            let lo = vals.iter().copied().fold(slo_p95_ms, f64::min).max(1e-3) / 1.5;
            let hi = vals.iter().copied().fold(slo_p95_ms, f64::max) * 1.5;
            let mut c = panel(&panels[2], "p95 latency per window against the SLO", 28)
                .build_cartesian_2d(x.clone(), (lo..hi).log_scale())
                .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(0)
                .x_labels(12)
                .y_labels(12)
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|v| num(*v))
                .y_desc("ms (log)")
                .draw()
                .map_err(err)?;
            c.draw_series(DashedLineSeries::new(
                [(x.start, slo_p95_ms), (x.end, slo_p95_ms)],
                8,
                5,
                SLO.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("SLO: p95 ≤ {} ms", num(slo_p95_ms)))
            .legend(legend_line(SLO));
            for r in runs {
                c.draw_series(LineSeries::new(
                    r.series
                        .iter()
                        .filter(|s| s.p95_ms > 0.0)
                        .map(|s| (s.t_s / unit, s.p95_ms)),
                    r.color.stroke_width(2),
                ))
                .map_err(err)?
                .label(r.label)
                .legend(legend_line(r.color));
            }
            legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        }

        // 4. Queue length.
        {
            let hi = runs
                .iter()
                .flat_map(|r| r.series.iter())
                .map(|s| s.queue_length as f64)
                .fold(0.0, f64::max);
            let mut c = panel(&panels[3], "Queue length", 36)
                .build_cartesian_2d(x.clone(), 0.0..(hi * 1.1).max(1.0))
                .map_err(err)?;
            c.configure_mesh()
                .max_light_lines(0)
                .x_labels(12)
                .y_labels(5)
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|v| num(*v))
                .y_desc("requests")
                .x_desc(xdesc.as_str())
                .draw()
                .map_err(err)?;
            for r in runs {
                c.draw_series(LineSeries::new(
                    r.series
                        .iter()
                        .map(|s| (s.t_s / unit, s.queue_length as f64)),
                    r.color.stroke_width(2),
                ))
                .map_err(err)?
                .label(r.label)
                .legend(legend_line(r.color));
            }
            legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        }
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// One cell of a heatmap: its value, and whether it meets the SLOs. `None`: not evaluated.
pub type Cell = Option<(f64, bool)>;

/// A latency distribution: `(ms, fraction at or below)` points.
pub struct Cdf<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub points: &'a [(f64, f64)],
}

/// Latency CDFs on a log time axis, with the SLO's p95 bound.
pub fn latency_cdf(curves: &[Cdf<'_>], slo_p95_ms: f64) -> ChartResult {
    let mut buf = String::new();
    {
        let root = new_svg(&mut buf, 480);
        root.fill(&WHITE).map_err(err)?;
        let xs = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .filter(|v| *v > 0.0);
        let (lo, hi) = xs.fold((slo_p95_ms, slo_p95_ms), |(a, b), v| (a.min(v), b.max(v)));
        let mut c = ChartBuilder::on(&root)
            .caption("Latency distribution (entry deployment)", (FONT, 20))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((lo.max(1e-3) / 1.5..hi * 1.5).log_scale(), 0.0..100.0)
            .map_err(err)?;
        c.configure_mesh()
            .max_light_lines(0)
            .x_labels(10)
            .y_labels(11)
            .x_label_formatter(&|v| num(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("latency (ms, log scale)")
            .y_desc("requests at or below (%)")
            .draw()
            .map_err(err)?;
        c.draw_series(DashedLineSeries::new(
            [(slo_p95_ms, 0.0), (slo_p95_ms, 100.0)],
            8,
            5,
            SLO.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("SLO: p95 ≤ {} ms", num(slo_p95_ms)))
        .legend(legend_line(SLO));
        c.draw_series(DashedLineSeries::new(
            [(lo.max(1e-3) / 1.5, 95.0), (hi * 1.5, 95.0)],
            3,
            4,
            INK.mix(0.5).stroke_width(1),
        ))
        .map_err(err)?;
        for cv in curves {
            c.draw_series(LineSeries::new(
                cv.points
                    .iter()
                    .filter(|p| p.0 > 0.0)
                    .map(|&(ms, f)| (ms, f * 100.0)),
                cv.color.stroke_width(2),
            ))
            .map_err(err)?
            .label(cv.label)
            .legend(legend_line(cv.color));
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Share of time at each replica count.
pub struct ReplicaShare<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    /// `(replicas, fraction of time)`.
    pub shares: Vec<(u32, f64)>,
}

/// Replica-count histogram, runs side by side.
pub fn replica_histogram(runs: &[ReplicaShare<'_>]) -> ChartResult {
    let mut buf = String::new();
    {
        let root = new_svg(&mut buf, 480);
        root.fill(&WHITE).map_err(err)?;
        let (lo, hi) = runs
            .iter()
            .flat_map(|r| r.shares.iter().map(|s| s.0))
            .fold((u32::MAX, 0), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo > hi { (0, 1) } else { (lo, hi) };
        let top = runs
            .iter()
            .flat_map(|r| r.shares.iter().map(|s| s.1 * 100.0))
            .fold(1.0, f64::max);
        let mut c = ChartBuilder::on(&root)
            .caption("Time at each replica count (entry deployment)", (FONT, 20))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(lo as f64 - 0.5..hi as f64 + 0.5, 0.0..top * 1.1)
            .map_err(err)?;
        let n = (hi - lo + 1) as usize;
        c.configure_mesh()
            .max_light_lines(0)
            .disable_x_mesh()
            .x_labels(n.min(25) + 1)
            .y_labels(8)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 {
                    format!("{:.0}", v)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("ready replicas")
            .y_desc("time (%)")
            .draw()
            .map_err(err)?;
        let k = runs.len().max(1) as f64;
        let w = 0.8 / k;
        for (i, r) in runs.iter().enumerate() {
            let color = r.color;
            c.draw_series(r.shares.iter().map(|&(n, f)| {
                let x0 = n as f64 - 0.4 + w * i as f64;
                Rectangle::new([(x0, 0.0), (x0 + w * 0.95, f * 100.0)], color.filled())
            }))
            .map_err(err)?
            .label(r.label)
            .legend(legend_box(color));
        }
        legend(&mut c, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Sensitivity of cost and of SLO attainment to each axis: `(axis, cost share,
/// attainment share)`, shares in 0..1.
pub fn sensitivity(axes: &[(String, f64, f64)]) -> ChartResult {
    let mut buf = String::new();
    let n = axes.len().max(1);
    let h = (120 + 56 * n as u32).clamp(240, 900);
    {
        let root = new_svg(&mut buf, h);
        root.fill(&WHITE).map_err(err)?;
        let label_w = axes.iter().map(|a| a.0.len()).max().unwrap_or(4) as u32 * 7 + 20;
        let mut c = ChartBuilder::on(&root)
            .caption(
                "Which settings matter (share of variance explained)",
                (FONT, 20),
            )
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(label_w.clamp(60, 360))
            .build_cartesian_2d(0.0..100.0, -0.5..n as f64 - 0.5)
            .map_err(err)?;
        let names: Vec<String> = axes.iter().map(|a| a.0.clone()).collect();
        c.configure_mesh()
            .max_light_lines(0)
            .disable_y_mesh()
            .x_labels(11)
            .y_labels(n + 1)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
                    // Most important on top.
                    let i = n - 1 - v.round() as usize;
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("share of variance (%)")
            .draw()
            .map_err(err)?;
        for (k, (label, color)) in [("cost", RECOMMENDED), ("SLO windows met", GREEN)]
            .into_iter()
            .enumerate()
        {
            c.draw_series(axes.iter().enumerate().map(|(i, a)| {
                let y = (n - 1 - i) as f64;
                let v = if k == 0 { a.1 } else { a.2 } * 100.0;
                let (y0, y1) = if k == 0 { (y, y + 0.38) } else { (y - 0.38, y) };
                Rectangle::new([(0.0, y0), (v.clamp(0.0, 100.0), y1)], color.filled())
            }))
            .map_err(err)?
            .label(label)
            .legend(legend_box(color));
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Rasterise an SVG chart to PNG with the system's fonts.
pub fn to_png(svg: &str) -> Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let families: Vec<String> = opt
        .fontdb
        .faces()
        .filter_map(|f| f.families.first().map(|x| x.0.clone()))
        .collect();
    let Some(family) = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"]
        .iter()
        .find(|f| families.iter().any(|g| g == *f))
        .map(|f| f.to_string())
        .or_else(|| families.first().cloned())
    else {
        return Err(
            "PNG charts need a system font and none was found: install one (Debian: apt-get install fonts-dejavu-core) or use the SVG charts".into(),
        );
    };
    opt.fontdb_mut().set_sans_serif_family(family);
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| format!("reading the SVG: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pm = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| "empty chart".to_string())?;
    pm.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pm.as_mut());
    pm.encode_png().map_err(|e| format!("encoding PNG: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), RGBColor(0xFD, 0xE7, 0x25));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }

    fn texts_and_lines(svg: &str) -> (Vec<String>, usize) {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        let t = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect();
        let l = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
            .count();
        (t, l)
    }

    #[test]
    fn heatmap_crosses_out_infeasible_cells_and_marks_missing_ones() {
        let labels = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cells = vec![
            vec![Some((10.0, true)), Some((20.0, false))],
            vec![None, Some((30.0, true))],
        ];
        let svg = heatmap(
            "t",
            "x axis",
            &labels(&["a", "b"]),
            "y axis",
            &labels(&["c", "d"]),
            &cells,
            "pod-hours",
        )
        .unwrap();
        let (t, lines) = texts_and_lines(&svg);
        // One cell fails: the two strokes of its cross (axes and ticks are thinner).
        assert_eq!(lines, 2, "{svg}");
        assert_eq!(t.iter().filter(|x| *x == "n/a").count(), 1);
        for v in [
            "10",
            "20",
            "30",
            "a",
            "b",
            "c",
            "d",
            "x axis",
            "y axis",
            "pod-hours",
        ] {
            assert!(t.iter().any(|x| x == v), "{v} missing from {t:?}");
        }
        // Every cell feasible: no cross at all.
        let ok = vec![vec![Some((1.0, true)), Some((2.0, true))]];
        let svg = heatmap(
            "t",
            "x",
            &labels(&["a", "b"]),
            "y",
            &labels(&["c"]),
            &ok,
            "v",
        )
        .unwrap();
        assert_eq!(texts_and_lines(&svg).1, 0);
    }

    #[test]
    fn a_flat_series_still_gets_a_range() {
        assert_eq!(span(5.0, 5.0), (4.5, 5.5));
        assert_eq!(span(f64::NAN, 1.0), (0.0, 1.0));
        let (lo, hi) = span(0.0, 10.0);
        assert!(lo == 0.0 && hi > 10.0);
    }

    #[test]
    fn tick_numbers_are_short() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(12_400.0), "12k");
        assert_eq!(num(1500.0), "1500");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(0.125), "0.125");
    }
}
