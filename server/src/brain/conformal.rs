//! Prediction intervals calibrated on line: adaptive conformal inference (Gibbs & Candès, 2021).
//!
//! An interval at nominal level `1 − α` is the forecast plus the `α_t/2` and `1 − α_t/2`
//! empirical quantiles of the recent signed errors (outcome − forecast), as in split conformal
//! prediction. Errors of container metrics are neither stationary nor exchangeable (a burst, a
//! new load level), so the working level `α_t` is steered by what the intervals actually did:
//! after each realised outcome, `α_t ← α_t + γ (α − miss)`, with `miss` 1 when the interval
//! published for that outcome missed it. Misses make the next intervals wider, runs of hits
//! narrower, and the long-run miss rate is `α` within `(max(α_1, 1 − α_1) + γ) / (γ T)` over
//! `T` outcomes whatever the data (their Proposition 4.1). `α_t ≤ 0` asks for everything: the
//! interval then spans twice the largest recent error.

use super::baseline::RollingQuantiles;

/// One adaptively calibrated interval level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// Target miss rate `α` (0.2 for an 80 % interval).
    pub alpha: f64,
    /// The working level `α_t`.
    pub working: f64,
}

impl Level {
    fn new(alpha: f64) -> Self {
        Self {
            alpha,
            working: alpha,
        }
    }

    fn update(&mut self, covered: bool, gamma: f64) {
        let miss = if covered { 0.0 } else { 1.0 };
        // Bounded so that a long run of one kind cannot wind it up beyond recovery.
        self.working = (self.working + gamma * (self.alpha - miss)).clamp(-0.5, 1.0);
    }
}

/// The 80 % and 95 % intervals of one forecaster.
#[derive(Clone, Debug)]
pub struct ConformalBands {
    errors: RollingQuantiles,
    gamma: f64,
    levels: [Level; 2],
}

/// Offsets from the forecast: `(lo80, hi80, lo95, hi95)`, lows ≤ 0 ≤ highs.
pub type Offsets = (f64, f64, f64, f64);

impl ConformalBands {
    /// `window`: recent errors kept; `gamma`: step of the level updates.
    pub fn new(window: usize, gamma: f64) -> Self {
        Self {
            errors: RollingQuantiles::new(window.max(5)),
            gamma: if gamma.is_finite() && gamma > 0.0 {
                gamma.min(0.5)
            } else {
                0.01
            },
            levels: [Level::new(0.2), Level::new(0.05)],
        }
    }

    /// Realised errors kept.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The recent signed errors (for tail probabilities).
    pub fn errors(&self) -> &RollingQuantiles {
        &self.errors
    }

    /// The two working levels (80 %, 95 %).
    pub fn levels(&self) -> [Level; 2] {
        self.levels
    }

    /// Learns one outcome: its signed error against the published forecast, and whether the
    /// published 80 % / 95 % intervals covered it.
    pub fn record(&mut self, error: f64, covered: (bool, bool)) {
        if !error.is_finite() {
            return;
        }
        self.levels[0].update(covered.0, self.gamma);
        self.levels[1].update(covered.1, self.gamma);
        // Metrics are at most MAX_MAGNITUDE (stats.rs), so errors beyond twice it are noise;
        // the bound keeps every offset finite.
        let cap = 2.0 * super::stats::MAX_MAGNITUDE;
        self.errors.push(error.clamp(-cap, cap));
    }

    /// Offsets of the two intervals around a forecast; `None` before any error is known.
    pub fn offsets(&self) -> Option<Offsets> {
        let n = self.errors.len();
        if n == 0 {
            return None;
        }
        let lo_all = self.errors.quantile(0.0)?;
        let hi_all = self.errors.quantile(1.0)?;
        let band = |l: &Level| -> (f64, f64) {
            if l.working <= 0.0 {
                // Everything asked for: twice the largest recent error on each side.
                return (2.0 * lo_all.min(0.0), 2.0 * hi_all.max(0.0));
            }
            let a = l.working.min(1.0) / 2.0;
            let lo = self.errors.quantile(a).unwrap_or(0.0);
            let hi = self.errors.quantile(1.0 - a).unwrap_or(0.0);
            (lo.min(0.0), hi.max(0.0))
        };
        let (l80, h80) = band(&self.levels[0]);
        let (l95, h95) = band(&self.levels[1]);
        Some((l80, h80, l95.min(l80), h95.max(h80)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::brain::test_noise::noise;

    /// Errors whose scale jumps 10× half way: the coverage stays near nominal over the whole run
    /// (a fixed-window quantile alone under-covers for a window's length after the jump).
    #[test]
    fn coverage_holds_through_a_change_of_scale() {
        let mut b = ConformalBands::new(100, 0.02);
        let (mut hit80, mut hit95, mut n) = (0, 0, 0);
        let mut s = 5;
        for i in 0..20_000 {
            let scale = if i < 10_000 { 1.0 } else { 10.0 };
            let e = scale * (noise(&mut s) + noise(&mut s) + noise(&mut s));
            let covered = match b.offsets() {
                Some((l80, h80, l95, h95)) => ((l80..=h80).contains(&e), (l95..=h95).contains(&e)),
                None => (false, false),
            };
            if i > 200 {
                n += 1;
                hit80 += usize::from(covered.0);
                hit95 += usize::from(covered.1);
            }
            b.record(e, covered);
        }
        let (c80, c95) = (hit80 as f64 / n as f64, hit95 as f64 / n as f64);
        assert!((c80 - 0.8).abs() < 0.01, "{c80}");
        assert!((c95 - 0.95).abs() < 0.01, "{c95}");
    }

    #[test]
    fn offsets_bracket_zero_and_nest() {
        let mut b = ConformalBands::new(50, 0.05);
        assert_eq!(b.offsets(), None);
        for i in 0..100 {
            b.record(f64::from(i % 7) - 1.0, (false, false));
            b.record(f64::NAN, (true, true));
            let (l80, h80, l95, h95) = b.offsets().expect("offsets");
            assert!(l95 <= l80 && l80 <= 0.0 && 0.0 <= h80 && h80 <= h95);
        }
    }
}
