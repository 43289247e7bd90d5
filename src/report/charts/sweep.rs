//! The sweep's charts: the Pareto front of cost against SLO windows met, and heatmaps of cost
//! over two axes.

use super::*;

/// A configuration on the Pareto chart.
pub struct ParetoPoint {
    pub cost: f64,
    /// Fraction of SLO windows met (0..1).
    pub attainment: f64,
    pub scaling_events: f64,
    pub on_front: bool,
    pub feasible: bool,
}

/// Cost against SLO attainment, stability (scaling events) as colour, the front joined, the
/// current settings and the recommendation marked.
pub fn pareto(
    cost_label: &str,
    points: &[ParetoPoint],
    baseline: Option<(f64, f64)>,
    recommended: Option<(f64, f64)>,
) -> ChartResult {
    let mut buf = String::new();
    {
        let root = new_svg(&mut buf, 560);
        root.fill(&WHITE).map_err(err)?;
        let all_x = points
            .iter()
            .map(|p| p.cost)
            .chain(baseline.map(|b| b.0))
            .chain(recommended.map(|r| r.0));
        let (xlo, xhi) = all_x.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (xlo, xhi) = span(xlo, xhi);
        let pad = (xhi - xlo) * 0.03;
        let all_y = points
            .iter()
            .map(|p| p.attainment * 100.0)
            .chain(baseline.map(|b| b.1 * 100.0))
            .chain(recommended.map(|r| r.1 * 100.0));
        let ylo = all_y.fold(100.0, f64::min);
        let ylo = (ylo - (100.0 - ylo).max(1.0) * 0.1).max(0.0);
        let mut c = ChartBuilder::on(&root)
            .caption(
                "Cost against SLO attainment (colour: scaling events)",
                (FONT, 20),
            )
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(xlo - pad..xhi + pad, ylo..100.5)
            .map_err(err)?;
        c.configure_mesh()
            .max_light_lines(0)
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|v| num(*v))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .x_desc(cost_label)
            .y_desc("SLO windows met (%)")
            .draw()
            .map_err(err)?;
        let (elo, ehi) = points
            .iter()
            .map(|p| p.scaling_events)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let tone = |e: f64| {
            if ehi > elo {
                viridis((e - elo) / (ehi - elo))
            } else {
                viridis(0.5)
            }
        };
        // Legend entries for the colour scale: fewest, middle, most events.
        if elo.is_finite() {
            for (v, what) in [
                (elo, "fewest"),
                ((elo + ehi) / 2.0, "middle"),
                (ehi, "most"),
            ] {
                if ehi <= elo && what != "fewest" {
                    continue;
                }
                let color = tone(v);
                c.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                    .map_err(err)?
                    .label(format!("{} scaling events ({what})", num(v)))
                    .legend(move |(x, y)| Circle::new((x + 6, y), 5, color.filled()));
            }
        }
        c.draw_series(points.iter().filter(|p| !p.on_front).map(|p| {
            let style = if p.feasible {
                tone(p.scaling_events).mix(0.8).filled()
            } else {
                tone(p.scaling_events).mix(0.8).stroke_width(1)
            };
            Circle::new((p.cost, p.attainment * 100.0), 4, style)
        }))
        .map_err(err)?;
        let mut front: Vec<&ParetoPoint> = points.iter().filter(|p| p.on_front).collect();
        front.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        c.draw_series(LineSeries::new(
            front.iter().map(|p| (p.cost, p.attainment * 100.0)),
            INK.mix(0.6).stroke_width(1),
        ))
        .map_err(err)?
        .label("Pareto front")
        .legend(legend_line(INK));
        c.draw_series(front.iter().map(|p| {
            EmptyElement::at((p.cost, p.attainment * 100.0))
                + Circle::new((0, 0), 6, tone(p.scaling_events).filled())
                + Circle::new((0, 0), 6, BLACK.stroke_width(1))
        }))
        .map_err(err)?;
        if let Some((x, y)) = baseline {
            c.draw_series(std::iter::once(
                EmptyElement::at((x, y * 100.0))
                    + TriangleMarker::new((0, 0), 9, BASELINE.filled())
                    + TriangleMarker::new((0, 0), 9, BLACK.stroke_width(1)),
            ))
            .map_err(err)?
            .label("current settings")
            .legend(|(x, y)| TriangleMarker::new((x + 6, y), 6, BASELINE.filled()));
        }
        if let Some((x, y)) = recommended {
            c.draw_series(std::iter::once(
                EmptyElement::at((x, y * 100.0))
                    + Circle::new((0, 0), 11, RECOMMENDED.stroke_width(3)),
            ))
            .map_err(err)?
            .label("recommended")
            .legend(|(x, y)| Circle::new((x + 6, y), 6, RECOMMENDED.stroke_width(3)));
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// A two-axis slice: `cells[y][x]`, coloured by value; cells that fail the SLOs crossed out.
pub fn heatmap(
    title: &str,
    x_name: &str,
    x_values: &[String],
    y_name: &str,
    y_values: &[String],
    cells: &[Vec<Cell>],
    value_label: &str,
) -> ChartResult {
    let mut buf = String::new();
    let (nx, ny) = (x_values.len().max(1), y_values.len().max(1));
    {
        let root = new_svg(&mut buf, 560);
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(title, (FONT, 18)).map_err(err)?;
        let (body, footer) = root.split_vertically(560 - 60);
        let (main, bar) = body.split_horizontally(WIDTH - 120);
        let vals: Vec<f64> = cells.iter().flatten().flatten().map(|c| c.0).collect();
        let (lo, hi) = vals
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let ylabel_w = y_values.iter().map(|s| s.len()).max().unwrap_or(1) as u32 * 8 + 40;
        let mut c = ChartBuilder::on(&main)
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(ylabel_w.clamp(60, 220))
            .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
            .map_err(err)?;
        let xl = x_values.to_vec();
        let yl = y_values.to_vec();
        let at = |v: f64, labels: &[String]| {
            let i = v - 0.5;
            if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
                labels.get(i.round() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        c.configure_mesh()
            .disable_mesh()
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .x_labels(nx * 2 + 1)
            .y_labels(ny * 2 + 1)
            .x_label_formatter(&|v| at(*v, &xl))
            .y_label_formatter(&|v| at(*v, &yl))
            .x_desc(x_name)
            .y_desc(y_name)
            .draw()
            .map_err(err)?;
        let font = (FONT, 14).into_font();
        for (j, row) in cells.iter().enumerate() {
            for (i, cell) in row.iter().enumerate() {
                let (x0, y0) = (i as f64, j as f64);
                let rect = [(x0 + 0.02, y0 + 0.02), (x0 + 0.98, y0 + 0.98)];
                let center = (x0 + 0.5, y0 + 0.5);
                match cell {
                    None => {
                        c.draw_series([Rectangle::new(rect, RGBColor(0xEE, 0xEE, 0xEE).filled())])
                            .map_err(err)?;
                        c.draw_series([Text::new(
                            "n/a",
                            center,
                            font.clone()
                                .color(&RGBColor(0x77, 0x77, 0x77))
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        )])
                        .map_err(err)?;
                    }
                    Some((v, ok)) => {
                        let t = scale(*v);
                        c.draw_series([Rectangle::new(rect, viridis(t).filled())])
                            .map_err(err)?;
                        let ink = if t > 0.6 { BLACK } else { WHITE };
                        if !ok {
                            let m = 0.12;
                            c.draw_series([
                                PathElement::new(
                                    vec![(x0 + m, y0 + m), (x0 + 1.0 - m, y0 + 1.0 - m)],
                                    ink.mix(0.7).stroke_width(2),
                                ),
                                PathElement::new(
                                    vec![(x0 + m, y0 + 1.0 - m), (x0 + 1.0 - m, y0 + m)],
                                    ink.mix(0.7).stroke_width(2),
                                ),
                            ])
                            .map_err(err)?;
                        }
                        if nx <= 12 && ny <= 12 {
                            c.draw_series([Text::new(
                                num(*v),
                                center,
                                font.clone()
                                    .color(&ink)
                                    .pos(Pos::new(HPos::Center, VPos::Center)),
                            )])
                            .map_err(err)?;
                        }
                    }
                }
            }
        }
        // Colour bar.
        let mut b = ChartBuilder::on(&bar)
            .margin_top(10)
            .margin_bottom(50)
            .margin_right(10)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..1.0, lo..if hi > lo { hi } else { lo + 1.0 })
            .map_err(err)?;
        b.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .y_labels(6)
            .y_label_formatter(&|v| num(*v))
            .y_desc(value_label)
            .draw()
            .map_err(err)?;
        let steps = 40;
        let top = if hi > lo { hi } else { lo + 1.0 };
        b.draw_series((0..steps).map(|k| {
            let a = lo + (top - lo) * k as f64 / steps as f64;
            let z = lo + (top - lo) * (k + 1) as f64 / steps as f64;
            Rectangle::new(
                [(0.0, a), (1.0, z)],
                viridis(k as f64 / (steps - 1) as f64).filled(),
            )
        }))
        .map_err(err)?;
        footer
            .draw(&Text::new(
                "× = no configuration in this cell meets the SLOs;  n/a = not evaluated at full fidelity",
                (12, 8),
                (FONT, 13).into_font(),
            ))
        .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// The optimizer's convergence: the cost of each configuration it decided (filled: met the
/// constraints with the first seed; hollow: did not), the best feasible cost so far as a step
/// line, and the current settings' cost and the lower bound as horizontal lines.
pub fn convergence(
    cost_label: &str,
    points: &[(f64, f64, bool, Option<f64>)],
    current: Option<f64>,
    bound: Option<f64>,
) -> ChartResult {
    let mut buf = String::new();
    {
        let root = new_svg(&mut buf, 420);
        root.fill(&WHITE).map_err(err)?;
        let ys = points
            .iter()
            .map(|p| p.1)
            .chain(current)
            .chain(bound)
            .filter(|v| v.is_finite());
        let (ylo, yhi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (ylo, yhi) = span(ylo, yhi);
        let pad = (yhi - ylo) * 0.05;
        let n = points.iter().map(|p| p.0).fold(1.0, f64::max);
        let mut c = ChartBuilder::on(&root)
            .caption("The optimizer's progress", (FONT, 20))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n + 1.0, (ylo - pad).max(0.0)..yhi + pad)
            .map_err(err)?;
        c.configure_mesh()
            .max_light_lines(0)
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| num(*v))
            .x_desc("configurations decided by the engine")
            .y_desc(cost_label)
            .draw()
            .map_err(err)?;
        c.draw_series(points.iter().filter(|p| p.1.is_finite()).map(|p| {
            let style = if p.2 {
                RECOMMENDED.mix(0.7).filled()
            } else {
                INK.mix(0.5).stroke_width(1)
            };
            Circle::new((p.0, p.1), 3, style)
        }))
        .map_err(err)?
        .label("a configuration (filled: meets the constraints)")
        .legend(|(x, y)| Circle::new((x + 6, y), 4, RECOMMENDED.mix(0.7).filled()));
        let best: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| p.3.map(|b| (p.0, b)))
            .collect();
        if !best.is_empty() {
            let mut steps = Vec::new();
            for w in best.windows(2) {
                steps.push(w[0]);
                steps.push((w[1].0, w[0].1));
            }
            steps.extend(best.last().copied());
            steps.push((n, best[best.len() - 1].1));
            c.draw_series(LineSeries::new(steps, RECOMMENDED.stroke_width(2)))
                .map_err(err)?
                .label("best feasible so far")
                .legend(legend_line(RECOMMENDED));
        }
        for (v, color, what) in [
            (current, BASELINE, "current settings"),
            (bound, INK, "lower bound"),
        ] {
            if let Some(v) = v {
                c.draw_series(LineSeries::new(
                    [(0.0, v), (n + 1.0, v)],
                    color.mix(0.8).stroke_width(1),
                ))
                .map_err(err)?
                .label(what)
                .legend(legend_line(color));
            }
        }
        legend(&mut c, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}
