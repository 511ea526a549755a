//! The report's SVG charts, drawn with plotters: CPU actual vs forecast with its 95 % band, and
//! memory vs its limit, over the incident window, with interventions marked on the time axis.
//!
//! Only numbers and fixed words reach plotters (no container names or labels), so the SVG can
//! be embedded as is.

use crate::store::live::HistoryPoint;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(String);

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

const W: u32 = 900;
const H: u32 = 280;
const ACTUAL: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
const FORECAST: RGBColor = RGBColor(0xc0, 0x6c, 0x00);
const LIMIT: RGBColor = RGBColor(0xb0, 0x1e, 0x1e);
const MARK: RGBColor = RGBColor(0x6a, 0x1b, 0x9a);

/// An intervention on the time axis: when (ms) and a fixed word.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub ts_ms: i64,
    pub label: &'static str,
}

fn secs(ts_ms: i64, t0_ms: i64) -> f64 {
    (ts_ms - t0_ms) as f64 / 1000.0
}

fn x_range(points: &[HistoryPoint], t0_ms: i64, extra_s: f64) -> (f64, f64) {
    let first = points
        .first()
        .map_or(-60.0, |p| secs(p.sample.ts_ms, t0_ms));
    let last = points.last().map_or(60.0, |p| secs(p.sample.ts_ms, t0_ms)) + extra_s;
    if last - first < 1.0 {
        (first - 1.0, first + 1.0)
    } else {
        (first, last)
    }
}

/// The frame both charts share: a white canvas with mesh and axis titles, the caller's series,
/// then the intervention marks and the legend.
fn framed(
    (x0, x1): (f64, f64),
    top: f64,
    y_desc: &str,
    marks: &[Mark],
    t0_ms: i64,
    series: impl FnOnce(&mut Chart) -> Result<(), ChartError>,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("seconds from the incident's start")
            .y_desc(y_desc)
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(err)?;
        series(&mut chart)?;
        draw_marks(&mut chart, marks, t0_ms, (x0, x1), top)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A legend key: a short line in the series' style.
fn key(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style)
}

/// CPU % actual and forecast (placed at the time it forecasts), with the 95 % interval band.
pub fn cpu_chart(
    points: &[HistoryPoint],
    t0_ms: i64,
    horizon_s: f64,
    quota_pct: Option<f64>,
    marks: &[Mark],
) -> Result<String, ChartError> {
    let (x0, x1) = x_range(points, t0_ms, horizon_s);
    let top = points
        .iter()
        .flat_map(|p| [Some(p.sample.cpu_pct), p.cpu_hi95, p.cpu_forecast])
        .flatten()
        .chain(quota_pct)
        .filter(|v| v.is_finite())
        .fold(10.0f64, f64::max)
        * 1.1;
    let at = |p: &HistoryPoint| secs(p.sample.ts_ms, t0_ms);
    framed(
        (x0, x1),
        top,
        "CPU % (100 = one core)",
        marks,
        t0_ms,
        |chart| {
            let band: Vec<(f64, f64)> = points
                .iter()
                .filter_map(|p| Some((at(p) + horizon_s, p.cpu_hi95?)))
                .chain(
                    points
                        .iter()
                        .rev()
                        .filter_map(|p| Some((at(p) + horizon_s, p.cpu_lo95?.max(0.0)))),
                )
                .collect();
            if band.len() >= 4 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band,
                        FORECAST.mix(0.15).filled(),
                    )))
                    .map_err(err)?
                    .label("95 % prediction interval")
                    .legend(|(x, y)| {
                        Rectangle::new([(x, y - 4), (x + 18, y + 4)], FORECAST.mix(0.15).filled())
                    });
            }
            if let Some(q) = quota_pct {
                chart
                    .draw_series(LineSeries::new([(x0, q), (x1, q)], LIMIT.stroke_width(1)))
                    .map_err(err)?
                    .label("CPU quota")
                    .legend(key(LIMIT.stroke_width(1)));
            }
            chart
                .draw_series(LineSeries::new(
                    points
                        .iter()
                        .filter_map(|p| Some((at(p) + horizon_s, p.cpu_forecast?))),
                    FORECAST.stroke_width(2),
                ))
                .map_err(err)?
                .label("forecast (t+10 s)")
                .legend(key(FORECAST.stroke_width(2)));
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (at(p), p.sample.cpu_pct)),
                    ACTUAL.stroke_width(2),
                ))
                .map_err(err)?
                .label("measured")
                .legend(key(ACTUAL.stroke_width(2)));
            Ok(())
        },
    )
}

/// Memory in MiB against the container's limit.
pub fn memory_chart(
    points: &[HistoryPoint],
    t0_ms: i64,
    marks: &[Mark],
) -> Result<String, ChartError> {
    const MIB: f64 = 1024.0 * 1024.0;
    let (x0, x1) = x_range(points, t0_ms, 0.0);
    let limit = points
        .iter()
        .map(|p| p.sample.mem_limit_bytes as f64 / MIB)
        .fold(0.0f64, f64::max);
    let used_max = points
        .iter()
        .map(|p| p.sample.mem_bytes as f64 / MIB)
        .fold(1.0f64, f64::max);
    // A host-sized "limit" would flatten the curve: draw it only when it is in view.
    let show_limit = limit > 0.0 && limit <= used_max * 4.0;
    let top = if show_limit { limit } else { used_max } * 1.1;
    let at = |p: &HistoryPoint| secs(p.sample.ts_ms, t0_ms);
    framed((x0, x1), top, "memory, MiB", marks, t0_ms, |chart| {
        if show_limit {
            chart
                .draw_series(LineSeries::new(
                    points
                        .iter()
                        .map(|p| (at(p), p.sample.mem_limit_bytes as f64 / MIB)),
                    LIMIT.stroke_width(2),
                ))
                .map_err(err)?
                .label("limit")
                .legend(key(LIMIT.stroke_width(2)));
        } else if limit > 0.0 {
            // Say where the limit is even when drawing it would flatten the curve.
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(err)?
                .label(format!("limit {limit:.0} MiB (far above, not to scale)"))
                .legend(key(LIMIT.stroke_width(2)));
        }
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .map(|p| (at(p), p.sample.mem_bytes as f64 / MIB)),
                ACTUAL.stroke_width(2),
            ))
            .map_err(err)?
            .label("in use")
            .legend(key(ACTUAL.stroke_width(2)));
        Ok(())
    })
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_marks(
    chart: &mut Chart,
    marks: &[Mark],
    t0_ms: i64,
    (x0, x1): (f64, f64),
    top: f64,
) -> Result<(), ChartError> {
    for m in marks {
        let x = secs(m.ts_ms, t0_ms);
        chart
            .draw_series(LineSeries::new([(x, 0.0), (x, top)], MARK.stroke_width(2)))
            .map_err(err)?;
        // Near the right edge the word goes to the left of its line, so it is not cut off.
        let side = if x > x0 + (x1 - x0) * 0.8 {
            HPos::Right
        } else {
            HPos::Left
        };
        let style = ("sans-serif", 13)
            .into_font()
            .color(&MARK)
            .pos(Pos::new(side, VPos::Top));
        chart
            .draw_series(std::iter::once(Text::new(m.label, (x, top * 0.99), style)))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::Sample;

    fn pts(n: i64) -> Vec<HistoryPoint> {
        (0..n)
            .map(|i| HistoryPoint {
                cpu_forecast: Some(50.0 + i as f64),
                cpu_lo95: Some(40.0 + i as f64),
                cpu_hi95: Some(60.0 + i as f64),
                ..HistoryPoint::new(
                    Sample {
                        ts_ms: i * 1000,
                        cpu_pct: i as f64,
                        mem_bytes: (i as u64 + 1) << 20,
                        mem_limit_bytes: 64 << 20,
                        ..Sample::default()
                    },
                    None,
                )
            })
            .collect()
    }

    /// The opening `<text …>` tag of the mark's word.
    fn mark_tag(svg: &str) -> &str {
        let word = svg.find("restart").expect("mark drawn");
        let start = svg[..word].rfind("<text").expect("in a text element");
        &svg[start..word]
    }

    #[test]
    fn charts_are_svg_with_their_series_and_marks() {
        let marks = [Mark {
            ts_ms: 30_000,
            label: "restart",
        }];
        let cpu = cpu_chart(&pts(60), 10_000, 10.0, Some(100.0), &marks).expect("cpu chart");
        assert!(cpu.starts_with("<svg"), "{}", &cpu[..80]);
        assert!(
            cpu.contains("restart")
                && cpu.contains("forecast (t+10 s)")
                && cpu.contains("<polygon")
        );
        let mem = memory_chart(&pts(60), 10_000, &marks).expect("memory chart");
        assert!(mem.contains("limit") && mem.contains("in use"));
        assert!(!mark_tag(&mem).contains(r#"text-anchor="end""#));
        let late = [Mark {
            ts_ms: 68_000,
            label: "restart",
        }];
        let mem = memory_chart(&pts(60), 10_000, &late).expect("memory chart");
        assert!(
            mark_tag(&mem).contains(r#"text-anchor="end""#),
            "a late mark's word sits left of its line"
        );
    }

    #[test]
    fn a_limit_far_above_use_is_named_not_drawn() {
        let mut points = pts(30);
        for p in &mut points {
            p.sample.mem_limit_bytes = 4096 << 20;
        }
        let mem = memory_chart(&points, 0, &[]).expect("memory chart");
        assert!(mem.contains("limit 4096 MiB (far above, not to scale)"));
        let near = memory_chart(&pts(30), 0, &[]).expect("memory chart");
        assert!(!near.contains("far above"));
    }

    #[test]
    fn empty_or_single_point_windows_still_render() {
        assert!(cpu_chart(&[], 0, 10.0, None, &[]).is_ok());
        assert!(memory_chart(&pts(1), 0, &[]).is_ok());
    }
}
