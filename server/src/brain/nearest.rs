//! Nearest remembered pattern over a sliding memory, lower-bounded and budgeted, so the anomaly
//! detector can remember 1,500 patterns and still cost well under a microsecond per sample.
//!
//! Each pattern (a few segment means) is keyed by the sum of its coordinates. For any two
//! patterns of `g` coordinates, `(Σp − Σq)² / g ≤ ‖p − q‖²` (Cauchy–Schwarz), so a search that
//! walks outward from the query's key in key order can stop on each side as soon as that lower
//! bound reaches the best distance found so far — the classic 1-D projection bound of
//! nearest-neighbour search. On smooth series (most real metrics) the walk stops after a few
//! steps and the answer is exact. On white noise the bound prunes little, so the walk also stops
//! after `budget` full distances: the answer is then the nearest among the patterns whose level
//! is closest to the query's, never closer than the true nearest. Cost per query is bounded by
//! `budget` distances plus a binary search, whatever the memory.
//!
//! Layout: a snapshot sorted by key, with each entry's coordinates stored beside its key (a
//! block of neighbours is one contiguous read), is rebuilt in place by merging every few
//! insertions (O(memory) each time, so O(memory / batch) per sample); the patterns inserted
//! since then wait in a small pending list and are searched exhaustively, and snapshot entries
//! that have since been forgotten are skipped by their insertion number. The search starts with
//! a block of neighbours in key order computed in one branch-free pass, then walks outward in
//! bound order. Each pattern is stored once (the snapshot is the memory), with the low 32 bits of
//! its insertion number: per remembered pattern, `width` f64s, its key and 4 bytes.

/// Patterns inserted between two merges of the sorted snapshot.
const BATCH: usize = 64;
/// Most snapshot entries around the query's key whose distances are computed in one branch-free
/// pass before the bound-ordered walk (a contiguous pass costs a fraction of a walk step each).
const BLOCK: usize = 256;
/// Most snapshot entries examined per query.
pub const DEFAULT_BUDGET: usize = 128;

/// Sliding memory of fixed-width patterns with a fast nearest-neighbour query.
#[derive(Clone, Debug)]
pub struct PatternIndex {
    width: usize,
    capacity: usize,
    budget: usize,
    /// Patterns inserted since the snapshot was built, oldest first (fewer than `BATCH`).
    pending: Vec<f64>,
    /// Patterns inserted so far.
    inserted: u64,
    /// The snapshot, sorted by key: keys, insertion numbers (low 32 bits, see [`Live`]) and
    /// coordinates side by side, so a block of neighbours is one contiguous read. An entry is
    /// live while its insertion number is among the last `capacity`.
    keys: Vec<f64>,
    born: Vec<u32>,
    points: Vec<f64>,
}

/// Which snapshot entries are still remembered, from the low 32 bits of insertion numbers: an
/// entry's age (`inserted − born`) is below 2³² because entries are dropped at every merge and
/// the capacity is below 2³¹.
#[derive(Clone, Copy, Debug)]
struct Live {
    now: u32,
    capacity: u32,
}

impl Live {
    fn has(self, born: u32) -> bool {
        self.now.wrapping_sub(born) <= self.capacity
    }
}

impl PatternIndex {
    /// `width` coordinates per pattern, the last `capacity` patterns remembered (at most 2³¹),
    /// at most `budget` remembered patterns examined per query (besides the few most recent).
    pub fn new(width: usize, capacity: usize, budget: usize) -> Self {
        let (width, capacity) = (width.max(1), capacity.clamp(1, 1 << 31));
        Self {
            width,
            capacity,
            budget: budget.max(1),
            pending: Vec::new(),
            inserted: 0,
            keys: Vec::new(),
            born: Vec::new(),
            points: Vec::new(),
        }
    }

    /// Patterns remembered.
    pub fn len(&self) -> usize {
        (self.inserted.min(self.capacity as u64)) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.inserted == 0
    }

    fn live(&self) -> Live {
        Live {
            now: self.inserted as u32,
            capacity: self.capacity as u32,
        }
    }

    /// Heap bytes held (capacities, what the allocator charges).
    pub fn heap_bytes(&self) -> usize {
        (self.pending.capacity() + self.keys.capacity() + self.points.capacity()) * 8
            + self.born.capacity() * 4
    }

    /// Remembers `pattern` (its first `width` values), forgetting the oldest when full.
    /// Patterns with a non-finite coordinate are ignored.
    pub fn push(&mut self, pattern: &[f64]) {
        let Some(p) = pattern.get(..self.width) else {
            return;
        };
        if !p.iter().all(|v| v.is_finite()) {
            return;
        }
        if self.pending.capacity() == 0 {
            self.pending
                .reserve_exact(BATCH.min(self.capacity) * self.width);
        }
        self.pending.extend_from_slice(p);
        self.inserted += 1;
        if self.pending.len() / self.width >= BATCH.min(self.capacity) {
            self.merge();
        }
    }

    /// Folds the pending patterns into the sorted snapshot, in place, dropping forgotten
    /// entries. Among equal keys older entries stay first.
    fn merge(&mut self) {
        let w = self.width;
        let recent = self.pending.len() / w;
        let first = self.inserted - recent as u64;
        let mut fresh: Vec<(f64, usize)> = (0..recent)
            .map(|k| (self.pending[k * w..(k + 1) * w].iter().sum::<f64>(), k))
            .collect();
        fresh.sort_by(|a, b| a.0.total_cmp(&b.0));
        // 1. Forget, keeping the order.
        let live = self.live();
        let mut n = 0;
        for i in 0..self.keys.len() {
            if live.has(self.born[i]) {
                self.keys[n] = self.keys[i];
                self.born[n] = self.born[i];
                self.points.copy_within(i * w..(i + 1) * w, n * w);
                n += 1;
            }
        }
        // 2. Merge from the back into the grown vectors.
        let total = n + recent;
        // Exactly: doubling would leave up to half the memory spare for good.
        self.keys.truncate(n);
        self.born.truncate(n);
        self.points.truncate(n * w);
        self.keys.reserve_exact(recent);
        self.born.reserve_exact(recent);
        self.points.reserve_exact(recent * w);
        self.keys.resize(total, 0.0);
        self.born.resize(total, 0);
        self.points.resize(total * w, 0.0);
        let (mut i, mut j) = (n, recent);
        for out in (0..total).rev() {
            let old_last = i > 0 && (j == 0 || self.keys[i - 1].total_cmp(&fresh[j - 1].0).is_gt());
            if old_last {
                i -= 1;
                self.keys[out] = self.keys[i];
                self.born[out] = self.born[i];
                self.points.copy_within(i * w..(i + 1) * w, out * w);
            } else {
                j -= 1;
                let (k, slot) = fresh[j];
                self.keys[out] = k;
                self.born[out] = (first + slot as u64) as u32;
                self.points[out * w..(out + 1) * w]
                    .copy_from_slice(&self.pending[slot * w..(slot + 1) * w]);
            }
        }
        self.pending.clear();
    }

    /// Squared distance from `q` to the snapshot entry `i` (`∞` when forgotten).
    fn entry_dist2(&self, i: usize, q: &[f64], live: Live) -> f64 {
        let d = dist2(&self.points[i * self.width..(i + 1) * self.width], q);
        if live.has(self.born[i]) {
            d
        } else {
            f64::INFINITY
        }
    }

    /// Squared Euclidean distance from `query` (at least `width` values) to the nearest
    /// remembered pattern found within the budget; `None` when nothing is remembered.
    pub fn nearest2(&self, query: &[f64]) -> Option<f64> {
        let q = query.get(..self.width)?;
        if self.is_empty() || !q.iter().all(|v| v.is_finite()) {
            return None;
        }
        let w = self.width;
        // The patterns not yet in the snapshot.
        let mut best = block_min(w, &self.pending, None, q);
        let n = self.keys.len();
        if n == 0 {
            return best.is_finite().then_some(best);
        }
        let qk: f64 = q.iter().sum();
        let g = w as f64;
        let live = self.live();
        // 1. A block of neighbours in key order, centred on the query's key, in one pass.
        let start = self.keys.partition_point(|&k| k < qk);
        let block = BLOCK.min(self.budget).min(n);
        let lo = start.saturating_sub(block / 2).min(n - block);
        let hi = lo + block;
        best = best.min(block_min(
            w,
            &self.points[lo * w..hi * w],
            Some((&self.born[lo..hi], live)),
            q,
        ));
        // 2. Outward in bound order while the bound can still beat the best and budget is left.
        let bound = |i: usize| (self.keys[i] - qk) * (self.keys[i] - qk) / g;
        let (mut left, mut right) = (lo, hi);
        let mut spent = block;
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
            best = best.min(self.entry_dist2(i, q, live));
            spent += 1;
        }
        best.is_finite().then_some(best)
    }
}

/// Squared Euclidean distance (branch-free; the patterns are a handful of values).
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Smallest squared distance from `q` to the `w`-wide points of `pts` (skipping those no longer
/// live, when their insertion numbers are given), dispatched to a fixed width so that the loops
/// unroll.
fn block_min(w: usize, pts: &[f64], born: Option<(&[u32], Live)>, q: &[f64]) -> f64 {
    match w {
        4 => block_min_fixed::<4>(pts, born, q),
        5 => block_min_fixed::<5>(pts, born, q),
        6 => block_min_fixed::<6>(pts, born, q),
        _ => pts
            .chunks_exact(w)
            .enumerate()
            .map(|(i, p)| match born {
                Some((b, live)) if !live.has(b[i]) => f64::INFINITY,
                _ => dist2(p, q),
            })
            .fold(f64::INFINITY, f64::min),
    }
}

/// [`block_min`] for width `W`: four points at a time with independent sums and minima, so the
/// additions of different points overlap instead of waiting on one another.
fn block_min_fixed<const W: usize>(pts: &[f64], born: Option<(&[u32], Live)>, q: &[f64]) -> f64 {
    let Ok(q) = <[f64; W]>::try_from(q) else {
        return f64::INFINITY;
    };
    let mut m = [f64::INFINITY; 4];
    let mut quads = pts.chunks_exact(4 * W);
    for (n, c) in quads.by_ref().enumerate() {
        for (k, mk) in m.iter_mut().enumerate() {
            let mut s = 0.0;
            for j in 0..W {
                let d = c[k * W + j] - q[j];
                s += d * d;
            }
            let live = born.is_none_or(|(b, live)| live.has(b[4 * n + k]));
            *mk = mk.min(if live { s } else { f64::INFINITY });
        }
    }
    let done = (pts.len() / (4 * W)) * 4;
    for (i, p) in quads.remainder().chunks_exact(W).enumerate() {
        let live = born.is_none_or(|(b, live)| live.has(b[done + i]));
        if live {
            m[0] = m[0].min(dist2(p, &q));
        }
    }
    m[0].min(m[1]).min(m[2].min(m[3]))
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

    fn brute(all: &[Vec<f64>], cap: usize, q: &[f64]) -> Option<f64> {
        all.iter()
            .rev()
            .take(cap)
            .map(|p| p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
            .reduce(f64::min)
    }

    #[test]
    fn with_an_unlimited_budget_it_is_exact() {
        let mut s = 3;
        for (width, cap) in [(5, 100), (4, 1500), (1, 7), (6, 49)] {
            let mut idx = PatternIndex::new(width, cap, usize::MAX);
            let mut all = Vec::new();
            let mut level = 0.0;
            for i in 0..3000 {
                level += noise(&mut s);
                let p: Vec<f64> = (0..width).map(|_| level + 0.3 * noise(&mut s)).collect();
                if i % 3 == 0 {
                    let got = idx.nearest2(&p);
                    let want = brute(&all, cap, &p);
                    match (got, want) {
                        (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-9 * (1.0 + b), "{a} {b}"),
                        (a, b) => assert_eq!(a, b),
                    }
                }
                idx.push(&p);
                all.push(p);
                assert_eq!(idx.len(), all.len().min(cap));
            }
        }
    }

    #[test]
    fn a_budget_never_finds_closer_than_the_truth() {
        let mut s = 11;
        let mut idx = PatternIndex::new(5, 1500, 16);
        let mut all = Vec::new();
        for _ in 0..5000 {
            let p: Vec<f64> = (0..5).map(|_| noise(&mut s)).collect();
            if let (Some(a), Some(b)) = (idx.nearest2(&p), brute(&all, 1500, &p)) {
                assert!(a >= b - 1e-12, "{a} < {b}");
            }
            idx.push(&p);
            all.push(p);
        }
    }

    #[test]
    fn liveness_survives_the_32_bit_wrap() {
        let live = Live {
            now: 5,
            capacity: 10,
        };
        assert!(live.has(5u32.wrapping_sub(10)));
        assert!(!live.has(5u32.wrapping_sub(11)));
        assert!(live.has(4) && live.has(u32::MAX - 3));
    }

    #[test]
    fn each_pattern_is_stored_once() {
        let (w, cap) = (5, 1500);
        let mut idx = PatternIndex::new(w, cap, DEFAULT_BUDGET);
        let mut s = 7;
        for _ in 0..10 * cap {
            let p: Vec<f64> = (0..w).map(|_| noise(&mut s)).collect();
            idx.push(&p);
        }
        // The snapshot holds at most `capacity + BATCH` entries (forgotten ones wait for the next
        // merge), each `width` coordinates, a key and a 4-byte insertion number.
        let most = (cap + BATCH) * ((w + 1) * 8 + 4) + BATCH * w * 8;
        assert!(idx.heap_bytes() <= most, "{} > {most}", idx.heap_bytes());
    }

    #[test]
    fn non_finite_patterns_are_ignored() {
        let mut idx = PatternIndex::new(2, 10, 8);
        assert_eq!(idx.nearest2(&[0.0, 0.0]), None);
        idx.push(&[f64::NAN, 1.0]);
        idx.push(&[1.0]);
        assert!(idx.is_empty());
        idx.push(&[1.0, 1.0]);
        assert_eq!(idx.nearest2(&[1.0, 2.0]), Some(1.0));
        assert_eq!(idx.nearest2(&[f64::INFINITY, 2.0]), None);
    }
}
