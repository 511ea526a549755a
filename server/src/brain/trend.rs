//! Sustained-trend detector over the last few samples: says when a metric is *ramping*, so the
//! forecast can lead a CPU storm or a memory climb instead of lagging it.
//!
//! The forecaster's blend weighs its candidates by realised errors, which arrive a full horizon
//! after each forecast; on a ramp that lasts about a horizon the weights cannot move in time. This
//! detector needs no realised error: it fits a line to the last `points` samples and another to
//! the newest half of them. A ramp is *sustained* when both slopes are significant, point the same
//! way and agree within a factor of two, and the rise across the window is several times the
//! metric's usual sample-to-sample change (so a noisy but flat series, whose short lines are
//! sometimes "significant" by chance, does not count). A level step (which a single line also
//! reads as a slope) fails the check, because after the step the newest half is flat. The output
//! is a gate in [0, 1] (how sure we are that a ramp is under way) and the extrapolated line.

use std::collections::VecDeque;

/// Running sums for a least-squares line, with x and y measured from the newest point (so the
/// single-pass formulas stay accurate for large times and values).
#[derive(Clone, Copy, Default)]
struct Sums {
    n: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
    syy: f64,
}

impl Sums {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.sxy += x * y;
        self.syy += y * y;
    }

    /// `(slope, t statistic of the slope, fitted value at the newest point, relative to it)`;
    /// `None` with fewer than 3 points or no spread in time.
    fn line(&self) -> Option<(f64, f64, f64)> {
        let n = self.n;
        if n < 3.0 {
            return None;
        }
        let (mx, my) = (self.sx / n, self.sy / n);
        let sxx = self.sxx - n * mx * mx;
        let sxy = self.sxy - n * mx * my;
        let syy = self.syy - n * my * my;
        if sxx <= 1e-12 {
            return None;
        }
        let b = sxy / sxx;
        let sse = (syy - b * sxy).max(0.0);
        let se = (sse / (n - 2.0) / sxx).sqrt();
        // Relative floor: a perfect line is as significant as it gets, but stays finite.
        let se = se.max(1e-9 * (b.abs() + my.abs() + 1e-300));
        let t = (b / se).clamp(-1e6, 1e6);
        let fitted = my - b * mx;
        (b.is_finite() && t.is_finite() && fitted.is_finite()).then_some((b, t, fitted))
    }
}

/// Linear ramp from 0 at `lo` to 1 at `hi`.
fn ramp(v: f64, lo: f64, hi: f64) -> f64 {
    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// What the detector reads from the latest samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrendReading {
    /// Slope over the whole short window (y units per time unit).
    pub slope: f64,
    /// Its t statistic.
    pub t: f64,
    /// Line value at the newest sample (a less noisy "now" than the raw sample).
    pub level: f64,
    /// 0 = no sustained ramp, 1 = a clear one.
    pub gate: f64,
}

impl TrendReading {
    /// The line carried `h` time units ahead with its slope damped by `phi` per unit (Holt's
    /// damped trend: the increments shrink geometrically, so a ramp that ends soon is not
    /// overshot much).
    pub fn extrapolate(&self, h: f64, phi: f64) -> f64 {
        let steps = if phi > 0.0 && phi < 1.0 {
            phi * (1.0 - phi.powf(h)) / (1.0 - phi)
        } else {
            h
        };
        self.level + self.slope * steps
    }
}

/// The last `points` samples and the ramp test on them.
#[derive(Clone, Debug)]
pub struct ShortTrend {
    points: usize,
    buf: VecDeque<(f64, f64)>,
}

impl ShortTrend {
    /// `points`: length of the short window in samples (at least 6).
    pub fn new(points: usize) -> Self {
        let points = points.max(6);
        Self {
            points,
            buf: VecDeque::with_capacity(points + 1),
        }
    }

    pub fn push(&mut self, x: f64, y: f64) {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        self.buf.push_back((x, y));
        while self.buf.len() > self.points {
            self.buf.pop_front();
        }
    }

    /// The samples in the window, oldest first.
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.buf.iter().copied()
    }

    /// The current reading, given the metric's usual absolute change between consecutive
    /// samples (`noise`) and whether a ramp was already under way (`ongoing`: then the newest
    /// half only needs to keep going the same way, so one noisy sample does not end a ramp);
    /// `None` until the window is full.
    pub fn reading(&self, noise: f64, ongoing: bool) -> Option<TrendReading> {
        if self.buf.len() < self.points {
            return None;
        }
        let half = (self.points / 2).max(4);
        let (x0, y0) = *self.buf.back()?;
        let (mut all, mut recent) = (Sums::default(), Sums::default());
        for (i, &(x, y)) in self.buf.iter().enumerate() {
            let (dx, dy) = (x - x0, y - y0);
            all.add(dx, dy);
            if i >= self.points - half {
                recent.add(dx, dy);
            }
        }
        let (slope, t, level) = all.line()?;
        let level = level + y0;
        let span = self.buf.front().map_or(0.0, |a| x0 - a.0);
        let rise = (slope * span).abs();
        // A noise scale of 0 (a flat series so far) makes any clear rise a ramp.
        let big = if noise > 0.0 {
            ramp(rise / noise, 3.0, 6.0)
        } else {
            1.0
        };
        let gate = match recent.line() {
            Some((b2, t2, _)) if b2 * slope > 0.0 => {
                let ratio = b2 / slope;
                let (agree, recent) = if ongoing {
                    ((0.25..=4.0).contains(&ratio), 1.0)
                } else {
                    ((0.5..=2.0).contains(&ratio), ramp(t2.abs(), 1.5, 3.0))
                };
                let agree = if agree { 1.0 } else { 0.0 };
                agree * big * ramp(t.abs(), 3.0, 6.0) * recent
            }
            _ => 0.0,
        };
        Some(TrendReading {
            slope,
            t,
            level,
            gate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ys: &[f64]) -> Option<TrendReading> {
        let mut s = ShortTrend::new(10);
        for (i, y) in ys.iter().enumerate() {
            s.push(i as f64, *y);
        }
        s.reading(1.0, false)
    }

    #[test]
    fn a_clean_ramp_opens_the_gate_and_extrapolates() {
        let ys: Vec<f64> = (0..12).map(|i| 10.0 + 3.0 * i as f64).collect();
        let r = feed(&ys).expect("reading");
        assert!((r.slope - 3.0).abs() < 1e-9);
        assert_eq!(r.gate, 1.0);
        assert!((r.extrapolate(10.0, 1.0) - (43.0 + 30.0)).abs() < 1e-6);
        assert!(r.extrapolate(10.0, 0.9) < 73.0 && r.extrapolate(10.0, 0.9) > 43.0);
    }

    #[test]
    fn a_level_step_is_not_a_ramp() {
        for at in 1..10 {
            let ys: Vec<f64> = (0..10)
                .map(|i| if i >= at { 50.0 } else { 0.0 } + 0.1 * (i % 3) as f64)
                .collect();
            let r = feed(&ys).expect("reading");
            assert!(r.gate < 0.2, "step at {at}: {r:?}");
        }
    }

    #[test]
    fn flat_noise_keeps_the_gate_shut() {
        let mut s = 5u64;
        let mut open = 0;
        let mut tr = ShortTrend::new(10);
        for i in 0..5000 {
            let y = 30.0 + crate::brain::test_noise::noise(&mut s) * 10.0;
            tr.push(i as f64, y);
            if tr.reading(0.0, false).is_some_and(|r| r.gate > 0.5) {
                open += 1;
            }
        }
        assert!(open < 25, "gate open on noise {open} times in 5000");
    }

    #[test]
    fn a_rise_within_the_usual_noise_is_not_a_ramp() {
        let ys: Vec<f64> = (0..10).map(|i| 50.0 + 0.5 * i as f64).collect();
        let mut s = ShortTrend::new(10);
        for (i, y) in ys.iter().enumerate() {
            s.push(i as f64, *y + 0.01 * (i % 2) as f64);
        }
        assert_eq!(s.reading(5.0, false).expect("reading").gate, 0.0);
        assert!(s.reading(0.5, false).expect("reading").gate > 0.9);
    }

    #[test]
    fn an_ongoing_ramp_survives_one_noisy_sample_but_not_a_plateau() {
        let mut s = ShortTrend::new(10);
        let ys = [7.4, 8.4, 12.0, 13.6, 14.0, 18.2, 23.7, 21.9, 29.1, 24.4];
        for (i, y) in ys.iter().enumerate() {
            s.push(i as f64, *y);
        }
        assert!(s.reading(0.5, false).expect("reading").gate < 0.5);
        assert!(s.reading(0.5, true).expect("reading").gate > 0.9);
        for i in 10..15 {
            s.push(i as f64, 50.0);
        }
        assert_eq!(s.reading(0.5, true).expect("reading").gate, 0.0);
    }

    #[test]
    fn needs_a_full_window() {
        assert!(feed(&[1.0, 2.0, 3.0]).is_none());
    }
}
