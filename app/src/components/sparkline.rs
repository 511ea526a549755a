//! A tiny SVG line chart of recent values (no JavaScript chart library).

use leptos::prelude::*;

/// SVG path `d` for `values` scaled into a `w`×`h` box with `max` at the top.
pub fn path(values: &[f64], w: f64, h: f64, max: f64) -> String {
    if values.len() < 2 || max <= 0.0 {
        return String::new();
    }
    let step = w / (values.len() - 1) as f64;
    let mut d = String::with_capacity(values.len() * 12);
    for (i, v) in values.iter().enumerate() {
        let v = if v.is_finite() {
            v.clamp(0.0, max)
        } else {
            0.0
        };
        let x = i as f64 * step;
        let y = h - v / max * h;
        d.push_str(if i == 0 { "M" } else { "L" });
        d.push_str(&format!("{x:.1},{y:.1}"));
    }
    d
}

/// A sparkline whose values come from a closure re-run on every tick.
#[component]
pub fn Sparkline(
    #[prop(into)] values: Signal<Vec<f64>>,
    /// Value at the top of the box; the series' own maximum when larger.
    #[prop(into)]
    max: Signal<f64>,
    #[prop(optional, into)] class: String,
) -> impl IntoView {
    const W: f64 = 120.0;
    const H: f64 = 32.0;
    let d = move || {
        let vals = values.get();
        let top = vals.iter().copied().fold(max.get(), f64::max);
        path(&vals, W, H, top)
    };
    view! {
        <svg class=format!("sparkline {class}") viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img" aria-label="last 60 seconds">
            <path d=d />
        </svg>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_scales_into_the_box() {
        let d = super::path(&[0.0, 50.0, 100.0], 100.0, 10.0, 100.0);
        assert_eq!(d, "M0.0,10.0L50.0,5.0L100.0,0.0");
        assert_eq!(super::path(&[1.0], 100.0, 10.0, 100.0), "");
        assert_eq!(
            super::path(&[f64::NAN, 200.0], 10.0, 10.0, 100.0),
            "M0.0,10.0L10.0,0.0"
        );
    }
}
