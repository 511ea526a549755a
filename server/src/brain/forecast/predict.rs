//! The forecaster's prediction for one sample: the candidates (last value, window mean, EWMA,
//! shrunk slope, regression line) blended by their recent errors, the short trend gated in, the
//! selector's choice between that model and naive held within its account, and the conformal
//! bands around what is published.

use super::{Forecaster, Prediction, N_CANDIDATES};
use crate::brain::stats::t_for_level;
use crate::brain::trend::TrendReading;

impl Forecaster {
    /// The published prediction for `x + horizon` from the last value `y`: the candidates
    /// (clamped to the bounds), their blend and the gated trend, the selector's choice held
    /// within the account, and the conformal bands around it.
    pub(super) fn predict(&mut self, x: f64, y: f64, reading: Option<TrendReading>) -> Prediction {
        let h = self.cfg.horizon;
        let fit = self.ols.fit();
        let (mean, line, shrunk) = match fit {
            Some(f) if f.n >= 3 => {
                let t = f.slope_t();
                let t2 = (t * t).min(1e12);
                let b = f.slope * t2 / (t2 + 4.0);
                (f.mean_y, f.at(x + h), y + b * h)
            }
            Some(f) => (f.mean_y, y, y),
            None => (y, y, y),
        };
        let (lo, hi) = self.bounds;
        let candidates = [y, mean, self.ewma, shrunk, line].map(|c| c.clamp(lo, hi));
        let blend = self.combine(&candidates);
        let blend = if blend.is_finite() { blend } else { y };
        let trend = reading
            .map_or(y, |r| r.extrapolate(h, self.cfg.trend_damping))
            .clamp(lo, hi);
        let trend = if trend.is_finite() { trend } else { y };
        let raw_gate = reading.map_or(0.0, |r| r.gate);
        self.parts = (blend, raw_gate, blend + raw_gate * (trend - blend));
        // The gate is trusted until it has proved worse than the blend on this metric.
        let gate = raw_gate * self.gate_record.trust();
        let model = (blend + gate * (trend - blend)).clamp(lo, hi);
        let naive = y.clamp(lo, hi);
        self.experts = self.select.forecasts(naive, model);
        let choice = self.select.choice();
        let (value, risk) = if choice == 0 {
            (naive, 0.0)
        } else {
            {
                // Credit in proportion to the expert's recent edge over naive (none without one).
                let mae = self.select.errors();
                let credit = self.cfg.credit * (mae[0] - mae[choice]);
                self.account.publish(naive, self.experts[choice], credit)
            }
        };
        self.risk = risk;
        // The published share of the ramp line (none when naive's value is published).
        let gate = if value == model { gate } else { 0.0 };
        // Model-based standard error from the regression residuals (before errors are known).
        let (m80, m95) = match fit {
            Some(f) if f.n >= 3 => {
                let se = f.prediction_se(x + h);
                self.model_se = se;
                let dof = f.n as f64 - 2.0;
                (t_for_level(0.8, dof) * se, t_for_level(0.95, dof) * se)
            }
            _ => (0.0, 0.0),
        };
        let (l80, h80, l95, h95) = match self.bands.offsets() {
            Some(o) if self.bands.len() >= self.cfg.min_errors => o,
            _ => (-m80, m80, -m95, m95),
        };
        let ok = |v: f64| {
            if v.is_finite() {
                v.clamp(lo, hi)
            } else {
                value
            }
        };
        let (lo80, hi80) = (ok(value + l80).min(value), ok(value + h80).max(value));
        Prediction {
            value,
            lo80,
            hi80,
            lo95: ok(value + l95).min(lo80),
            hi95: ok(value + h95).max(hi80),
            candidates,
            trend,
            trend_gate: gate,
        }
    }

    fn combine(&self, candidates: &[f64; N_CANDIDATES]) -> f64 {
        if self.mse_seen == 0 {
            // No evidence yet: the last value is the safest guess on bursty metrics.
            return candidates[0];
        }
        let best = self.mse.iter().copied().fold(f64::INFINITY, f64::min);
        let floor = (best * 1e-6).max(1e-300);
        let (mut num, mut den) = (0.0, 0.0);
        for (c, m) in candidates.iter().zip(self.mse) {
            let r = best.max(floor) / m.max(floor);
            let w = if self.cfg.weight_power == 2.0 {
                r * r
            } else {
                r.powf(self.cfg.weight_power)
            };
            if w.is_finite() && c.is_finite() {
                num += w * c;
                den += w;
            }
        }
        if den > 0.0 {
            num / den
        } else {
            candidates[0]
        }
    }
}
