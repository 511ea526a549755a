//! A container's recent history, compressed: the one place the live store keeps past points,
//! and the one interface every reader goes through ([`History::iter`], [`History::recent`],
//! [`History::since`], [`History::last`]), each yielding decoded [`HistoryPoint`]s.
//!
//! Layout: a ring of chunks of up to [`CHUNK`] points. Each chunk is a bit stream coded with a
//! fresh state, so it decodes on its own: every field is a lane of integers, each point writes
//! the delta against the lane's previous value in an adaptive Rice code ([`lane`]: `0` when
//! unchanged in a calm lane, so a memory limit, a risk level or a steady timestamp rate costs
//! one bit a point; a noisy field close to its entropy; a memory figure moving by whole pages
//! without the pages' 12 zero bits). Fields that move with another one — a z-score with its
//! metric, a naive forecast with its value — are coded as what that move does not explain
//! ([`linked`]). The
//! newest chunk grows in place; full chunks are sealed without spare capacity. The oldest points
//! leave by a skip count on the oldest chunk, which is re-encoded without them every [`TRIM`]
//! points and freed once all its points have left, so the store holds at most
//! `capacity + TRIM - 1` points.
//!
//! Precision (what reads back, see [`point`] for the steps):
//! - exact: timestamps, memory in use, memory limit, PIDs, the risk level, and any value that is
//!   not finite or too large to quantise (kept as raw f64 bits);
//! - rounded to the nearest step: CPU % (0.01 points), time to the limit (0.1 s), network and
//!   block rates on a scale linear near idle and logarithmic above 1 KiB/s (a step of 0.7 B/s,
//!   then 0.07 % of the rate: a busy link's noisy rates cost 28 % fewer bits than whole bytes
//!   per second did; the report's tenths of a KiB/s can differ by one in their last digit); and
//!   what the brain derived, to the precision the report and the
//!   dashboard show it: the CPU forecast and its bands (0.1 points), z-scores (0.1), the failure
//!   probability (0.1 points), the memory forecast (64 KiB, shown in tenths of a MiB). The error
//!   is at most half a step. A noisy field costs about log2(noise / step) bits a point, so each
//!   finer digit would cost 3.3 bits a field a point for nothing any reader shows.
//!
//! What it costs depends on how much the series move: a steady container a few bytes a point,
//! white noise in every field some tens (the `memory_load` example measures it).

pub mod bits;
pub mod lane;
pub mod linked;
pub mod point;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use bits::{BitReader, BitWriter};
pub use point::HistoryPoint;
use point::PointCoder;

/// Points per chunk: large enough that the full first point of each chunk costs little per
/// point, small enough that reading the last few points decodes little.
pub const CHUNK: usize = 256;
/// Points that may have left the oldest chunk before it is re-encoded without them: the store
/// holds at most `capacity + TRIM - 1` points (not a whole chunk more: 3 KiB a container).
const TRIM: usize = CHUNK / 4;

/// A sealed chunk: its points' bit stream and their timestamp range.
#[derive(Debug, Clone)]
struct Chunk {
    words: Box<[u64]>,
    len: usize,
    /// Largest timestamp in the chunk (`since` skips whole chunks by it).
    max_ts: i64,
}

/// The newest chunk, still growing.
#[derive(Debug, Clone, Default)]
struct OpenChunk {
    w: BitWriter,
    coder: PointCoder,
    len: usize,
    max_ts: i64,
}

/// Bounded, compressed ring of history points (oldest first).
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    sealed: VecDeque<Chunk>,
    open: OpenChunk,
    /// Points of the oldest chunk that have left the ring.
    skip: usize,
    len: usize,
    /// The newest point as it reads back.
    last: Option<HistoryPoint>,
}

impl History {
    /// `capacity`: points kept (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            sealed: VecDeque::new(),
            open: OpenChunk::default(),
            skip: 0,
            len: 0,
            last: None,
        }
    }

    /// Points kept.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The newest point.
    pub fn last(&self) -> Option<&HistoryPoint> {
        self.last.as_ref()
    }

    /// Appends a point, dropping the oldest when full.
    pub fn push(&mut self, p: HistoryPoint) {
        if self.open.len == CHUNK {
            let full = std::mem::take(&mut self.open);
            self.sealed.push_back(Chunk {
                words: full.w.into_words(),
                len: full.len,
                max_ts: full.max_ts,
            });
        }
        let o = &mut self.open;
        o.coder.encode(&p, &mut o.w);
        o.max_ts = if o.len == 0 {
            p.sample.ts_ms
        } else {
            o.max_ts.max(p.sample.ts_ms)
        };
        o.len += 1;
        self.len += 1;
        self.last = Some(point::rounded(&p));
        if self.len > self.capacity {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        self.len -= 1;
        match self.sealed.front() {
            Some(c) => {
                self.skip += 1;
                if self.skip == c.len {
                    self.sealed.pop_front();
                    self.skip = 0;
                } else if self.skip == TRIM {
                    self.trim_oldest();
                }
            }
            // Only reachable with a capacity below one chunk: the open chunk is the oldest.
            None => self.skip += 1,
        }
    }

    /// Re-encodes the oldest chunk without the points that have left it (every [`TRIM`] points
    /// that leave: about seven points decoded or encoded per point pushed).
    fn trim_oldest(&mut self) {
        let Some(c) = self.sealed.front_mut() else {
            return;
        };
        let (mut r, mut dec) = (BitReader::new(&c.words), PointCoder::default());
        let (mut w, mut enc) = (
            BitWriter::with_capacity(c.words.len()),
            PointCoder::default(),
        );
        let mut max_ts = i64::MIN;
        for i in 0..c.len {
            let p = dec.decode(&mut r);
            if i >= self.skip {
                // A decoded point is on the steps already: it encodes to itself.
                enc.encode(&p, &mut w);
                max_ts = max_ts.max(p.sample.ts_ms);
            }
        }
        *c = Chunk {
            words: w.into_words(),
            len: c.len - self.skip,
            max_ts,
        };
        self.skip = 0;
    }

    /// Chunks oldest first, as (words, points, largest timestamp), with the points to skip.
    fn chunks(&self) -> impl Iterator<Item = (&[u64], usize, i64)> {
        self.sealed
            .iter()
            .map(|c| (&c.words[..], c.len, c.max_ts))
            .chain((self.open.len > 0).then_some((
                self.open.w.words(),
                self.open.len,
                self.open.max_ts,
            )))
    }

    /// All points, oldest first.
    pub fn iter(&self) -> Points<'_> {
        self.starting_at(0)
    }

    /// The last `n` points, oldest first.
    pub fn recent(&self, n: usize) -> Points<'_> {
        self.starting_at(self.len.saturating_sub(n))
    }

    /// Points from the first one not older than `since_ms`, oldest first.
    pub fn since(&self, since_ms: i64) -> impl Iterator<Item = HistoryPoint> + '_ {
        // Whole chunks that end before `since_ms` are not decoded.
        let mut start = 0;
        for (i, (_, len, max_ts)) in self.chunks().enumerate() {
            if max_ts >= since_ms {
                break;
            }
            start += if i == 0 { len - self.skip } else { len };
        }
        self.starting_at(start.min(self.len))
            .skip_while(move |p| p.sample.ts_ms < since_ms)
    }

    /// Points from the `index`-th kept one (0: the oldest).
    fn starting_at(&self, index: usize) -> Points<'_> {
        Points {
            chunks: self.chunks().collect(),
            chunk: 0,
            reader: None,
            left_in_chunk: 0,
            skip: self.skip + index,
            remaining: self.len - index.min(self.len),
        }
    }

    /// Heap bytes held by the encoded points (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.sealed.capacity() * std::mem::size_of::<Chunk>()
            + self.sealed.iter().map(|c| c.words.len() * 8).sum::<usize>()
            + self.open.w.heap_bytes()
    }
}

/// Decoding iterator over a [`History`].
pub struct Points<'a> {
    chunks: Vec<(&'a [u64], usize, i64)>,
    chunk: usize,
    reader: Option<(BitReader<'a>, PointCoder)>,
    left_in_chunk: usize,
    /// Points still to skip before the first one yielded.
    skip: usize,
    remaining: usize,
}

impl Iterator for Points<'_> {
    type Item = HistoryPoint;

    fn next(&mut self) -> Option<HistoryPoint> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if self.left_in_chunk == 0 {
                let &(words, len, _) = self.chunks.get(self.chunk)?;
                self.chunk += 1;
                // A chunk skipped whole is not decoded.
                if self.skip >= len {
                    self.skip -= len;
                    continue;
                }
                self.reader = Some((BitReader::new(words), PointCoder::default()));
                self.left_in_chunk = len;
            }
            let (r, coder) = self.reader.as_mut()?;
            let p = coder.decode(r);
            self.left_in_chunk -= 1;
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            self.remaining -= 1;
            return Some(p);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}
