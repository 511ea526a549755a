//! The nearest-pattern query of a [`PatternIndex`]: a block of neighbours in key order, each of
//! its sides read outward until the key bound reaches the best distance, the patterns not yet in
//! the snapshot, then a walk outward in bound order while budget is left (the method is described
//! in the parent module).

use super::view::RingView;
use super::{Live, PatternIndex, BLOCK, MAX_WIDTH};

impl PatternIndex {
    /// `best` lowered to the nearest of the snapshot entries `side` visits (outward from the
    /// query's key), stopping where their lower bound reaches it or at an exact repeat.
    #[inline(always)]
    fn scan(
        &self,
        side: impl Iterator<Item = usize>,
        sums: impl Sums,
        qk: f64,
        g: f64,
        live: Live,
        mut best: f64,
    ) -> f64 {
        for i in side {
            let Some((lb, d2)) = self.probe(i, sums, qk, g, live) else {
                continue;
            };
            best = lower(best, d2);
            if lb >= best || best == 0.0 {
                break;
            }
        }
        best
    }

    /// For snapshot entry `i`, if still remembered: the lower bound of its distance from the
    /// query (whose key is `qk`, `g` values), and the distance itself, from one read of its
    /// values (`sums`: the key and the squared distance of the pattern ending at a position).
    #[inline(always)]
    fn probe(&self, i: usize, sums: impl Sums, qk: f64, g: f64, live: Live) -> Option<(f64, f64)> {
        let e = *self.ends.get(i)?;
        if !live.has(e) {
            return None;
        }
        // Its low 16 bits find its slot: the ring is at most 2¹⁶ long.
        let (key, d2) = sums.key_and_sum_sq(u64::from(e));
        let k = key - qk;
        Some((k * k / g, d2))
    }

    /// Squared Euclidean distance from `query` (at least `width` values, newest first) to the
    /// nearest remembered pattern found within the budget; `None` when nothing is remembered.
    pub fn nearest2(&self, query: &[f64]) -> Option<f64> {
        let query = query.get(..self.shape.width)?;
        if self.is_empty() || !query.iter().all(|v| v.is_finite()) {
            return None;
        }
        let view = RingView::new(&self.series, self.shape.stride)?;
        // The query as it would be stored, so that a pattern seen before is at distance 0
        // exactly (series that repeat themselves exactly, as idle ones do, rely on it).
        let mut relative = [0.0; MAX_WIDTH];
        for (r, v) in relative.iter_mut().zip(query) {
            *r = f64::from(crate::brain::stats::narrow(v - self.origin()));
        }
        let q = &relative[..self.shape.width];
        // The width is settled once here, not per candidate: the detector's (5 segments) gets
        // a search of its own whose distance loop is unrolled.
        match q {
            [a, b, c, d, e] => self.search(q, Against(view, [*a, *b, *c, *d, *e])),
            _ => self.search(q, Against(view, q)),
        }
    }

    /// The search of [`Self::nearest2`] for the stored query `q`, `sums` giving the key and the
    /// squared distance from `q` of the pattern ending at a position.
    #[inline(always)]
    fn search(&self, q: &[f64], sums: impl Sums) -> Option<f64> {
        let width = self.shape.width;
        let live = self.live();
        let n = self.ends.len();
        let qk: f64 = q.iter().sum();
        let g = width as f64;
        let mut best = f64::INFINITY;
        let (mut left, mut right) = (0, 0);
        if n > 0 {
            // 1. A block of neighbours in key order, centred on the query's key, nearest keys
            //    first: they are the likeliest to be near, and the sooner `best` is small, the
            //    sooner the other distances stop (the minimum does not depend on the order).
            let start = self.ends.partition_point(|&e| sums.key(u64::from(e)) < qk);
            let block = BLOCK.min(self.budget).min(n);
            left = start.saturating_sub(block / 2).min(n - block);
            right = left + block;
            //    Each side stops once its lower bound reaches the best distance found: keys only
            //    move further from the query's outward, so nothing further out can be nearer
            //    (the answer is the one the whole block gives; metrics that move smoothly skip
            //    a third of it).
            best = self.scan(start..right, sums, qk, g, live, best);
            best = self.scan((left..start).rev(), sums, qk, g, live, best);
            // An exact repeat: nothing can be nearer (an idle series, a constant count).
            if best == 0.0 {
                return Some(0.0);
            }
        }
        // The patterns not yet in the snapshot (before the walk: its stopping rule reads `best`).
        for &e in &self.pending {
            if live.has(e) {
                best = lower(best, sums.key_and_sum_sq(u64::from(e)).1);
            }
        }
        // 2. Outward in bound order while the bound can still beat the best and budget is left.
        let bound = |i: usize| {
            let d = sums.key(u64::from(self.ends[i])) - qk;
            d * d / g
        };
        let mut spent = right - left;
        while spent < self.budget {
            let lb_left = left.checked_sub(1).map(bound);
            let lb_right = (right < n).then(|| bound(right));
            let (i, lb) = match (lb_left, lb_right) {
                (Some(a), Some(b)) if a <= b => (left - 1, a),
                (Some(a), None) => (left - 1, a),
                (_, Some(b)) => (right, b),
                (None, None) => break,
            };
            // Every entry further out on either side has a bound at least this large.
            if lb >= best {
                break;
            }
            if i < left {
                left = i;
            } else {
                right = i + 1;
            }
            if let Some((_, d2)) = self.probe(i, sums, qk, g, live) {
                best = lower(best, d2);
            }
            spent += 1;
        }
        best.is_finite().then_some(best)
    }
}

/// The key and the squared distance from the query of the pattern ending at a position (a
/// trait rather than a closure: the search's inner loop must be inlined, and a closure passed
/// by reference was not).
trait Sums: Copy {
    fn key_and_sum_sq(self, end: u64) -> (f64, f64);
    /// The key alone.
    fn key(self, end: u64) -> f64;
}

/// A query against a ring: an array (its length known, the loop unrolled) or a slice.
#[derive(Clone, Copy)]
struct Against<'a, Q>(RingView<'a>, Q);

impl<const W: usize> Sums for Against<'_, [f64; W]> {
    #[inline(always)]
    fn key_and_sum_sq(self, end: u64) -> (f64, f64) {
        self.0.key_and_sum_sq(end, &self.1)
    }

    #[inline(always)]
    fn key(self, end: u64) -> f64 {
        self.0.key(end, W)
    }
}

impl Sums for Against<'_, &[f64]> {
    #[inline(always)]
    fn key_and_sum_sq(self, end: u64) -> (f64, f64) {
        self.0.key_and_sum_sq(end, self.1)
    }

    #[inline(always)]
    fn key(self, end: u64) -> f64 {
        self.0.key(end, self.1.len())
    }
}

/// `min(best, d)` for a distance that cannot be NaN (finite query, remembered patterns hold
/// finite values): one instruction, where `f64::min`'s NaN handling adds a dependent two.
#[inline]
fn lower(best: f64, d: f64) -> f64 {
    if d < best {
        d
    } else {
        best
    }
}
