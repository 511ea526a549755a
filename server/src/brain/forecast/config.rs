//! The forecaster's tunables and what it publishes.

use super::N_CANDIDATES;
use crate::brain::stats::z_for_level;

/// Tunables of one forecaster; times are in the caller's unit (seconds in the brain, samples in
/// offline evaluation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastConfig {
    pub horizon: f64,
    pub window: f64,
    /// Hard cap on points in the regression window.
    pub max_points: usize,
    /// Memory of the per-candidate error averages, in realised forecasts.
    pub error_memory: f64,
    /// EWMA smoothing factor of the level candidate.
    pub ewma_alpha: f64,
    /// Exponent of the inverse-MSE weights (1 = classic combination, larger = closer to picking
    /// the single best candidate).
    pub weight_power: f64,
    /// Number of recent realised errors whose empirical quantiles give the intervals.
    pub error_window: usize,
    /// Realised errors needed before the empirical intervals replace the model-based ones.
    pub min_errors: usize,
    /// Step of the adaptive conformal levels ([`crate::brain::conformal`]). Large enough that a
    /// level settles within a few minutes of samples: the long-run miss rate is within
    /// `(1 + γ) / (γ T)` of nominal after `T` outcomes (0.044 after 250 at γ = 0.1).
    pub conformal_gamma: f64,
    /// Memory of the selector's error means ([`super::select::Selector`]), in realised forecasts...
    pub select_memory: f64,
    /// ...and how much better than the published expert a challenger must be (0.05 = 5 %); 0:
    /// plain follow-the-leader (the account below already bounds what switching can cost).
    pub select_margin: f64,
    /// A model expert is published only while its edge over naive (naive's absolute error minus
    /// its own, averaged over the selector's memory) is this many standard errors above zero:
    /// on a series no model can forecast, the lower mean error is often luck, and publishing it
    /// spends the account on noise (0: any lower mean will do).
    pub select_confidence: f64,
    /// How far, as a share of naive's summed error, the published forecast's summed error may
    /// ever exceed naive's ([`super::select::Account`]): 0.01 = 1 %.
    pub allowance: f64,
    /// ...plus this many times the published expert's recent edge (naive's mean absolute error
    /// minus its own): credit to a model that is clearly winning now (a leak, a ramp), so it is
    /// not throttled while it earns its room.
    pub credit: f64,
    /// Length of the short window of the ramp detector, in samples.
    pub trend_points: usize,
    /// Damping of the short-window slope per time unit (1 = straight line).
    pub trend_damping: f64,
    /// A level shift is a jump of more than this many noise scales (mean absolute changes)...
    pub shift_k: f64,
    /// ...held for this many samples...
    pub shift_confirm: usize,
    /// ...and more than this (metric units): the smallest change that matters.
    pub floor: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            horizon: 10.0,
            window: 60.0,
            max_points: 4096,
            error_memory: 50.0,
            ewma_alpha: 0.3,
            weight_power: 2.0,
            error_window: 100,
            min_errors: 20,
            conformal_gamma: 0.1,
            select_memory: 100.0,
            select_margin: 0.0,
            select_confidence: 2.0,
            allowance: 0.01,
            credit: 20.0,
            trend_points: 10,
            trend_damping: 1.0,
            shift_k: 30.0,
            shift_confirm: 2,
            floor: 0.0,
        }
    }
}

/// A forecast for `horizon` ahead of the latest sample.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Prediction {
    pub value: f64,
    /// Central 80 % and 95 % prediction intervals (absolute bounds; not necessarily symmetric).
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
    /// Value of each candidate (for evaluation).
    pub candidates: [f64; N_CANDIDATES],
    /// The short-window line extrapolated to the horizon.
    pub trend: f64,
    /// Share of the published value taken from `trend` (0 = the blend alone).
    pub trend_gate: f64,
}

impl Prediction {
    /// Standard deviation of a normal law at least as wide as both intervals.
    pub fn sigma(&self) -> f64 {
        let h80 = (self.hi80 - self.lo80) / 2.0;
        let h95 = (self.hi95 - self.lo95) / 2.0;
        (h80 / z_for_level(0.8)).max(h95 / z_for_level(0.95))
    }

    /// The prediction as published for a metric that cannot exceed `limit` (memory under its
    /// cgroup limit: the kernel reclaims or kills there): the value and every bound held at it
    /// (a no-op for an infinite limit). Its error can only be smaller, whatever the outcome
    /// (outcomes are never above the limit), and an interval can only gain outcomes.
    ///
    /// An interval that reaches the limit holds a kill: usage cannot pass the limit, and after
    /// an OOM kill it reads what the restarted container holds, near nothing. So such an
    /// interval reaches down to 0 (the 95 % one alone, or both): whether the kill comes is for
    /// the failure probability to say, but the interval must not claim it cannot.
    pub fn capped_at(self, limit: f64) -> Self {
        let floor = |lo: f64, hi: f64| {
            if hi >= limit {
                lo.min(0.0)
            } else {
                lo.min(limit)
            }
        };
        Self {
            value: self.value.min(limit),
            lo80: floor(self.lo80, self.hi80),
            hi80: self.hi80.min(limit),
            lo95: floor(self.lo95, self.hi95),
            hi95: self.hi95.min(limit),
            ..self
        }
    }

    /// Whether `y` lies inside the 80 % / 95 % interval.
    pub fn covers(&self, y: f64) -> (bool, bool) {
        (
            (self.lo80..=self.hi80).contains(&y),
            (self.lo95..=self.hi95).contains(&y),
        )
    }
}
