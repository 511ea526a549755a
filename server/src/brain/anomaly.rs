//! Streaming, unsupervised anomaly detector for one series, counted in samples (scale-free).
//!
//! The brain runs one per container metric; the NAB evaluation runs the very same type over the
//! benchmark's series. Per sample, against the series' own past (the current sample is scored
//! before it joins the baseline, so a spike cannot hide itself):
//!
//! 1. **surprise**: the largest of three robust z-scores — the value against the median/IQR of
//!    the last `baseline_samples` values (level), the step from the previous value against the
//!    recent steps (jumps), and the mean of the last `short_samples` values against the baseline
//!    (sustained shifts);
//! 2. **likelihood** (the idea behind HTM's "anomaly likelihood"): how unusual the recent
//!    average surprise is compared with this series' own history of surprise, as a z-score of a
//!    short average against a long exponentially weighted mean/variance. A noisy series whose
//!    surprise is always high is not alarming; a calm one that suddenly jumps is;
//! 3. **suppression**: after a strong alarm the score is damped for `suppress_samples`, so one
//!    event is reported once, at its onset.
//!
//! The output score is in [0, 1], monotone in the likelihood z. The robust value z-score is also
//! returned: it is what the dashboard shows as "CPU 6.2σ above its baseline".

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::baseline::{robust_z, z_against, RollingQuantiles};

/// Tunables, all counts in samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnomalyConfig {
    /// Length of the robust baseline (median/IQR) of values and of steps.
    pub baseline_samples: usize,
    /// Length of the short mean compared against the baseline.
    pub short_samples: usize,
    /// Memory of the surprise statistics behind the likelihood.
    pub likelihood_samples: usize,
    /// Length of the short average of surprise in the likelihood.
    pub likelihood_short: usize,
    /// Samples before any score is emitted.
    pub warmup_samples: usize,
    /// After a score at or above `alarm_score`, scores are damped for this many samples.
    pub suppress_samples: usize,
    /// Score that starts a suppression period.
    pub alarm_score: f64,
    /// Factor applied to scores during suppression.
    pub suppress_factor: f64,
    /// Scale of the map from likelihood z to score: `score = 1 − exp(−z / score_scale)`.
    pub score_scale: f64,
    /// Weights of the level and short-mean z-scores in the surprise (the step z has weight 1).
    pub level_weight: f64,
    pub short_weight: f64,
    /// How the score is made from the surprise: 0 = likelihood z (HTM-like), 1 = ratio to the
    /// decaying maximum of past surprise ("record" novelty), 2 = the product of both.
    pub score_mode: u8,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            baseline_samples: 400,
            short_samples: 6,
            likelihood_samples: 1000,
            likelihood_short: 3,
            warmup_samples: 30,
            suppress_samples: 100,
            alarm_score: 0.4,
            suppress_factor: 0.3,
            score_scale: 10.0,
            level_weight: 1.0,
            short_weight: 1.0,
            score_mode: 2,
        }
    }
}

/// What the detector says about one sample.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct AnomalyOutput {
    /// Robust z of the value against its baseline (signed; floored spread, see [`robust_z`]).
    pub z: f64,
    /// Largest of the level, step and short-mean z-scores (unsigned).
    pub surprise: f64,
    /// Anomaly score in [0, 1] (0 during warm-up), damped after an alarm so that one event
    /// scores high once (what NAB evaluates).
    pub score: f64,
    /// The same score without the damping (0 during warm-up): how anomalous the present is,
    /// for as long as it lasts (what the brain's risk uses).
    pub level: f64,
}

/// Cap on a single surprise value, so one absurd sample cannot wreck the statistics.
const SURPRISE_CAP: f64 = 50.0;

/// Streaming detector of one series.
#[derive(Clone, Debug)]
pub struct AnomalyDetector {
    cfg: AnomalyConfig,
    /// Spread floor in the series' units (0 = scale-free).
    floor: f64,
    values: RollingQuantiles,
    steps: RollingQuantiles,
    short: VecDeque<f64>,
    short_sum: f64,
    prev: Option<f64>,
    surprise_short: VecDeque<f64>,
    surprise_mean: f64,
    surprise_var: f64,
    /// Decaying maximum of past short-averaged surprise.
    surprise_max: f64,
    seen: usize,
    suppress_left: usize,
}

impl AnomalyDetector {
    /// `floor`: smallest spread, in the series' units, that a deviation is measured against
    /// (e.g. 1 CPU-% point). 0 makes the detector invariant to shifting and scaling the series.
    pub fn new(cfg: AnomalyConfig, floor: f64) -> Self {
        let mut cfg = cfg;
        cfg.baseline_samples = cfg.baseline_samples.max(4);
        cfg.short_samples = cfg.short_samples.max(1);
        cfg.likelihood_samples = cfg.likelihood_samples.max(2);
        cfg.likelihood_short = cfg.likelihood_short.max(1);
        if !(cfg.score_scale.is_finite() && cfg.score_scale > 0.0) {
            cfg.score_scale = 10.0;
        }
        Self {
            values: RollingQuantiles::new(cfg.baseline_samples),
            steps: RollingQuantiles::new(cfg.baseline_samples),
            short: VecDeque::with_capacity(cfg.short_samples + 1),
            short_sum: 0.0,
            prev: None,
            surprise_short: VecDeque::with_capacity(cfg.likelihood_short + 1),
            surprise_mean: 0.0,
            surprise_var: 0.0,
            surprise_max: 0.0,
            seen: 0,
            suppress_left: 0,
            floor: if floor.is_finite() && floor > 0.0 {
                floor
            } else {
                0.0
            },
            cfg,
        }
    }

    pub fn config(&self) -> &AnomalyConfig {
        &self.cfg
    }

    /// Samples seen so far.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// True until `warmup_samples` samples have been seen.
    pub fn warming_up(&self) -> bool {
        self.seen < self.cfg.warmup_samples
    }

    /// Scores `x` against the past, then learns it. Non-finite `x` scores 0 and is not learnt.
    pub fn observe(&mut self, x: f64) -> AnomalyOutput {
        if !x.is_finite() {
            return AnomalyOutput::default();
        }
        // 1. Surprise against the past only.
        let center = self.values.center_and_spread();
        let z_of = |v: f64| center.map_or(0.0, |(m, sd)| z_against(m, sd, v, self.floor));
        let z = z_of(x);
        let step = self.prev.map(|p| x - p);
        let z_step = match step {
            Some(d) if !self.steps.is_empty() => robust_z(&self.steps, d, self.floor),
            _ => 0.0,
        };
        self.short.push_back(x);
        self.short_sum += x;
        if self.short.len() > self.cfg.short_samples {
            if let Some(old) = self.short.pop_front() {
                self.short_sum -= old;
            }
        }
        let short_mean = self.short_sum / self.short.len() as f64;
        let z_short = z_of(short_mean);
        let surprise = (self.cfg.level_weight * z.abs())
            .max(z_step.abs())
            .max(self.cfg.short_weight * z_short.abs())
            .min(SURPRISE_CAP);
        let surprise = if surprise.is_finite() { surprise } else { 0.0 };

        // 2. Likelihood of the recent surprise under this series' own history of surprise.
        self.surprise_short.push_back(surprise);
        if self.surprise_short.len() > self.cfg.likelihood_short {
            self.surprise_short.pop_front();
        }
        let recent = self.surprise_short.iter().sum::<f64>() / self.surprise_short.len() as f64;
        let sd = self
            .surprise_var
            .max(0.0)
            .sqrt()
            .max(0.05 + 0.1 * self.surprise_mean);
        let z_like = if self.seen > 1 {
            (recent - self.surprise_mean) / sd
        } else {
            0.0
        };
        let alpha = 1.0 / (self.seen as f64 + 1.0).min(self.cfg.likelihood_samples as f64);
        let d = surprise - self.surprise_mean;
        self.surprise_mean += alpha * d;
        self.surprise_var = (1.0 - alpha) * (self.surprise_var + alpha * d * d);

        let like_score = if z_like > 0.0 && z_like.is_finite() {
            1.0 - (-z_like / self.cfg.score_scale).exp()
        } else {
            0.0
        };
        // Novelty: how far the recent surprise exceeds the largest one seen lately.
        let ratio = recent / self.surprise_max.max(1e-3);
        let record_score = ratio / (1.0 + ratio);
        self.surprise_max = recent.max(self.surprise_max * (1.0 - alpha));

        // 3. Score, warm-up and suppression.
        let mut score = match self.cfg.score_mode {
            1 => record_score,
            2 => (record_score * like_score).sqrt(),
            _ => like_score,
        };
        if self.warming_up() || !score.is_finite() {
            score = 0.0;
        }
        let level = score.clamp(0.0, 1.0);
        if self.suppress_left > 0 {
            self.suppress_left -= 1;
            score *= self.cfg.suppress_factor;
        } else if score >= self.cfg.alarm_score {
            self.suppress_left = self.cfg.suppress_samples;
        }

        // Learn the sample.
        self.values.push(x);
        if let Some(d) = step {
            self.steps.push(d);
        }
        self.prev = Some(x);
        self.seen += 1;
        AnomalyOutput {
            z,
            surprise,
            score: score.clamp(0.0, 1.0),
            level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    #[test]
    fn spike_in_noise_scores_high_and_calm_scores_low() {
        let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
        let mut s = 1;
        let mut calm_max: f64 = 0.0;
        for _ in 0..1500 {
            let o = d.observe(100.0 + 10.0 * noise(&mut s));
            calm_max = calm_max.max(o.score);
        }
        let spike = d.observe(200.0);
        assert!(spike.z > 8.0, "{spike:?}");
        assert!(spike.score > calm_max, "{spike:?} vs calm {calm_max}");
    }

    #[test]
    fn warm_up_emits_zero() {
        let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
        for i in 0..29 {
            assert_eq!(d.observe(if i == 20 { 1e9 } else { 1.0 }).score, 0.0);
        }
    }

    #[test]
    fn hostile_inputs_stay_finite() {
        let mut d = AnomalyDetector::new(AnomalyConfig::default(), 0.0);
        for x in [
            f64::NAN,
            0.0,
            1e300,
            -1e300,
            f64::INFINITY,
            5.0,
            5.0,
            f64::MIN_POSITIVE,
        ] {
            let o = d.observe(x);
            assert!(o.score.is_finite() && o.z.is_finite() && o.surprise.is_finite());
            assert!((0.0..=1.0).contains(&o.score));
        }
    }
}
