//! Nearest remembered pattern over a sliding memory, lower-bounded and budgeted, so the anomaly
//! detector can remember hundreds of patterns without searching them all each sample (the brain's
//! whole cost per sample is measured by `cargo bench --bench brain`).
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
//! Layout: the patterns are those of one series (`width` values `stride` apart, newest first,
//! as the anomaly detector's segment means make them), so the index keeps the series once, as a
//! ring of single-precision values (relative to the series' first value, queries rounded alike),
//! and each pattern as its end position: a pattern costs 2 bytes, not `width` copies of values
//! that other patterns also hold (its key is recomputed from the ring when needed, by the same
//! sum, so to the same value). The ring's length is a power of two no longer than 2¹⁶, so the low
//! 16 bits of a position are enough to find its slot (a mask, no division and no branch: the
//! search's inner loop is a few loads and multiplies). A snapshot of ends sorted by key is
//! rebuilt in place by merging every few insertions (O(memory) each time, so O(memory / batch) per sample); patterns
//! remembered since then wait in a small pending list and are searched exhaustively, and
//! snapshot entries that have since been forgotten are skipped by their end. The search starts
//! with a block of neighbours in key order (each side of it read outward until the bound reaches
//! the best distance, the bound and the distance from one read of a pattern), then walks outward
//! in bound order; an exact repeat (distance 0) ends it at once.

mod search;
mod view;

/// Patterns inserted between two merges of the sorted snapshot.
const BATCH: usize = 64;
/// Most snapshot entries around the query's key whose distances are computed in one pass before
/// the bound-ordered walk.
const BLOCK: usize = 256;
/// Most snapshot entries examined per query. 64 is the smallest budget at which the deployed
/// detector keeps its NAB score (dev set: 63.1 standard against 63.2 at 128, 60.2 at 32); it
/// costs a fifth fewer instructions per sample on white noise than 128 (`docs/brain-figures.md`).
pub const DEFAULT_BUDGET: usize = 64;
/// Most patterns an index remembers: with at most [`GUARD`] positions between two clean-ups,
/// every entry's age stays below 2¹⁶, so 16 bits of its end identify it (see [`Live`]).
pub const MAX_CAPACITY: usize = 1 << 15;
/// Positions the remembered window may move between two merges before the entries it has
/// passed are dropped at once (only when patterns are skipped or remembered with gaps: a
/// detector remembering every position merges every [`BATCH`]).
const GUARD: u64 = 1 << 14;

/// Which patterns an index holds: `width` values of its series `stride` positions apart (newest
/// first), remembered at most `lag` positions after their end was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub width: usize,
    pub stride: usize,
    pub lag: usize,
}

/// Sliding memory of the patterns of one series, with a fast nearest-neighbour query.
#[derive(Clone, Debug)]
pub struct PatternIndex {
    shape: Shape,
    capacity: usize,
    budget: usize,
    /// The series' recent values, a ring of `ring` slots (position `p` at `p & mask`), long
    /// enough for every value of every pattern in the snapshot or pending; allocated in full at
    /// the first value (slots not written yet read 0). Single precision: half the memory and
    /// cache traffic, and 7 significant digits are far finer than any distance between two
    /// metric patterns that matters.
    series: Vec<f32>,
    /// The first finite value recorded: the ring holds each value minus it (so a series far
    /// from zero keeps its single-precision digits for how it moves, and shifting a whole
    /// series shifts nothing stored: distances stay shift-invariant). Queries are shifted alike.
    origin: Option<f64>,
    ring: usize,
    /// `ring − 1` (the ring's length is a power of two).
    mask: usize,
    /// Values recorded so far (the next position).
    recorded: u64,
    /// Ends (low 16 bits, as in the snapshot) of the patterns remembered since the snapshot
    /// was built, oldest first.
    pending: Vec<u16>,
    /// Patterns remembered so far.
    count: u64,
    /// One past the newest remembered end: patterns ending in the `capacity` positions before it
    /// are live.
    next_end: u64,
    /// `next_end` when entries were last dropped (a merge, or the guard in `remember`).
    cleaned_at: u64,
    /// The snapshot: ends (low 16 bits, see [`Live`]) sorted by their pattern's key. Keys are
    /// recomputed from the ring when needed (the same sum, so the same value), not stored.
    ends: Vec<u16>,
}

/// Which snapshot entries are still remembered, from the low 16 bits of their ends: an entry's
/// age (`next_end − end`) is below 2¹⁶ because every clean-up leaves only entries at most
/// `max(capacity, GUARD)` old and the window moves at most [`GUARD`] between two clean-ups
/// (2¹⁵ + 2¹⁴ < 2¹⁶).
#[derive(Clone, Copy, Debug)]
struct Live {
    now: u16,
    capacity: u16,
}

impl Live {
    fn has(self, end: u16) -> bool {
        self.now.wrapping_sub(end) <= self.capacity
    }
}

impl PatternIndex {
    /// Patterns of `shape`, those ending in the last `capacity` remembered positions kept (at
    /// most [`MAX_CAPACITY`]), at most `budget` of them examined per query (besides the few most
    /// recent).
    pub fn new(shape: Shape, capacity: usize, budget: usize) -> Self {
        // Bounded so that the ring below never needs more than 2¹⁶ slots.
        let shape = Shape {
            width: shape.width.clamp(1, MAX_WIDTH),
            stride: shape.stride.clamp(1, MAX_STRIDE),
            lag: shape.lag.min(MAX_LAG),
        };
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        // Positions a snapshot entry (live, or forgotten since the last merge) or a pending one
        // can reach back to, from the newest recorded one: their keys must stay computable.
        let reach = capacity + BATCH + (shape.width - 1) * shape.stride + shape.lag + 2;
        let ring = reach.next_power_of_two();
        Self {
            shape,
            capacity,
            budget: budget.max(1),
            series: Vec::new(),
            origin: None,
            ring,
            mask: ring - 1,
            recorded: 0,
            pending: Vec::new(),
            count: 0,
            next_end: 0,
            cleaned_at: 0,
            ends: Vec::new(),
        }
    }

    /// Patterns remembered.
    pub fn len(&self) -> usize {
        (self.count.min(self.capacity as u64)) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Heap bytes held (capacities, what the allocator charges).
    pub fn heap_bytes(&self) -> usize {
        self.series.capacity() * 4 + self.pending.capacity() * 2 + self.ends.capacity() * 2
    }

    /// Live entries: ending in the last `capacity` positions remembered, with all their values
    /// still in the ring (they are unless `remember` has not been called for a long while).
    fn live(&self) -> Live {
        let span = ((self.shape.width - 1) * self.shape.stride) as u64;
        let first_kept = self.recorded.saturating_sub(self.ring as u64) + span;
        Live {
            now: self.next_end as u16,
            capacity: (self.capacity as u64).min(self.next_end.saturating_sub(first_kept)) as u16,
        }
    }

    /// Appends the series' next value (at position [`Self::recorded`]), rounded to single
    /// precision (beyond its range: its largest finite value; NaN stays NaN, and the patterns
    /// that hold it are not remembered).
    pub fn record(&mut self, x: f64) {
        if self.series.is_empty() {
            self.series = vec![0.0; self.ring];
        }
        if self.origin.is_none() && x.is_finite() {
            self.origin = Some(x);
        }
        let relative = x - self.origin();
        let slot = self.slot(self.recorded);
        if let Some(v) = self.series.get_mut(slot) {
            *v = super::stats::narrow(relative);
        }
        self.recorded += 1;
    }

    /// Values recorded so far.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// The value recorded `back` positions before the next one (1: the newest), while the ring
    /// still holds it.
    pub fn recent(&self, back: usize) -> Option<f64> {
        (back >= 1 && back as u64 <= self.recorded.min(self.ring as u64))
            .then(|| self.at(self.recorded - back as u64) + self.origin())
    }

    /// What every stored value is relative to (0 before the first finite value).
    fn origin(&self) -> f64 {
        self.origin.unwrap_or(0.0)
    }

    /// The stored (relative) value at position `p`, one of the last `ring` recorded (any other
    /// reads some value of the ring: callers only use it for entries they then treat as
    /// forgotten).
    fn at(&self, p: u64) -> f64 {
        self.value(self.slot(p))
    }

    /// The slot of position `p` (of any position with the same low 16 bits).
    fn slot(&self, p: u64) -> usize {
        p as usize & self.mask
    }

    /// The value in `slot` (0 for a slot not yet written).
    fn value(&self, slot: usize) -> f64 {
        self.series.get(slot).copied().map_or(0.0, f64::from)
    }

    /// The pattern ending at position `end` as stored (relative to the origin), newest first.
    fn pattern(&self, end: u64) -> [f64; MAX_WIDTH] {
        let mut p = [0.0; MAX_WIDTH];
        let mut slot = self.slot(end);
        for v in p.iter_mut().take(self.shape.width) {
            *v = self.value(slot);
            slot = slot.wrapping_sub(self.shape.stride) & self.mask;
        }
        p
    }

    /// Remembers the pattern ending at position `end`, forgetting those ending `capacity`
    /// positions before it. Ignored unless `end` is after the last one remembered and its values
    /// are all recorded and still in the ring (at most `lag` positions before the newest). A
    /// pattern with a non-finite value moves the window on but is not stored.
    pub fn remember(&mut self, end: u64) {
        let span = ((self.shape.width - 1) * self.shape.stride) as u64;
        let fits = end >= span
            && end < self.recorded
            && self.recorded - 1 - end <= self.shape.lag as u64
            && end >= self.next_end;
        if !fits {
            return;
        }
        if end + 1 - self.cleaned_at > GUARD {
            self.forget_before(end + 1);
        }
        if !self.pattern(end)[..self.shape.width]
            .iter()
            .all(|v| v.is_finite())
        {
            self.next_end = end + 1;
            return;
        }
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(BATCH.min(self.capacity));
        }
        self.pending.push(end as u16);
        self.count += 1;
        self.next_end = end + 1;
        if self.pending.len() >= BATCH.min(self.capacity) {
            self.merge();
        }
    }

    /// The key of the pattern ending at `end`: the sum of its values, newest first (0 before
    /// anything is recorded).
    fn key(&self, end: u64) -> f64 {
        view::RingView::new(&self.series, self.shape.stride)
            .map_or(0.0, |v| v.key(end, self.shape.width))
    }

    /// The key of snapshot entry `i`.
    #[cfg(test)]
    fn key_at(&self, i: usize) -> f64 {
        self.key(self.end_of(self.ends[i]))
    }

    /// Folds the pending patterns into the sorted snapshot, in place, dropping forgotten
    /// entries. Among equal keys older entries stay first.
    fn merge(&mut self) {
        let mut fresh: Vec<(f64, u16)> = self
            .pending
            .iter()
            .map(|&e| (self.key(u64::from(e)), e))
            .collect();
        fresh.sort_by(|a, b| a.0.total_cmp(&b.0));
        // 1. Forget, keeping the order.
        let live = self.live();
        self.ends.retain(|&e| live.has(e));
        // 2. Merge from the back into the grown vector, grown exactly (doubling would leave up
        //    to half the memory spare for good). Each fresh entry goes after every old one whose
        //    key is not greater (older entries first among equal keys), found by a binary search
        //    rather than by recomputing every old key: the keys are sums over the ring.
        let width = self.shape.width;
        let view = view::RingView::new(&self.series, self.shape.stride);
        // An entry's low 16 bits find its slot (the ring is at most 2¹⁶ long).
        let key = |e: u16| view.map_or(0.0, |v| v.key(u64::from(e), width));
        let ends = &mut self.ends;
        let n = ends.len();
        let total = n + fresh.len();
        ends.reserve_exact(fresh.len());
        ends.resize(total, 0);
        let (mut i, mut out) = (n, total);
        for &(k, end) in fresh.iter().rev() {
            let at = ends[..i].partition_point(|&e| key(e).total_cmp(&k).is_le());
            let moved = i - at;
            ends.copy_within(at..i, out - moved);
            out -= moved + 1;
            i = at;
            ends[out] = end;
        }
        self.pending.clear();
        self.cleaned_at = self.next_end;
    }

    /// Drops every entry that will be forgotten once `next_end` becomes `next` (all of them when
    /// the window jumps past them), before their ages could outgrow 16 bits.
    fn forget_before(&mut self, next: u64) {
        let capacity = self.capacity as u64;
        let ends = std::mem::take(&mut self.ends);
        self.ends = ends
            .into_iter()
            .filter(|&e| next - self.end_of(e) <= capacity)
            .collect();
        let next_end = self.next_end;
        self.pending
            .retain(|&e| next - end_of(next_end, e) <= capacity);
        self.cleaned_at = next;
    }

    /// The full position of a snapshot or pending entry's end, from its low 16 bits.
    fn end_of(&self, low: u16) -> u64 {
        end_of(self.next_end, low)
    }
}

/// The full position of an entry's end from its low 16 bits, `next_end` being one past the
/// newest remembered (entries are less than 2¹⁶ positions old: see [`Live`]).
fn end_of(next_end: u64, low: u16) -> u64 {
    next_end - u64::from((next_end as u16).wrapping_sub(low))
}

/// Most values per pattern.
pub const MAX_WIDTH: usize = 16;
/// Largest stride between a pattern's values, and longest lag before a pattern is remembered:
/// with [`MAX_CAPACITY`] and [`MAX_WIDTH`] they keep the ring within 2¹⁶ slots. Callers that
/// need more must shorten their patterns (the anomaly detector clamps its own settings to these).
pub const MAX_STRIDE: usize = 1 << 10;
pub const MAX_LAG: usize = 1 << 13;

#[cfg(test)]
mod tests;
