//! Short-horizon forecast of one metric, with prediction intervals that are measured, not assumed.
//!
//! On bursty container metrics a 60-second OLS line extrapolated 10 s ahead is usually worse than
//! repeating the last value, yet on a memory leak the line is exactly right. So the forecaster
//! keeps several candidate forecasts, all O(1) per sample from the same sliding regression:
//!
//! * last value, window mean, an EWMA level,
//! * last value plus a *shrunk* slope (`b·t²/(t²+4)`, t the slope's t statistic, so a slope that
//!   is mostly noise contributes little),
//! * the plain OLS line extrapolated to the horizon (the textbook forecast).
//!
//! Every forecast waits in a queue until its target time arrives; the realised errors update an
//! exponentially weighted MSE per candidate, and the blend is the inverse-MSE weighted
//! combination — "choosing by recent error", smoothly (the last value until errors are known).
//!
//! Realised errors arrive a horizon late, so the blend alone lags a ramp that lasts about a
//! horizon (a CPU storm building up) and keeps averaging the old level in after a step. Two
//! detectors that need no realised error fix that:
//!
//! * a **sustained ramp** ([`super::trend::ShortTrend`]) opens a gate that moves the published
//!   forecast from the blend to the extrapolated short-window line, so the forecast *leads* a
//!   storm. The gate keeps a track record (its fully-gated forecasts against the blend's, once
//!   realised) and is trusted less on a metric where it has proved worse — the regression earns
//!   its place where trends are real, and the forecast stays robust where they are not;
//! * a **level shift** ([`super::shift::ShiftDetector`]) restarts the regression window, the EWMA
//!   and the candidates' error averages (forecasts made before the shift no longer count for
//!   them), so the new level is not averaged with the old one.
//!
//! Two guards keep it honest on real workloads:
//!
//! * a **selector** ([`select::Selector`]) publishes, per series, whichever of naive last-value,
//!   the model (blend and gate) and the model held to naive after a jump has the lowest recent
//!   realised absolute error (each expert scored on what it would have published, a horizon
//!   late: no lookahead; a model only while its edge over naive is two standard errors above
//!   zero, not luck), and an **account** ([`select::Account`]) caps how far the published
//!   forecast may move from naive's by what its own record against naive can cover (plus a
//!   credit in proportion to its recent edge), so its summed error cannot exceed naive's by more
//!   than 1 % of naive's plus that credit, whatever the data — it does not lose to "no change"
//!   on bursty services where no model beats it;
//! * the 80 % / 95 % **intervals** are the regression's prediction interval until errors have
//!   been realised, then the published forecast plus quantiles of its recent signed errors at
//!   levels steered by adaptive conformal inference ([`super::conformal`]), so their coverage
//!   holds under shifts. The same error sample gives tail probabilities (`prob_at_least`).
//!
//! Every forecast and interval is clamped to the metric's physical range (CPU: 0 to its quota).

use std::collections::VecDeque;

use super::conformal::ConformalBands;
use super::regression::{Fit, SlidingOls};
use super::shift::ShiftDetector;
use super::stats::normal_sf;
use super::trend::{ShortTrend, TrendReading};
use select::{Account, Selector, EXPERTS};

/// A jump of more than this many noise scales makes the held-model expert say naive for a horizon.
const JUMP_SCALES: f64 = 8.0;

/// Number of candidate forecasts in the blend.
pub const N_CANDIDATES: usize = 5;
/// Names of the candidates, in order (for diagnostics and evaluation output).
pub const CANDIDATE_NAMES: [&str; N_CANDIDATES] = [
    "last",
    "window_mean",
    "ewma",
    "last+shrunk_slope",
    "ols_line",
];

mod config;
mod gate;
pub use config::{ForecastConfig, Prediction};
use gate::GateRecord;

#[derive(Clone, Copy, Debug)]
struct Pending {
    target: f64,
    candidates: [f64; N_CANDIDATES],
    combined: f64,
    /// Level-shift epoch the forecast was made in.
    epoch: u64,
    /// The blend alone, the ramp gate, and the forecast the full gate would have published.
    blend: f64,
    gate: f64,
    gated: f64,
    /// What each expert of the selector forecast (naive, model, held model), published or not.
    experts: [f64; EXPERTS],
    /// What the published forecast may still cost against naive's ([`Account`]).
    risk: f64,
    /// The published intervals.
    lo80: f64,
    hi80: f64,
    lo95: f64,
    hi95: f64,
}

/// Streaming forecaster of one metric.
#[derive(Clone, Debug)]
pub struct Forecaster {
    cfg: ForecastConfig,
    ols: SlidingOls,
    last: Option<(f64, f64)>,
    ewma: f64,
    pending: VecDeque<Pending>,
    mse: [f64; N_CANDIDATES],
    /// Errors behind `mse` (since the last level shift).
    mse_seen: usize,
    errors_seen: usize,
    trend: ShortTrend,
    shift: ShiftDetector,
    /// Level shifts and ramp starts so far (each restarts the error averages).
    epoch: u64,
    /// The ramp detector's latest reading.
    reading: Option<TrendReading>,
    /// Whether a trusted ramp is under way (gate × trust ≥ ½, until it falls to 0.1).
    ramping: bool,
    gate_record: GateRecord,
    /// `(blend, raw gate, fully gated forecast)` of the latest prediction.
    parts: (f64, f64, f64),
    /// The experts' forecasts of the latest prediction.
    experts: [f64; EXPERTS],
    /// The latest published forecast's charge on the account.
    risk: f64,
    /// Recent signed errors (outcome − published forecast) and the calibrated levels.
    bands: ConformalBands,
    /// Which expert is published: naive last-value unless a model has clearly beaten it.
    select: Selector,
    /// The published forecast against naive's, so far.
    account: Account,
    /// Model-based standard error of the latest forecast (regression residuals).
    model_se: f64,
    /// Range the metric can take (see [`Self::observe_bounded`]).
    bounds: (f64, f64),
    current: Option<Prediction>,
}

impl Forecaster {
    pub fn new(cfg: ForecastConfig) -> Self {
        let mut cfg = cfg;
        if !(cfg.horizon.is_finite() && cfg.horizon >= 0.0) {
            cfg.horizon = 10.0;
        }
        if !(cfg.error_memory.is_finite() && cfg.error_memory >= 1.0) {
            cfg.error_memory = 50.0;
        }
        if !(cfg.ewma_alpha > 0.0 && cfg.ewma_alpha <= 1.0) {
            cfg.ewma_alpha = 0.3;
        }
        if !cfg.weight_power.is_finite() {
            cfg.weight_power = 1.0;
        }
        cfg.error_window = cfg.error_window.max(5);
        cfg.min_errors = cfg.min_errors.clamp(1, cfg.error_window);
        if !(cfg.trend_damping > 0.0 && cfg.trend_damping <= 1.0) {
            cfg.trend_damping = 1.0;
        }
        if !(cfg.floor.is_finite() && cfg.floor >= 0.0) {
            cfg.floor = 0.0;
        }
        Self {
            ols: SlidingOls::new(cfg.window, cfg.max_points),
            bands: ConformalBands::new(cfg.error_window, cfg.conformal_gamma),
            select: Selector::new(
                cfg.select_memory,
                cfg.select_margin,
                cfg.select_confidence,
                cfg.min_errors,
            ),
            trend: ShortTrend::new(cfg.trend_points),
            shift: ShiftDetector::new(cfg.shift_k, cfg.floor, cfg.shift_confirm, cfg.error_memory),
            epoch: 0,
            ramping: false,
            reading: None,
            gate_record: GateRecord::default(),
            parts: (0.0, 0.0, 0.0),
            experts: [0.0; EXPERTS],
            account: Account::new(cfg.allowance),
            risk: 0.0,
            cfg,
            last: None,
            ewma: 0.0,
            // One forecast a sample waits a horizon: at the brain's 1 Hz, horizon + 1 of them, and
            // one more for jitter (reserved exactly, not grown to a power of two: 152 B each).
            pending: VecDeque::with_capacity(cfg.horizon.min(4096.0) as usize + 2),
            mse: [0.0; N_CANDIDATES],
            mse_seen: 0,
            errors_seen: 0,
            model_se: 0.0,
            bounds: (f64::NEG_INFINITY, f64::INFINITY),
            current: None,
        }
    }

    pub fn horizon(&self) -> f64 {
        self.cfg.horizon
    }

    /// The latest prediction (`None` before the first sample).
    pub fn prediction(&self) -> Option<Prediction> {
        self.current
    }

    /// The regression over the current window.
    pub fn fit(&self) -> Option<Fit> {
        self.ols.fit()
    }

    /// Lowest value in the regression window.
    pub fn window_min(&self) -> Option<f64> {
        self.ols.points().map(|(_, y)| y).reduce(f64::min)
    }

    /// The latest `(time, value)`.
    pub fn last(&self) -> Option<(f64, f64)> {
        self.last
    }

    /// Realised forecast errors so far.
    pub fn errors_seen(&self) -> usize {
        self.errors_seen
    }

    /// The ramp detector's reading of the last few samples (`None` until its window is full).
    pub fn trend(&self) -> Option<TrendReading> {
        self.reading
    }

    /// Level shifts and ramp starts detected so far.
    pub fn shifts(&self) -> u64 {
        self.epoch
    }

    /// Probability that the value at the horizon is at least `threshold` if the forecast were
    /// `center`: the share of recent realised errors that would carry `center` there (smoothed
    /// so it is never exactly 0 or 1), or a normal law on the regression's standard error before
    /// enough errors have been seen.
    pub fn prob_at_least(&self, center: f64, threshold: f64) -> f64 {
        if !(center.is_finite() && threshold.is_finite()) {
            return 0.0;
        }
        let need = threshold - center;
        if self.bands.len() >= self.cfg.min_errors {
            let errors = self.bands.errors();
            let n = errors.len() as f64;
            let below = errors.rank(need).unwrap_or(0.5) * n;
            return ((n - below + 0.5) / (n + 1.0)).clamp(0.0, 1.0);
        }
        if self.model_se > 0.0 && self.model_se.is_finite() {
            normal_sf(need / self.model_se)
        } else if need <= 0.0 {
            1.0
        } else {
            0.0
        }
    }

    /// Feeds the sample `y` at time `x` (non-decreasing; callers clamp) and returns the forecast
    /// for `x + horizon`. Non-finite `y` is skipped and the previous forecast returned.
    pub fn observe(&mut self, x: f64, y: f64) -> Option<Prediction> {
        self.observe_bounded(x, y, f64::NEG_INFINITY, f64::INFINITY)
    }

    /// [`Self::observe`] for a metric that cannot leave `[lo, hi]` (CPU cannot exceed its quota:
    /// it is throttled), so no candidate forecast is allowed outside it.
    pub fn observe_bounded(&mut self, x: f64, y: f64, lo: f64, hi: f64) -> Option<Prediction> {
        if !x.is_finite() || !y.is_finite() {
            return self.current;
        }
        let (lo, hi) = if lo <= hi {
            (lo, hi)
        } else {
            (f64::NEG_INFINITY, f64::INFINITY)
        };
        self.bounds = (lo, hi);
        self.settle(x, y);
        // A jump far beyond the usual sample-to-sample change: whatever it turns into (a step, a
        // burst), the last value is the safest forecast for a horizon.
        let scale = self.shift.scale();
        if let Some((_, prev)) = self.last {
            if scale > 0.0 && (y - prev).abs() > (JUMP_SCALES * scale).max(self.cfg.floor) {
                self.select.hold(self.cfg.horizon.ceil().max(1.0) as usize);
            }
        }
        self.select.tick();
        let shifted = self.last.is_some() && self.shift.observe(y, self.ewma).is_some();
        if shifted {
            // A new level: the window, the EWMA and the error averages start again from the two
            // samples that confirmed it.
            self.ols.clear();
            if let Some((px, py)) = self.last {
                self.ols.push(px, py);
            }
            self.mse = [0.0; N_CANDIDATES];
            self.mse_seen = 0;
            self.epoch += 1;
            // After a step the last value is the new level: naive until the model has proved
            // itself again (its record was made on the old level).
            self.select.reset();
        }
        self.ols.push(x, y);
        self.trend.push(x, y);
        let reading = self.trend.reading(self.shift.scale(), self.ramping);
        self.reading = reading;
        let trust = self.gate_record.trust();
        let ramping = reading.is_some_and(|r| r.gate * trust >= 0.5);
        // Hysteresis: a ramp is over once the gate is nearly shut.
        let still = ramping || (self.ramping && reading.is_some_and(|r| r.gate * trust > 0.1));
        if still != self.ramping {
            // Both ends of a ramp are changepoints: when it begins, the window restarts from the
            // ramp's samples (so the regression line follows it); when it ends, from the newest
            // half of them (the plateau). The error averages start again, as after a level shift.
            let keep = if still {
                self.cfg.trend_points
            } else {
                self.cfg.trend_points / 2
            };
            self.ols.clear();
            let n = self.trend.points().count();
            for (px, py) in self.trend.points().skip(n.saturating_sub(keep)) {
                self.ols.push(px, py);
            }
            self.mse = [0.0; N_CANDIDATES];
            self.mse_seen = 0;
            self.epoch += 1;
        }
        self.ramping = still;
        self.ewma = match self.last {
            Some(_) if !shifted => self.ewma + self.cfg.ewma_alpha * (y - self.ewma),
            _ => y,
        };
        self.last = Some((x, y));
        let pred = self.predict(x, y, reading);
        if self.cfg.horizon > 0.0 {
            self.pending.push_back(Pending {
                target: x + self.cfg.horizon,
                candidates: pred.candidates,
                combined: pred.value,
                epoch: self.epoch,
                blend: self.parts.0,
                gate: self.parts.1,
                gated: self.parts.2,
                experts: self.experts,
                risk: self.risk,
                lo80: pred.lo80,
                hi80: pred.hi80,
                lo95: pred.lo95,
                hi95: pred.hi95,
            });
            // Bound the queue whatever the sample rate (oldest forecasts are least useful).
            while self.pending.len() > self.cfg.max_points {
                if let Some(p) = self.pending.pop_front() {
                    self.account.release(p.risk);
                }
            }
        }
        self.current = Some(pred);
        self.current
    }

    /// Scores every pending forecast whose target time has come.
    fn settle(&mut self, x: f64, y: f64) {
        let alpha = 1.0 / self.cfg.error_memory;
        while let Some(p) = self.pending.front().copied() {
            if p.target > x {
                break;
            }
            self.pending.pop_front();
            if x - p.target > self.cfg.horizon.max(1e-9) {
                self.account.release(p.risk);
                continue; // a gap: the outcome at the target time was never seen
            }
            if p.epoch == self.epoch {
                for (m, c) in self.mse.iter_mut().zip(p.candidates) {
                    let e2 = (y - c).powi(2);
                    *m = if self.mse_seen == 0 {
                        e2
                    } else {
                        *m + alpha * (e2 - *m)
                    };
                }
                self.mse_seen += 1;
            }
            self.gate_record.record(p.gate, y - p.gated, y - p.blend);
            self.select.record(p.experts.map(|f| y - f));
            self.account.settle(y, p.combined, p.experts[0], p.risk);
            let covered = (
                (p.lo80..=p.hi80).contains(&y),
                (p.lo95..=p.hi95).contains(&y),
            );
            self.bands.record(y - p.combined, covered);
            self.errors_seen += 1;
        }
    }
}

mod predict;
mod select;
#[cfg(test)]
mod tests;
