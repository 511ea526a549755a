//! The failure probability as a fitted, calibrated mapping from the brain's evidence.
//!
//! **The event** ([`EVENT_HORIZON_S`]): within the next 30 seconds the container is OOM-killed,
//! exits with a non-zero code, turns unhealthy, or is CPU-throttled (at ≥ 95 % of its quota)
//! for more than half of that time.
//!
//! **The evidence** ([`Evidence`]): what the forecasters, the leak model, the anomaly detectors
//! and the engine's events say at this tick. **The mapping**: logistic regression on those
//! features (probabilities and shares as they are, counts as `ln(1 + n)`: a cause that is absent
//! adds nothing, so CPU and memory evidence do not have to outweigh each other's absence),
//! fitted by Newton's method
//! with a small ridge on labelled real engine runs (`dockerpulse eval risk --fit`), measured on
//! runs it was not fitted on. The fitted weights are the defaults of `[brain.risk]`, so what
//! `serve` publishes is the mapping that was measured.

use serde::{Deserialize, Serialize};

/// Horizon of the event the probability is about, in seconds.
pub const EVENT_HORIZON_S: f64 = 30.0;

/// Number of features.
pub const N_FEATURES: usize = 9;
/// Feature names, in order (for the fitted model's printout).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "p_cpu",
    "cpu_utilisation",
    "cpu_throttled_recent",
    "p_mem",
    "mem_fraction",
    "mem_fill",
    "anomaly",
    "ln1p_restarts",
    "ln1p_ooms",
];

/// What the brain knows at one tick, in the units the model reads.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evidence {
    /// P(CPU at the horizon ≥ saturation), from the forecaster's realised errors.
    pub p_cpu: f64,
    /// CPU now / its capacity (quota, or host cores).
    pub cpu_utilisation: f64,
    /// Share of the last ten samples at ≥ 95 % of the capacity.
    pub cpu_throttled_recent: f64,
    /// P(memory reaches its limit soon), from the leak model.
    pub p_mem: f64,
    /// Memory now / its limit (0 without a limit).
    pub mem_fraction: f64,
    /// Share of the way from where a credible climb began to the limit (0 without a climb).
    pub mem_fill: f64,
    /// Strongest anomaly score of the four metrics (0–1).
    pub anomaly: f64,
    /// Restarts and OOM kills in the event window.
    pub restarts: f64,
    pub ooms: f64,
}

/// Log-odds, clamped away from ±∞ (the fit starts from the base rate's).
fn logit(p: f64) -> f64 {
    let p = if p.is_finite() {
        p.clamp(1e-3, 1.0 - 1e-3)
    } else {
        1e-3
    };
    (p / (1.0 - p)).ln()
}

fn finite01(x: f64, hi: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, hi)
    } else {
        0.0
    }
}

impl Evidence {
    /// The model's inputs.
    pub fn features(&self) -> [f64; N_FEATURES] {
        [
            finite01(self.p_cpu, 1.0),
            finite01(self.cpu_utilisation, 2.0),
            finite01(self.cpu_throttled_recent, 1.0),
            finite01(self.p_mem, 1.0),
            finite01(self.mem_fraction, 1.5),
            finite01(self.mem_fill, 1.0),
            finite01(self.anomaly, 1.0),
            finite01(self.restarts, 1e6).ln_1p(),
            finite01(self.ooms, 1e6).ln_1p(),
        ]
    }
}

/// A logistic mapping `P = σ(intercept + Σ wᵢ xᵢ)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskModel {
    pub intercept: f64,
    pub weights: [f64; N_FEATURES],
}

impl Default for RiskModel {
    /// Fitted by `dockerpulse eval risk --fit server/tests/data/faults/fit --fit
    /// server/tests/data/traces/cpu-storm --fit server/tests/data/traces/memory-leak` (real
    /// engine runs); measured on `server/tests/data/faults/held-out` and the service traces,
    /// which it never saw (see `docs/brain-figures.md`).
    fn default() -> Self {
        Self {
            intercept: -6.4511,
            weights: [
                1.9411, 3.6143, 2.8177, 10.8671, 4.8870, -6.0843, -2.3373, 8.6456, -8.1356,
            ],
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl RiskModel {
    /// Probability of the event (0–1), finite for any input.
    pub fn probability(&self, e: &Evidence) -> f64 {
        let z = self.intercept
            + self
                .weights
                .iter()
                .zip(e.features())
                .map(|(w, x)| w * x)
                .sum::<f64>();
        if z.is_nan() {
            0.0
        } else {
            sigmoid(z)
        }
    }

    /// Maximum-likelihood fit (Newton–Raphson with ridge `l2` on the weights, not the
    /// intercept) to feature rows and 0/1 labels. `None` when there is nothing to fit.
    pub fn fit(rows: &[[f64; N_FEATURES]], labels: &[bool], l2: f64) -> Option<Self> {
        const D: usize = N_FEATURES + 1;
        if rows.is_empty() || rows.len() != labels.len() {
            return None;
        }
        let x = |r: &[f64; N_FEATURES], j: usize| if j == 0 { 1.0 } else { r[j - 1] };
        let mut beta = [0.0; D];
        // Start from the base rate.
        let rate = labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64;
        beta[0] = logit(rate);
        for _ in 0..50 {
            let mut grad = [0.0; D];
            let mut hess = [[0.0; D]; D];
            for (r, &y) in rows.iter().zip(labels) {
                let z: f64 = (0..D).map(|j| beta[j] * x(r, j)).sum();
                let p = sigmoid(z);
                let w = (p * (1.0 - p)).max(1e-9);
                let err = if y { 1.0 } else { 0.0 } - p;
                let xs: [f64; D] = std::array::from_fn(|j| x(r, j));
                for (j, row) in hess.iter_mut().enumerate() {
                    grad[j] += err * xs[j];
                    for (h, xk) in row.iter_mut().zip(&xs) {
                        *h += w * xs[j] * xk;
                    }
                }
            }
            for j in 1..D {
                grad[j] -= l2 * beta[j];
                hess[j][j] += l2;
            }
            let step = solve(hess, grad)?;
            let mut change: f64 = 0.0;
            for j in 0..D {
                beta[j] += step[j];
                change = change.max(step[j].abs());
            }
            if !beta.iter().all(|b| b.is_finite()) {
                return None;
            }
            if change < 1e-9 {
                break;
            }
        }
        let mut weights = [0.0; N_FEATURES];
        weights.copy_from_slice(&beta[1..]);
        Some(Self {
            intercept: beta[0],
            weights,
        })
    }
}

/// Solves `a · s = b` by Gaussian elimination with partial pivoting.
fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> Option<[f64; D]> {
    for c in 0..D {
        let p = (c..D).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        let pivot = a[c];
        for r in c + 1..D {
            let f = a[r][c] / pivot[c];
            for (v, pv) in a[r].iter_mut().zip(pivot).skip(c) {
                *v -= f * pv;
            }
            b[r] -= f * b[c];
        }
    }
    let mut s = [0.0; D];
    for r in (0..D).rev() {
        let tail: f64 = (r + 1..D).map(|k| a[r][k] * s[k]).sum();
        s[r] = (b[r] - tail) / a[r][r];
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::brain::test_noise::uniform01 as noise;

    #[test]
    fn the_fit_recovers_the_weights_it_was_drawn_from() {
        let truth = RiskModel {
            intercept: -2.0,
            weights: [0.7, 1.5, 1.0, 0.0, -1.0, 2.0, 0.5, 0.5, 0.0],
        };
        let mut s = 42;
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..40_000 {
            let e = Evidence {
                p_cpu: noise(&mut s),
                cpu_utilisation: noise(&mut s),
                cpu_throttled_recent: noise(&mut s),
                p_mem: noise(&mut s),
                mem_fraction: noise(&mut s),
                mem_fill: noise(&mut s),
                anomaly: noise(&mut s),
                restarts: (noise(&mut s) * 3.0).floor(),
                ooms: 0.0,
            };
            rows.push(e.features());
            labels.push(noise(&mut s) < truth.probability(&e));
        }
        let fit = RiskModel::fit(&rows, &labels, 1e-6).expect("fits");
        assert!((fit.intercept - truth.intercept).abs() < 0.2, "{fit:?}");
        for (got, want) in fit.weights.iter().zip(truth.weights).take(8) {
            assert!((got - want).abs() < 0.2, "{fit:?}");
        }
    }

    #[test]
    fn probabilities_are_finite_and_bounded() {
        let m = RiskModel::default();
        for v in [f64::NAN, f64::INFINITY, -1.0, 0.0, 0.5, 1.0, 1e300] {
            let e = Evidence {
                p_cpu: v,
                cpu_utilisation: v,
                cpu_throttled_recent: v,
                p_mem: v,
                mem_fraction: v,
                mem_fill: v,
                anomaly: v,
                restarts: v,
                ooms: v,
            };
            let p = m.probability(&e);
            assert!((0.0..=1.0).contains(&p), "{v} -> {p}");
        }
        assert_eq!(RiskModel::fit(&[], &[], 0.0), None);
    }
}
