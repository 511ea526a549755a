//! A metric's own robust baseline: median and interquartile range of its last N samples.
//!
//! The window is counted in samples, not seconds, so the same code serves 1-second container
//! metrics and 5-minute NAB series. Median and IQR ignore a short spike (it moves them by at most
//! a rank or two), so a spike is measured against the baseline rather than absorbed by it.
//! Kept as a ring of arrivals plus their slots in value order: O(log N) search, O(N) memmove of
//! 2-byte slots (the values are stored once; a sorted copy of them would double the memory).

/// Most samples a window holds (its slots are `u16`).
pub const MAX_WINDOW: usize = 1 << 16;

/// How a window stores its samples: `f64` exactly, or `f32` for half the memory where seven
/// significant digits are plenty (scale-free quantities such as the detector's distances in
/// spreads, or metric values relative to their series' first one: raw, a large offset would eat
/// the digits).
pub trait Stored: Copy + std::fmt::Debug {
    /// `x` as stored (finite in, finite out).
    fn store(x: f64) -> Self;
    fn get(self) -> f64;
    /// `self ≤ other`, both as stored (finite).
    #[inline(always)]
    fn at_most(self, other: Self) -> bool {
        self.get() <= other.get()
    }
    /// `self < other`, both as stored (finite).
    #[inline(always)]
    fn below(self, other: Self) -> bool {
        self.get() < other.get()
    }
}

impl Stored for f64 {
    fn store(x: f64) -> Self {
        x
    }
    fn get(self) -> f64 {
        self
    }
}

impl Stored for f32 {
    fn store(x: f64) -> Self {
        super::stats::narrow(x)
    }
    fn get(self) -> f64 {
        f64::from(self)
    }
}

/// Half precision (11 significant bits, magnitudes up to 65,504, saturating beyond): for a
/// window of non-negative, scale-free quantities whose quantiles are only read to a few per
/// cent — the detector's nearest-pattern distances in spreads.
impl Stored for half::f16 {
    fn store(x: f64) -> Self {
        let h = half::f16::from_f64(x.clamp(-65_504.0, 65_504.0));
        // One zero, so that the bit order below is the value order.
        if h == half::f16::ZERO {
            half::f16::ZERO
        } else {
            h
        }
    }
    fn get(self) -> f64 {
        self.to_f64()
    }
    // Compared by their bits, not converted: the ranking search of every push compares a
    // dozen stored values, and without the F16C instructions (not in the baseline x86-64
    // target) each conversion is a software routine.
    #[inline(always)]
    fn at_most(self, other: Self) -> bool {
        ordered_bits(self) <= ordered_bits(other)
    }
    #[inline(always)]
    fn below(self, other: Self) -> bool {
        ordered_bits(self) < ordered_bits(other)
    }
}

/// The bits of a finite half-precision value, as an integer in the values' order (negative
/// values have their bits inverted, positive ones their sign bit set; `-0` is never stored).
#[inline(always)]
fn ordered_bits(h: half::f16) -> u16 {
    let b = h.to_bits();
    if b & 0x8000 != 0 {
        !b
    } else {
        b | 0x8000
    }
}

/// Rolling order statistics over the last `capacity` finite samples, stored as `T`.
#[derive(Clone, Debug)]
pub struct RollingQuantiles<T: Stored = f64> {
    capacity: usize,
    /// The samples, a ring in arrival order: once full, the oldest is at `head`.
    arrivals: Vec<T>,
    head: usize,
    /// Slots of `arrivals` in value order, equal values in arrival order (so the oldest of a run
    /// of equal values is its first, where eviction finds it without a scan).
    sorted: Vec<u16>,
}

impl<T: Stored> RollingQuantiles<T> {
    /// A window of the last `capacity` samples (1 to [`MAX_WINDOW`]).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_WINDOW);
        Self {
            capacity,
            arrivals: Vec::with_capacity(capacity),
            head: 0,
            sorted: Vec::with_capacity(capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The sample in slot `s`.
    fn at(&self, s: u16) -> f64 {
        self.stored_at(usize::from(s)).get()
    }

    /// The sample in slot `s` as stored (slots in `sorted` are always filled).
    fn stored_at(&self, s: usize) -> T {
        self.arrivals
            .get(s)
            .copied()
            .unwrap_or_else(|| T::store(0.0))
    }

    /// The `k`-th smallest sample (0-based; `k < len`).
    fn nth(&self, k: usize) -> f64 {
        self.sorted.get(k).map_or(0.0, |&s| self.at(s))
    }

    /// Adds a sample (non-finite ones are ignored), evicting the oldest when full. It is ranked
    /// as stored.
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let stored = T::store(x);
        // `x` is the newest: it goes after the samples equal to it.
        let j = self
            .sorted
            .partition_point(|&s| self.stored_at(usize::from(s)).at_most(stored));
        if self.arrivals.len() < self.capacity {
            let slot = self.arrivals.len() as u16;
            self.arrivals.push(stored);
            self.sorted.insert(j, slot);
            return;
        }
        // Full: `x` takes the oldest sample's slot, and its place in value order with one shift
        // of the slots between the two ranks. The oldest is the first of its run of equals.
        let slot = self.head;
        let old = self.stored_at(slot);
        let i = self
            .sorted
            .partition_point(|&s| self.stored_at(usize::from(s)).below(old));
        if j > i {
            self.sorted.copy_within(i + 1..j, i);
            self.sorted[j - 1] = slot as u16;
        } else {
            self.sorted.copy_within(j..i, j + 1);
            self.sorted[j] = slot as u16;
        }
        self.arrivals[slot] = stored;
        self.head = if slot + 1 == self.capacity {
            0
        } else {
            slot + 1
        };
    }

    /// Linear-interpolated quantile `q` in [0, 1]; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
        // `pos` is never negative, so truncating is flooring (one instruction, where `floor`
        // is a call into libm on the baseline x86-64 target).
        let lo = pos as usize;
        let hi = (lo + 1).min(n - 1);
        let frac = pos - lo as f64;
        Some(self.nth(lo) + (self.nth(hi) - self.nth(lo)) * frac)
    }

    pub fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// Robust spread: IQR / 1.349 (equals σ for normal data). When more than half the window is
    /// one value (IQR = 0: counters, idle metrics) it falls back to wider quantile ranges scaled
    /// the same way — 10–90 %, then 1–99 %, then the full range — so a series that is mostly
    /// constant still has a meaningful scale.
    pub fn iqr_sigma(&self) -> Option<f64> {
        let spread = |lo: f64, z: f64| -> Option<f64> {
            Some((self.quantile(1.0 - lo)? - self.quantile(lo)?) / (2.0 * z))
        };
        for (lo, z) in [
            (0.25, 0.674_49),
            (0.10, 1.281_55),
            (0.01, 2.326_35),
            (0.0, 3.0),
        ] {
            let s = spread(lo, z)?;
            if s > 0.0 {
                return Some(s);
            }
        }
        Some(0.0)
    }

    /// Median and robust spread together (`None` when empty).
    pub fn center_and_spread(&self) -> Option<(f64, f64)> {
        Some((self.median()?, self.iqr_sigma()?))
    }

    /// Fraction of stored samples strictly below / at-or-below `x` (empirical CDF, mid-rank).
    pub fn rank(&self, x: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 || !x.is_finite() {
            return None;
        }
        let below = self.sorted.partition_point(|&s| self.at(s) < x);
        let at_or_below = self.sorted.partition_point(|&s| self.at(s) <= x);
        Some((below + at_or_below) as f64 / (2.0 * n as f64))
    }
}

/// Largest |z| reported; keeps the wire finite when the baseline has no spread at all.
pub const Z_CAP: f64 = 1000.0;

/// Robust z-score of `x` against a baseline: `(x − median) / max(IQR/1.349, floor)`.
///
/// `floor` is an absolute lower bound on the spread in the metric's own units (1 CPU-% point,
/// 1 MiB, ...), so a metric that never moved does not turn a tiny change into thousands of σ. With
/// `floor = 0` the score is invariant to shifting and positive scaling of the whole series. A
/// baseline with no spread and no floor yields 0 for `x = median` and ±[`Z_CAP`] otherwise.
pub fn robust_z<T: Stored>(base: &RollingQuantiles<T>, x: f64, floor: f64) -> f64 {
    match base.center_and_spread() {
        Some((med, sigma)) => z_against(med, sigma, x, floor),
        None => 0.0,
    }
}

/// [`robust_z`] with the baseline's median and spread already computed.
pub fn z_against(med: f64, sigma: f64, x: f64, floor: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let scale = sigma.max(if floor.is_finite() { floor } else { 0.0 });
    let d = x - med;
    if scale > 0.0 {
        let z = d / scale;
        if z.is_nan() {
            0.0
        } else {
            z.clamp(-Z_CAP, Z_CAP)
        }
    } else if d == 0.0 || d.is_nan() {
        0.0
    } else {
        Z_CAP * d.signum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brain::test_noise::{noise, uniform01};

    #[test]
    fn quantiles_of_a_known_window() {
        let mut q = RollingQuantiles::<f64>::new(5);
        for x in [5.0, 1.0, 4.0, 2.0, 3.0] {
            q.push(x);
        }
        assert_eq!(q.median(), Some(3.0));
        assert_eq!(q.quantile(0.25), Some(2.0));
        assert_eq!(q.quantile(1.0), Some(5.0));
        q.push(100.0); // evicts 5
        assert_eq!(q.len(), 5);
        assert_eq!(q.median(), Some(3.0));
        assert_eq!(q.quantile(1.0), Some(100.0));
        assert_eq!(q.rank(3.0), Some(0.5));
    }

    #[test]
    fn spike_is_not_absorbed() {
        let mut q = RollingQuantiles::<f64>::new(100);
        for i in 0..100 {
            q.push(10.0 + (i % 5) as f64);
        }
        let before = robust_z(&q, 60.0, 0.0);
        q.push(60.0);
        q.push(60.0);
        let after = robust_z(&q, 60.0, 0.0);
        assert!(before > 20.0 && after > 0.9 * before, "{before} {after}");
    }

    #[test]
    fn flat_baseline_uses_floor_or_cap() {
        let mut q = RollingQuantiles::<f64>::new(10);
        for _ in 0..10 {
            q.push(12.0);
        }
        assert_eq!(robust_z(&q, 12.0, 0.0), 0.0);
        assert_eq!(robust_z(&q, 13.0, 0.0), Z_CAP);
        assert_eq!(robust_z(&q, 13.0, 1.0), 1.0);
        assert_eq!(robust_z(&q, f64::NAN, 1.0), 0.0);
        assert_eq!(robust_z(&RollingQuantiles::<f64>::new(3), 1.0, 1.0), 0.0);
    }

    /// Pushes 2,000 draws into a window of 37 and compares it, after each, with a fresh sort of
    /// the last 37 values as stored.
    fn assert_window_matches_a_fresh_sort<T: Stored>(seed: u64, draw: impl Fn(f64) -> f64) {
        let mut q = RollingQuantiles::<T>::new(37);
        let mut s = seed;
        let mut all = Vec::new();
        for _ in 0..2000 {
            let x = draw(uniform01(&mut s));
            q.push(x);
            all.push(T::store(x).get());
            let mut tail: Vec<f64> = all[all.len().saturating_sub(37)..].to_vec();
            tail.sort_by(f64::total_cmp);
            let held: Vec<f64> = (0..q.len()).map(|k| q.nth(k)).collect();
            assert_eq!(held, tail);
        }
    }

    #[test]
    fn sorted_copy_matches_a_fresh_sort() {
        assert_window_matches_a_fresh_sort::<f64>(5, |u| (u * 50.0).floor()); // many ties
    }

    #[test]
    fn half_precision_values_compare_by_their_bits_as_by_their_values() {
        let mut s = 11u64;
        let mut values: Vec<half::f16> = [0.0, -0.0, 1e-7, -1e-7, 65_504.0, -65_504.0, 1e9]
            .iter()
            .map(|&x| half::f16::store(x))
            .collect();
        for k in 0..3000 {
            // Magnitudes from 1e-7 (subnormal in half precision) to 5e4; 1e9 above saturates.
            values.push(half::f16::store(noise(&mut s) * 10f64.powi(k % 12 - 6)));
        }
        for &a in &values {
            assert_ne!(a.to_bits(), 0x8000, "no negative zero is stored");
            for &b in values.iter().step_by(7) {
                assert_eq!(a.at_most(b), a.get() <= b.get(), "{a} <= {b}");
                assert_eq!(a.below(b), a.get() < b.get(), "{a} < {b}");
            }
        }
    }

    #[test]
    fn a_half_precision_window_matches_a_fresh_sort_of_what_it_stores() {
        // Ties, negatives and zero.
        assert_window_matches_a_fresh_sort::<half::f16>(3, |u| (u * 50.0).floor() / 7.0 - 3.0);
    }

    #[test]
    fn duplicates_are_evicted_one_at_a_time() {
        let mut q = RollingQuantiles::<f64>::new(3);
        for x in [1.0, 1.0, 1.0, 2.0, 2.0] {
            q.push(x);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.quantile(0.0), Some(1.0));
        assert_eq!(q.quantile(1.0), Some(2.0));
    }

    #[test]
    fn a_single_precision_window_ranks_what_it_stores() {
        let mut q = RollingQuantiles::<f32>::new(4);
        for x in [0.1, 1e300, 3.0, 2.0] {
            q.push(x);
        }
        // 0.1 is kept as the nearest f32, 1e300 as the largest finite f32.
        assert_eq!(q.quantile(0.0), Some(f64::from(0.1f32)));
        assert_eq!(q.quantile(1.0), Some(f64::from(f32::MAX)));
        assert_eq!(q.rank(f64::from(0.1f32)), Some(0.125));
        q.push(f64::NAN);
        assert_eq!(q.len(), 4);
        q.push(2.5); // evicts the f32 0.1 by its stored value
        assert_eq!(q.quantile(0.0), Some(2.0));
    }
}
