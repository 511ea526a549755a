//! The forecast's guard against doing worse than doing nothing.
//!
//! "The value will not change" (naive last-value) is a strong forecast for bursty container
//! metrics: on a busy real service a fitted model that chases every burst loses to it. The guard
//! keeps the realised absolute errors of the model's forecast and of naive's, as exponentially
//! weighted means over the same outcomes, and lets the model publish only while its mean error
//! is clearly below naive's (by `margin`); otherwise the published forecast is naive. It is
//! follow-the-leader between two experts with a handicap on the challenger, so on a trace where
//! the model is no better the published error tracks naive's, and where it is (a leak, a ramp)
//! the model takes over within a few horizons.

/// Realised-error record of the model against naive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NaiveGuard {
    memory: f64,
    margin: f64,
    min_outcomes: usize,
    model: f64,
    naive: f64,
    outcomes: usize,
    /// Ticks left during which naive is published whatever the record.
    held: usize,
}

impl NaiveGuard {
    /// `memory`: outcomes the means remember; `margin`: how much better (0.05 = 5 %) the model
    /// must be; `min_outcomes`: outcomes needed before the model may publish.
    pub fn new(memory: f64, margin: f64, min_outcomes: usize) -> Self {
        Self {
            memory: if memory.is_finite() {
                memory.max(1.0)
            } else {
                100.0
            },
            margin: if margin.is_finite() {
                margin.clamp(0.0, 0.9)
            } else {
                0.05
            },
            min_outcomes,
            model: 0.0,
            naive: 0.0,
            outcomes: 0,
            held: 0,
        }
    }

    /// Publishes naive for the next `ticks` ticks (counting the current one).
    pub fn hold(&mut self, ticks: usize) {
        self.held = self.held.max(ticks + 1);
    }

    /// One tick has passed.
    pub fn tick(&mut self) {
        self.held = self.held.saturating_sub(1);
    }

    /// Learns one outcome's absolute errors.
    pub fn record(&mut self, model_err: f64, naive_err: f64) {
        if !(model_err.is_finite() && naive_err.is_finite()) {
            return;
        }
        let (m, n) = (model_err.abs(), naive_err.abs());
        self.outcomes += 1;
        // A plain mean until the memory is full, exponential afterwards.
        let a = 1.0 / (self.outcomes as f64).min(self.memory);
        self.model += a * (m - self.model);
        self.naive += a * (n - self.naive);
    }

    /// Forgets the record (after a change of regime the old one no longer tells).
    pub fn reset(&mut self) {
        self.model = 0.0;
        self.naive = 0.0;
        self.outcomes = 0;
    }

    /// Whether the model's forecast should be published (else naive's).
    pub fn trusts_model(&self) -> bool {
        self.held == 0
            && self.outcomes >= self.min_outcomes
            && self.model < (1.0 - self.margin) * self.naive
    }

    /// `(model, naive)` mean absolute errors.
    pub fn errors(&self) -> (f64, f64) {
        (self.model, self.naive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_publishes_only_while_clearly_better() {
        let mut g = NaiveGuard::new(50.0, 0.05, 10);
        for _ in 0..9 {
            g.record(1.0, 10.0);
        }
        assert!(!g.trusts_model(), "too few outcomes");
        g.record(1.0, 10.0);
        assert!(g.trusts_model());
        for _ in 0..200 {
            g.record(10.0, 9.8);
        }
        assert!(!g.trusts_model(), "{:?}", g.errors());
        g.record(f64::NAN, 0.0);
        assert!(g.errors().0.is_finite());
        for _ in 0..100 {
            g.record(1.0, 10.0);
        }
        assert!(g.trusts_model());
        g.hold(2);
        g.tick();
        assert!(!g.trusts_model());
        g.tick();
        assert!(!g.trusts_model());
        g.tick();
        assert!(g.trusts_model());
    }
}
