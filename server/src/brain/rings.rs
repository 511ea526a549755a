//! The sliding minimum and maximum of about the last N values, as the anomaly detector's breakout
//! test reads them, in a fixed few hundred bytes.
//!
//! An exact sliding extreme needs, in the worst case, every value of its window: a monotonic
//! queue holds one entry per value when the series only climbs (a cache filling, a slow leak:
//! 32 KiB per 1,500-sample window, against the few hundred bytes it holds on a noisy series).
//! The range is therefore kept per block of `⌈N / BLOCKS⌉` values: the blocks that hold the last
//! N values, and the block being filled. It covers the last N values and at most two blocks'
//! worth (1/16 of N) more, whatever the series.

/// Blocks a window is split into.
const BLOCKS: usize = 32;

/// Minimum and maximum of the last `cap` values and of less than two blocks more, in
/// O(1) per value (amortised) and O(`BLOCKS`) memory.
#[derive(Clone, Debug)]
pub struct RollingRange {
    /// Values per block.
    block: usize,
    /// Completed blocks kept: enough to hold `cap` values.
    keep: usize,
    /// The completed blocks' (min, max), oldest first (a ring once `keep` are held).
    done: Vec<(f64, f64)>,
    /// Where the next completed block goes once `done` is full.
    next: usize,
    /// The extremes over `done`, recomputed when a block completes.
    done_range: Option<(f64, f64)>,
    /// The block being filled: its (min, max) and how many values it holds.
    open: Option<(f64, f64)>,
    filled: usize,
}

impl RollingRange {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        let block = cap.div_ceil(BLOCKS);
        Self {
            block,
            keep: cap.div_ceil(block),
            done: Vec::new(),
            next: 0,
            done_range: None,
            open: None,
            filled: 0,
        }
    }

    pub fn push(&mut self, x: f64) {
        self.open = Some(match self.open {
            Some((lo, hi)) => (lo.min(x), hi.max(x)),
            None => (x, x),
        });
        self.filled += 1;
        if self.filled < self.block {
            return;
        }
        if let Some(closed) = self.open.take() {
            if self.done.len() < self.keep {
                self.done.reserve_exact(self.keep - self.done.len());
                self.done.push(closed);
            } else if let Some(slot) = self.done.get_mut(self.next) {
                *slot = closed;
                self.next = (self.next + 1) % self.keep;
            }
        }
        self.filled = 0;
        self.done_range = self.done.iter().copied().reduce(wider);
    }

    pub fn range(&self) -> Option<(f64, f64)> {
        match (self.done_range, self.open) {
            (Some(a), Some(b)) => Some(wider(a, b)),
            (a, b) => a.or(b),
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.done.capacity() * std::mem::size_of::<(f64, f64)>()
    }
}

/// The range covering both.
fn wider(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0.min(b.0), a.1.max(b.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Extremes of `values[from..]`.
    fn extremes(values: &[f64], from: usize) -> (f64, f64) {
        let tail = &values[from..];
        let lo = tail.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = tail.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }

    proptest! {
        /// The range always spans the last `cap` values, and never reaches further back than
        /// two blocks beyond them.
        #[test]
        fn range_spans_the_window_and_little_more(
            cap in 1usize..200,
            values in prop::collection::vec(-1e6f64..1e6, 1..600),
        ) {
            let mut r = RollingRange::new(cap);
            let block = cap.div_ceil(BLOCKS);
            for (i, &x) in values.iter().enumerate() {
                r.push(x);
                let seen = &values[..=i];
                let (lo, hi) = r.range().expect("a value was pushed");
                let (inner_lo, inner_hi) = extremes(seen, seen.len().saturating_sub(cap));
                let (outer_lo, outer_hi) =
                    extremes(seen, seen.len().saturating_sub(cap + 2 * block - 1));
                prop_assert!(lo <= inner_lo && hi >= inner_hi);
                prop_assert!(lo >= outer_lo && hi <= outer_hi);
            }
        }
    }

    #[test]
    fn a_climbing_series_costs_no_more_than_a_flat_one() {
        let mut r = RollingRange::new(1500);
        for i in 0..10_000 {
            r.push(f64::from(i));
        }
        assert!(r.heap_bytes() <= (BLOCKS + 1) * 16, "{}", r.heap_bytes());
        let (lo, hi) = r.range().expect("values pushed");
        assert_eq!(hi, 9_999.0);
        // The window's start, give or take the block being filled.
        assert!((8_500.0 - 2.0 * 47.0..=8_500.0).contains(&lo), "{lo}");
    }

    #[test]
    fn old_extremes_leave_the_range() {
        let mut r = RollingRange::new(100);
        r.push(1e9);
        for _ in 0..200 {
            r.push(1.0);
        }
        assert_eq!(r.range(), Some((1.0, 1.0)));
    }
}
