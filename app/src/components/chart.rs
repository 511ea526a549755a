//! A time chart in SVG drawn by the app itself: lines, a shaded interval band, horizontal
//! limits and event marks, with a few labelled ticks. No JavaScript chart library.

use leptos::prelude::*;

const W: f64 = 800.0;
const H: f64 = 220.0;
const LEFT: f64 = 66.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Line {
    /// CSS class: colour and dash.
    pub class: &'static str,
    pub label: &'static str,
    /// (seconds relative to now, value)
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChartData {
    pub x0: f64,
    pub x1: f64,
    pub y_max: f64,
    pub lines: Vec<Line>,
    /// (x, low, high)
    pub band: Vec<(f64, f64, f64)>,
    /// Horizontal reference lines: (value, class, label).
    pub limits: Vec<(f64, &'static str, &'static str)>,
    /// Vertical event marks: (x, label).
    pub marks: Vec<(f64, String)>,
    /// A limit too far above the data to draw, named in the legend instead.
    pub off_scale: Option<String>,
}

fn sx(d: &ChartData, x: f64) -> f64 {
    let span = (d.x1 - d.x0).max(1e-9);
    LEFT + (x - d.x0) / span * (W - LEFT - RIGHT)
}

fn sy(d: &ChartData, y: f64) -> f64 {
    let top = d.y_max.max(1e-9);
    let y = if y.is_finite() {
        y.clamp(0.0, top)
    } else {
        0.0
    };
    TOP + (1.0 - y / top) * (H - TOP - BOTTOM)
}

/// SVG path of a line.
pub fn line_path(d: &ChartData, pts: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(pts.len() * 14);
    for (i, (x, y)) in pts.iter().enumerate() {
        s.push(if i == 0 { 'M' } else { 'L' });
        s.push_str(&format!("{:.1},{:.1}", sx(d, *x), sy(d, *y)));
    }
    s
}

/// SVG path of the band: along the highs, back along the lows.
pub fn band_path(d: &ChartData) -> String {
    if d.band.len() < 2 {
        return String::new();
    }
    let highs: Vec<(f64, f64)> = d.band.iter().map(|(x, _, hi)| (*x, *hi)).collect();
    let mut s = line_path(d, &highs);
    for (x, lo, _) in d.band.iter().rev() {
        s.push_str(&format!("L{:.1},{:.1}", sx(d, *x), sy(d, *lo)));
    }
    s.push('Z');
    s
}

/// A round step for about four ticks up to `max`.
pub fn tick_step(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

#[component]
pub fn TimeChart(
    #[prop(into)] data: Signal<ChartData>,
    /// Formats a y value for the axis.
    fmt: fn(f64) -> String,
    #[prop(into)] label: String,
) -> AnyView {
    let y_ticks = move || {
        data.with(|d| {
            let step = tick_step(d.y_max);
            let mut v = Vec::new();
            let mut y = 0.0;
            while y <= d.y_max + 1e-9 && v.len() < 8 {
                v.push((sy(d, y), fmt(y)));
                y += step;
            }
            v
        })
    };
    let x_ticks = move || {
        data.with(|d| {
            let span = d.x1 - d.x0;
            let step = tick_step(span);
            let mut v = Vec::new();
            let mut x = (d.x0 / step).ceil() * step;
            while x <= d.x1 + 1e-9 && v.len() < 10 {
                v.push((sx(d, x), format!("{x:.0} s")));
                x += step;
            }
            v
        })
    };
    view! {
        <figure class="timechart">
            <figcaption>{label}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img">
                <g class="grid">
                    {move || y_ticks().into_iter().map(|(y, t)| view! {
                        <line x1=LEFT x2=W - RIGHT y1=y y2=y />
                        <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{t}</text>
                    }).collect_view()}
                    {move || x_ticks().into_iter().map(|(x, t)| view! {
                        <text x=x y=H - 6.0 text-anchor="middle">{t}</text>
                    }).collect_view()}
                </g>
                <path class="band" d=move || data.with(band_path) />
                {move || data.with(|d| d.limits.iter().map(|(v, class, _)| {
                    let y = sy(d, *v);
                    view! { <line class=format!("limit {class}") x1=LEFT x2=W - RIGHT y1=y y2=y /> }
                }).collect_view())}
                {move || data.with(|d| d.lines.iter().map(|l| {
                    view! { <path class=format!("series {}", l.class) d=line_path(d, &l.points) /> }
                }).collect_view())}
                {move || data.with(|d| d.marks.iter().map(|(x, t)| {
                    let x = sx(d, *x);
                    // Near the right edge the word sits left of its line, so it is not cut off.
                    let (anchor, tx) = if x > LEFT + (W - LEFT - RIGHT) * 0.8 {
                        ("end", x - 3.0)
                    } else {
                        ("start", x + 3.0)
                    };
                    view! {
                        <line class="mark" x1=x x2=x y1=TOP y2=H - BOTTOM />
                        <text class="mark" text-anchor=anchor x=tx y=TOP + 12.0>{t.clone()}</text>
                    }
                }).collect_view())}
            </svg>
            <div class="legend">
                {move || data.with(|d| d.lines.iter().map(|l| view! {
                    <span class=format!("key {}", l.class)>{l.label}</span>
                }).collect_view())}
                {move || data.with(|d| (!d.band.is_empty()).then(|| view! { <span class="key band">"95 % interval"</span> }))}
                {move || data.with(|d| d.limits.iter().map(|(_, class, label)| view! {
                    <span class=format!("key limit {class}")>{*label}</span>
                }).collect_view())}
                {move || data.with(|d| d.off_scale.clone().map(|t| view! {
                    <span class="key limit off-scale" data-testid="off-scale">{t}</span>
                }))}
            </div>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_paths() {
        let d = ChartData {
            x0: -60.0,
            x1: 0.0,
            y_max: 100.0,
            band: vec![(-60.0, 0.0, 10.0), (0.0, 0.0, 100.0)],
            ..ChartData::default()
        };
        assert_eq!(
            line_path(&d, &[(-60.0, 0.0), (0.0, 100.0)]),
            "M66.0,196.0L790.0,10.0"
        );
        assert!(band_path(&d).ends_with('Z'));
        assert_eq!(tick_step(100.0), 25.0);
        assert_eq!(tick_step(60.0), 20.0);
        assert_eq!(tick_step(0.0), 1.0);
    }
}
