//! A virtual grid: of a long list of equally tall cards, only those in or near the viewport are
//! rendered; spacing above and below keeps the scrollbar true to the whole list.
//!
//! A thousand live cards would cost the browser's main thread most of each second (every card
//! updates every tick); a screen shows a few dozen. The maths here is pure; the browser part
//! only measures the page.

use leptos::prelude::*;
use std::ops::Range;

/// A card's height in px (the stylesheet's `.fleet` `grid-auto-rows` says the same).
pub const CARD_H: f64 = 340.0;
/// The gap between cards in px (`.fleet` `gap`).
pub const GAP: f64 = 14.0;
/// The narrowest a card may be (`.fleet` `minmax(300px, 1fr)`).
pub const MIN_CARD_W: f64 = 300.0;
/// Rows rendered beyond the viewport, above and below, so scrolling shows no gaps.
const SPARE_ROWS: usize = 2;

/// What the page shows of the grid: where the window scrolled to, and the grid's place on it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub scroll_y: f64,
    pub height: f64,
    /// The grid's top in page coordinates.
    pub top: f64,
    /// The grid's width.
    pub width: f64,
}

impl Default for Viewport {
    /// Before anything is measured (and on the server): a common laptop screen at the top.
    fn default() -> Self {
        Viewport {
            scroll_y: 0.0,
            height: 900.0,
            top: 0.0,
            width: 1280.0,
        }
    }
}

/// Which cards to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridWindow {
    pub cols: usize,
    pub rows: usize,
    pub first_row: usize,
    /// One past the last row rendered.
    pub end_row: usize,
}

impl GridWindow {
    /// The window over `n` cards for the viewport `vp`.
    pub fn of(n: usize, vp: Viewport) -> Self {
        let pitch = CARD_H + GAP;
        // The same count of columns CSS grid's auto-fill makes of this width.
        let cols = if vp.width.is_finite() && vp.width > 0.0 {
            (((vp.width + GAP) / (MIN_CARD_W + GAP)).floor() as usize).max(1)
        } else {
            1
        };
        let rows = n.div_ceil(cols);
        let above = ((vp.scroll_y - vp.top) / pitch).floor();
        let below = ((vp.scroll_y + vp.height - vp.top) / pitch).ceil();
        let row = |x: f64| {
            if x.is_finite() {
                x.max(0.0) as usize
            } else {
                0
            }
        };
        let first_row = row(above).saturating_sub(SPARE_ROWS).min(rows);
        let end_row = (row(below) + SPARE_ROWS).clamp(first_row, rows);
        GridWindow {
            cols,
            rows,
            first_row,
            end_row,
        }
    }

    /// The indices of the cards to render.
    pub fn range(&self, n: usize) -> Range<usize> {
        let start = (self.first_row * self.cols).min(n);
        start..(self.end_row * self.cols).clamp(start, n)
    }

    /// Space above the first rendered row, in px.
    pub fn pad_top(&self) -> f64 {
        self.first_row as f64 * (CARD_H + GAP)
    }

    /// The whole grid's height, in px.
    pub fn height(&self) -> f64 {
        (self.rows as f64 * (CARD_H + GAP) - GAP).max(0.0)
    }
}

/// Keeps `vp` up to date with the page while the view lives (scrolling, resizing) and whenever
/// `remeasure` changes (e.g. the list). Does nothing on the server.
pub fn track(node: NodeRef<leptos::html::Section>, vp: RwSignal<Viewport>, remeasure: Memo<usize>) {
    #[cfg(feature = "hydrate")]
    {
        let measure = move || {
            if let Some(el) = node.get_untracked() {
                let w = window();
                let scroll_y = w.scroll_y().unwrap_or(0.0);
                let rect = el.get_bounding_client_rect();
                let next = Viewport {
                    scroll_y,
                    height: w
                        .inner_height()
                        .ok()
                        .and_then(|h| h.as_f64())
                        .unwrap_or(900.0),
                    top: rect.top() + scroll_y,
                    width: f64::from(el.client_width()),
                };
                if vp.get_untracked() != next {
                    vp.set(next);
                }
            }
        };
        Effect::new(move |_| {
            remeasure.track();
            node.track();
            measure();
        });
        let scroll = window_event_listener(leptos::ev::scroll, move |_| measure());
        let resize = window_event_listener(leptos::ev::resize, move |_| measure());
        on_cleanup(move || {
            scroll.remove();
            resize.remove();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (node, vp, remeasure);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(scroll_y: f64, height: f64, width: f64) -> Viewport {
        Viewport {
            scroll_y,
            height,
            top: 200.0,
            width,
        }
    }

    #[test]
    fn columns_match_css_auto_fill() {
        assert_eq!(GridWindow::of(10, vp(0.0, 900.0, 1280.0)).cols, 4);
        assert_eq!(GridWindow::of(10, vp(0.0, 900.0, 613.0)).cols, 1);
        assert_eq!(GridWindow::of(10, vp(0.0, 900.0, 614.0)).cols, 2);
        assert_eq!(GridWindow::of(10, vp(0.0, 900.0, 0.0)).cols, 1);
        assert_eq!(GridWindow::of(10, vp(0.0, 900.0, f64::NAN)).cols, 1);
    }

    #[test]
    fn a_thousand_cards_render_only_a_screenful_and_spares() {
        let w = GridWindow::of(1000, vp(0.0, 1080.0, 1888.0));
        assert_eq!(w.cols, 6);
        assert_eq!(w.rows, 167);
        let r = w.range(1000);
        assert_eq!(r.start, 0);
        assert!(r.len() <= 6 * 7, "{r:?}");
        assert_eq!(w.pad_top(), 0.0);
        assert_eq!(w.height(), 167.0 * 354.0 - 14.0);
        // Scrolled to the middle: the rows there, and space above for the ones skipped.
        let mid = GridWindow::of(1000, vp(200.0 + 80.0 * 354.0, 1080.0, 1888.0));
        assert_eq!(mid.first_row, 78);
        assert_eq!(mid.pad_top(), 78.0 * 354.0);
        assert!(mid.range(1000).contains(&(80 * 6)));
        // Scrolled to the very end: the last card is rendered.
        let end = GridWindow::of(1000, vp(200.0 + 167.0 * 354.0, 1080.0, 1888.0));
        assert_eq!(end.range(1000).end, 1000);
    }

    #[test]
    fn small_or_filtered_lists_render_whole() {
        let w = GridWindow::of(7, Viewport::default());
        assert_eq!(w.range(7), 0..7);
        let none = GridWindow::of(0, Viewport::default());
        assert_eq!(none.range(0), 0..0);
        assert_eq!(none.height(), 0.0);
        // Scrolled far below a list that shrank (a search): nothing out of bounds.
        let w = GridWindow::of(3, vp(1e6, 900.0, 1280.0));
        assert!(w.range(3).end <= 3);
    }
}
