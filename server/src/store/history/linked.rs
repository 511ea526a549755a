//! Lanes that move with another lane of the same point, coded as what that move does not
//! explain. A z-score is `(x − median) / spread` with a median and a spread that change slowly,
//! so from one second to the next it moves by about `Δx / spread`; a forecast that is naive
//! last-value (the forecaster's fallback) moves exactly with its metric. Such a lane, delta-coded
//! on its own, pays for its metric's noise a second time.
//!
//! Each link learns the slope between its source's moves and its target's (least squares through
//! the origin over the recent points, decayed), keeps a running offset of what that slope has
//! predicted since the chunk began, and hands the lane the target minus the offset: the lane's
//! delta is then the target's move minus the predicted move. Encoder and decoder run the same
//! arithmetic on the same quantised values, so they agree to the bit; a slope that predicts
//! badly costs bits, never precision.

use super::lane::Val;

/// Weight of the previous sums at each point: the slope follows the last few dozen moves (a
/// spread that changes with the baseline window is followed within a minute).
const DECAY: f64 = 0.95;
/// Largest step a slope may predict, in quantised units (beyond it the prediction is dropped:
/// a wild slope must not wrap the offset).
const MAX_STEP: f64 = (1u64 << 40) as f64;

/// One linked lane's state (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// The source at the previous point, when it had a value.
    x_prev: Option<f64>,
    /// The target (quantised) at the previous point, when it had one.
    y_prev: Option<i64>,
    /// Decayed sums of Δx·Δy and Δx² over points where both moved from a value.
    sxy: f64,
    sxx: f64,
    /// What the slope has predicted so far in this chunk.
    offset: i64,
}

impl Link {
    /// The target's move the slope predicts for a source at `x` (0 without a previous source or
    /// a slope yet).
    fn step(&self, x: Option<f64>) -> i64 {
        match (self.x_prev, x) {
            (Some(a), Some(b)) if self.sxx > 0.0 => {
                let s = (self.sxy / self.sxx * (b - a)).round();
                if s.is_finite() && s.abs() < MAX_STEP {
                    s as i64
                } else {
                    0
                }
            }
            _ => 0,
        }
    }

    fn learn(&mut self, x: Option<f64>, y: Option<i64>) {
        if let (Some(x0), Some(x1), Some(y0), Some(y1)) = (self.x_prev, x, self.y_prev, y) {
            let dx = x1 - x0;
            let sxy = DECAY * self.sxy + dx * y1.wrapping_sub(y0) as f64;
            let sxx = DECAY * self.sxx + dx * dx;
            // An overflowing move would leave the sums infinite (or NaN) for good.
            if sxy.is_finite() && sxx.is_finite() {
                (self.sxy, self.sxx) = (sxy, sxx);
            }
        }
        self.x_prev = x;
        self.y_prev = y;
    }

    /// The lane's value for target `y` when the source reads `x`.
    pub fn encode(&mut self, x: Option<f64>, y: Val) -> Val {
        match y {
            Val::Q(q) => {
                self.offset = self.offset.wrapping_add(self.step(x));
                self.learn(x, Some(q));
                Val::Q(q.wrapping_sub(self.offset))
            }
            other => {
                self.learn(x, None);
                other
            }
        }
    }

    /// The target back from the lane's value `v` when the source reads `x`.
    pub fn decode(&mut self, x: Option<f64>, v: Val) -> Val {
        match v {
            Val::Q(r) => {
                self.offset = self.offset.wrapping_add(self.step(x));
                let q = r.wrapping_add(self.offset);
                self.learn(x, Some(q));
                Val::Q(q)
            }
            other => {
                self.learn(x, None);
                other
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that is its source over a spread, rounded, with the spread drifting.
    fn pairs(n: usize) -> Vec<(Option<f64>, Val)> {
        (0..n)
            .map(|i| {
                let noise = ((i as u64).wrapping_mul(2_654_435_761) % 1000) as f64;
                let spread = 40.0 + i as f64 / 50.0;
                let q = (10.0 * (noise - 500.0) / spread).round() as i64;
                let y = if i % 97 == 5 { Val::None } else { Val::Q(q) };
                let x = if i % 89 == 3 { None } else { Some(noise) };
                (x, y)
            })
            .collect()
    }

    #[test]
    fn decoding_gives_back_every_target() {
        let (mut enc, mut dec) = (Link::default(), Link::default());
        for (x, y) in pairs(2000) {
            let v = enc.encode(x, y);
            assert_eq!(dec.decode(x, v), y);
        }
    }

    #[test]
    fn a_target_that_follows_its_source_leaves_small_moves() {
        let mut link = Link::default();
        let (mut raw, mut linked) = (0u64, 0u64);
        let (mut prev_y, mut prev_v) = (None, None);
        for (x, y) in pairs(2000).into_iter().skip(100) {
            let v = link.encode(x, y);
            if let (Val::Q(a), Some(Val::Q(b)), Val::Q(c), Some(Val::Q(d))) = (y, prev_y, v, prev_v)
            {
                raw += a.abs_diff(b);
                linked += c.abs_diff(d);
            }
            (prev_y, prev_v) = (Some(y), Some(v));
        }
        // The target's moves are the source's noise over the spread (~100 steps a point); what
        // is left is mostly the rounding.
        assert!(linked * 10 < raw, "{linked} vs {raw}");
    }

    #[test]
    fn wild_sources_never_break_the_round_trip() {
        let xs = [
            Some(0.0),
            Some(1e300),
            Some(-1e300),
            None,
            Some(f64::MAX),
            Some(5.0),
        ];
        let (mut enc, mut dec) = (Link::default(), Link::default());
        for i in 0..600 {
            let x = xs[i % xs.len()];
            let y = Val::Q((i as i64 * 7919) % 1000 - 500);
            let v = enc.encode(x, y);
            assert_eq!(dec.decode(x, v), y);
        }
    }
}
