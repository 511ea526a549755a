//! Incremental ordinary least squares over a sliding time window.
//!
//! [`SlidingOls`] keeps the points of the last `window` seconds and the running means and
//! co-moments of `(x, y)`, updated in O(1) when a point enters or leaves (Welford's updates, run
//! forwards and backwards). Every `window` evictions the moments are recomputed from the stored
//! points with a fresh time origin, so rounding drift and large time offsets stay bounded. The
//! fit agrees with `linfa_linear::LinearRegression` on the same points (see the tests).

use std::collections::VecDeque;

/// Line fitted to the current window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Number of points.
    pub n: usize,
    /// Slope, in y units per second. 0 when all points share one time.
    pub slope: f64,
    /// Fitted value at time `x` (seconds, in the caller's time base) is `intercept + slope·x`.
    pub intercept: f64,
    /// Residual standard deviation, `sqrt(SSE / (n − 2))`; 0 with fewer than 3 points.
    pub resid_sd: f64,
    /// Mean and sum of squared deviations of x (for prediction intervals).
    pub mean_x: f64,
    pub sxx: f64,
    pub mean_y: f64,
}

impl Fit {
    /// Fitted value at time `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// Standard error of a new observation predicted at `x`.
    pub fn prediction_se(&self, x: f64) -> f64 {
        if self.n < 3 {
            return 0.0;
        }
        let n = self.n as f64;
        let lever = if self.sxx > 0.0 {
            (x - self.mean_x).powi(2) / self.sxx
        } else {
            0.0
        };
        self.resid_sd * (1.0 + 1.0 / n + lever).sqrt()
    }

    /// t statistic of the slope (0 when undefined).
    pub fn slope_t(&self) -> f64 {
        if self.n < 3 || self.sxx <= 0.0 {
            return 0.0;
        }
        let se = self.resid_sd / self.sxx.sqrt();
        if se > 0.0 {
            self.slope / se
        } else if self.slope == 0.0 {
            0.0
        } else {
            // A perfect line: as significant as it gets, but keep it finite.
            1e6 * self.slope.signum()
        }
    }
}

/// Sliding-window least squares of `y` on time `x` (seconds).
#[derive(Clone, Debug)]
pub struct SlidingOls {
    window: f64,
    max_points: usize,
    /// Stored as (x − origin, y).
    points: VecDeque<(f64, f64)>,
    origin: f64,
    mean_x: f64,
    mean_y: f64,
    sxx: f64,
    sxy: f64,
    syy: f64,
    evictions: usize,
}

impl SlidingOls {
    /// `window`: seconds of history kept (points older than `newest − window` leave);
    /// `max_points`: hard cap on stored points, whatever the sample rate.
    pub fn new(window: f64, max_points: usize) -> Self {
        Self {
            window: if window.is_finite() && window > 0.0 {
                window
            } else {
                60.0
            },
            max_points: max_points.max(2),
            points: VecDeque::new(),
            origin: 0.0,
            mean_x: 0.0,
            mean_y: 0.0,
            sxx: 0.0,
            sxy: 0.0,
            syy: 0.0,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Forgets every point.
    pub fn clear(&mut self) {
        self.points.clear();
        self.mean_x = 0.0;
        self.mean_y = 0.0;
        self.sxx = 0.0;
        self.sxy = 0.0;
        self.syy = 0.0;
        self.evictions = 0;
    }

    /// Adds a point at time `x` (must not precede the newest point; callers clamp) and evicts
    /// what fell out of the window. Non-finite input is ignored.
    pub fn push(&mut self, x: f64, y: f64) {
        if !x.is_finite() || !y.is_finite() {
            return;
        }
        if self.points.is_empty() {
            self.origin = x;
        }
        let xr = x - self.origin;
        self.points.push_back((xr, y));
        self.add_moments(xr, y);
        let cutoff = xr - self.window;
        while self.points.len() > self.max_points
            || self.points.front().is_some_and(|&(px, _)| px < cutoff)
        {
            if let Some((px, py)) = self.points.pop_front() {
                self.remove_moments(px, py);
                self.evictions += 1;
            }
        }
        if self.evictions >= self.points.len().max(16) {
            self.recompute();
        }
    }

    fn add_moments(&mut self, x: f64, y: f64) {
        let n = self.points.len() as f64;
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x += dx / n;
        self.mean_y += dy / n;
        self.sxx += dx * (x - self.mean_x);
        self.sxy += dx * (y - self.mean_y);
        self.syy += dy * (y - self.mean_y);
    }

    fn remove_moments(&mut self, x: f64, y: f64) {
        let n = self.points.len() as f64; // count after removal
        if n == 0.0 {
            self.mean_x = 0.0;
            self.mean_y = 0.0;
            self.sxx = 0.0;
            self.sxy = 0.0;
            self.syy = 0.0;
            return;
        }
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x -= dx / n;
        self.mean_y -= dy / n;
        self.sxx -= dx * (x - self.mean_x);
        self.sxy -= dx * (y - self.mean_y);
        self.syy -= dy * (y - self.mean_y);
    }

    /// Exact two-pass recomputation with the oldest point as the new time origin.
    fn recompute(&mut self) {
        self.evictions = 0;
        let Some(&(shift, _)) = self.points.front() else {
            return;
        };
        self.origin += shift;
        for p in self.points.iter_mut() {
            p.0 -= shift;
        }
        let n = self.points.len() as f64;
        let (sx, sy) = self
            .points
            .iter()
            .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
        self.mean_x = sx / n;
        self.mean_y = sy / n;
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y) in &self.points {
            let dx = x - self.mean_x;
            let dy = y - self.mean_y;
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        self.sxx = sxx;
        self.sxy = sxy;
        self.syy = syy;
    }

    /// The current fit, in the caller's time base; `None` when empty.
    pub fn fit(&self) -> Option<Fit> {
        let n = self.points.len();
        if n == 0 {
            return None;
        }
        // Relative tolerance: spreads that are rounding noise count as zero.
        let degenerate = self.sxx <= 1e-12 * (1.0 + self.mean_x.abs()).powi(2) * n as f64;
        let slope = if degenerate { 0.0 } else { self.sxy / self.sxx };
        let sse = if degenerate {
            self.syy
        } else {
            self.syy - slope * self.sxy
        }
        .max(0.0);
        let resid_sd = if n >= 3 {
            (sse / (n as f64 - 2.0)).sqrt()
        } else {
            0.0
        };
        let mean_x = self.mean_x + self.origin;
        let fit = Fit {
            n,
            slope,
            intercept: self.mean_y - slope * mean_x,
            resid_sd,
            mean_x,
            sxx: if degenerate { 0.0 } else { self.sxx },
            mean_y: self.mean_y,
        };
        let ok = fit.slope.is_finite() && fit.intercept.is_finite() && fit.resid_sd.is_finite();
        ok.then_some(fit)
    }

    /// The stored points, in the caller's time base (for reference fits in tests and benches).
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points.iter().map(move |&(x, y)| (x + self.origin, y))
    }
}

/// Reference fit with linfa on the given points: `(slope, intercept)`. Used by tests and the
/// benchmark that compares the incremental update with a full refit.
pub fn linfa_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    use linfa::traits::Fit as _;
    use linfa::Dataset;
    use ndarray::{Array1, Array2};
    if points.len() < 2 {
        return None;
    }
    let x = Array2::from_shape_fn((points.len(), 1), |(i, _)| points[i].0);
    let y = Array1::from_iter(points.iter().map(|p| p.1));
    let model = linfa_linear::LinearRegression::new()
        .fit(&Dataset::new(x, y))
        .ok()?;
    let slope = *model.params().get(0)?;
    Some((slope, model.intercept()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(points: &[(f64, f64)]) -> (f64, f64) {
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let b = sxy / sxx;
        (b, my - b * mx)
    }

    #[test]
    fn exact_line_is_recovered() {
        let mut ols = SlidingOls::new(60.0, 1000);
        for i in 0..100 {
            let x = 1.7e9 + i as f64;
            ols.push(x, 3.0 + 0.5 * (x - 1.7e9));
        }
        let f = ols.fit().expect("fit");
        assert_eq!(f.n, 61); // points within [newest − 60, newest]
        assert!((f.slope - 0.5).abs() < 1e-9);
        assert!((f.at(1.7e9 + 110.0) - 58.0).abs() < 1e-6);
        assert!(f.resid_sd < 1e-6);
    }

    #[test]
    fn sliding_agrees_with_linfa_and_direct_formula() {
        let mut ols = SlidingOls::new(30.0, 1000);
        let mut state = 12345u64;
        for i in 0..500 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
            let x = i as f64 * 0.7;
            ols.push(x, 50.0 + 0.2 * x + 10.0 * noise);
        }
        let pts: Vec<_> = ols.points().collect();
        let f = ols.fit().expect("fit");
        let (b, a) = linfa_fit(&pts).expect("linfa");
        let (b2, a2) = direct(&pts);
        assert!((f.slope - b).abs() < 1e-9, "{} vs {}", f.slope, b);
        assert!((f.intercept - a).abs() < 1e-6, "{} vs {}", f.intercept, a);
        assert!((f.slope - b2).abs() < 1e-9);
        assert!((f.intercept - a2).abs() < 1e-6);
    }

    #[test]
    fn repeated_timestamps_give_flat_fit_not_nan() {
        let mut ols = SlidingOls::new(60.0, 100);
        for y in [1.0, 2.0, 3.0, 4.0] {
            ols.push(10.0, y);
        }
        let f = ols.fit().expect("fit");
        assert_eq!(f.slope, 0.0);
        assert!((f.at(20.0) - 2.5).abs() < 1e-12);
        assert!(f.resid_sd.is_finite());
        assert_eq!(f.slope_t(), 0.0);
    }

    #[test]
    fn gap_longer_than_window_restarts_cleanly() {
        let mut ols = SlidingOls::new(10.0, 100);
        for i in 0..20 {
            ols.push(i as f64, 100.0);
        }
        ols.push(1000.0, 5.0);
        let f = ols.fit().expect("fit");
        assert_eq!(f.n, 1);
        assert_eq!(f.at(1010.0), 5.0);
    }

    #[test]
    fn point_cap_bounds_memory() {
        let mut ols = SlidingOls::new(60.0, 50);
        for i in 0..10_000 {
            ols.push(i as f64 * 1e-3, i as f64);
        }
        assert_eq!(ols.len(), 50);
        let f = ols.fit().expect("fit");
        assert!((f.slope - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn non_finite_points_are_ignored() {
        let mut ols = SlidingOls::new(60.0, 50);
        ols.push(0.0, 1.0);
        ols.push(f64::NAN, 1.0);
        ols.push(1.0, f64::INFINITY);
        assert_eq!(ols.len(), 1);
        assert!(ols.fit().is_some());
        assert!(SlidingOls::new(60.0, 5).fit().is_none());
    }
}
