//! Level-shift detector: says when a metric has jumped to a new level and stayed there, so the
//! forecaster can restart its window instead of averaging the old level into its forecast.
//!
//! A sample *deviates* when it lies more than `k` noise scales (and more than the metric's
//! `floor`) from the current level; the noise scale is an exponentially weighted mean of the
//! absolute sample-to-sample changes, so a bursty series learns a wide scale and rarely shifts. A
//! shift is *confirmed* when `confirm` consecutive samples deviate on the same side and sit close
//! to the first of them (a new plateau, not a spike).

/// Streaming level-shift detector.
#[derive(Clone, Debug)]
pub struct ShiftDetector {
    k: f64,
    floor: f64,
    confirm: usize,
    alpha: f64,
    scale: f64,
    diffs: usize,
    prev: Option<f64>,
    /// `(reference level, first deviating sample, deviating samples so far)`.
    pending: Option<(f64, f64, usize)>,
}

/// Changes needed before the noise scale is trusted.
const MIN_DIFFS: usize = 10;

impl ShiftDetector {
    /// `k`: threshold in noise scales; `floor`: smallest shift that counts (metric units);
    /// `confirm`: deviating samples that make a shift (at least 2); `memory`: memory of the
    /// noise scale, in samples.
    pub fn new(k: f64, floor: f64, confirm: usize, memory: f64) -> Self {
        Self {
            k: if k.is_finite() && k > 0.0 { k } else { 6.0 },
            floor: if floor.is_finite() {
                floor.max(0.0)
            } else {
                0.0
            },
            confirm: confirm.max(2),
            alpha: 1.0 / memory.max(1.0),
            scale: 0.0,
            diffs: 0,
            prev: None,
            pending: None,
        }
    }

    /// Noise scale (mean absolute change between consecutive samples).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Feeds sample `y`, with `level` the forecaster's current level estimate before `y`.
    /// Returns the first deviating sample when `y` confirms a shift.
    pub fn observe(&mut self, y: f64, level: f64) -> Option<f64> {
        if !(y.is_finite() && level.is_finite()) {
            return None;
        }
        let thr = (self.k * self.scale).max(self.floor);
        let armed = self.diffs >= MIN_DIFFS;
        let mut confirmed = None;
        let pending = self.pending.take();
        if armed {
            if let Some((r, y1, n)) = pending {
                let (d1, d) = (y1 - r, y - r);
                if d1 * d > 0.0 && d.abs() > thr && (y - y1).abs() <= 0.5 * d1.abs() {
                    if n + 1 >= self.confirm {
                        confirmed = Some(y1);
                    } else {
                        self.pending = Some((r, y1, n + 1));
                    }
                }
            }
            if confirmed.is_none() && self.pending.is_none() && (y - level).abs() > thr {
                self.pending = Some((level, y, 1));
            }
        }
        if let Some(p) = self.prev {
            let d = (y - p).abs();
            self.scale = if self.diffs == 0 {
                d
            } else {
                self.scale + self.alpha * (d - self.scale)
            };
            self.diffs += 1;
        }
        self.prev = Some(y);
        confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(i: usize) -> f64 {
        [0.3, -0.2, 0.1, -0.4, 0.2][i % 5]
    }

    #[test]
    fn a_step_is_confirmed_on_its_second_sample() {
        let mut d = ShiftDetector::new(6.0, 1.0, 2, 50.0);
        let mut hits = Vec::new();
        let mut level = 5.0;
        for i in 0..80 {
            let y = if i < 40 { 5.0 } else { 50.0 } + noisy(i);
            if d.observe(y, level).is_some() {
                hits.push(i);
                level = y;
            }
            level += 0.3 * (y - level);
        }
        assert_eq!(hits, [41]);
    }

    #[test]
    fn spikes_are_not_shifts() {
        let mut d = ShiftDetector::new(6.0, 1.0, 2, 50.0);
        let mut level = 5.0;
        for i in 0..200 {
            let y = if i % 37 == 0 { 90.0 } else { 5.0 } + noisy(i);
            assert!(d.observe(y, level).is_none(), "sample {i}");
            level += 0.3 * (y - level);
        }
    }

    #[test]
    fn below_the_floor_nothing_happens() {
        let mut d = ShiftDetector::new(6.0, 2.0, 2, 50.0);
        for i in 0..100 {
            let y = if i < 50 { 0.0 } else { 1.5 };
            assert!(d.observe(y, 0.0).is_none());
        }
    }
}
