//! Fixed-size sliding windows the anomaly detector keeps: the last few items as one contiguous
//! slice, and the minimum and maximum of the last N values.

use std::collections::VecDeque;

/// The last `cap` items of `width` values each, stored twice so that they are always one
/// contiguous slice.
#[derive(Clone, Debug)]
pub struct Ring {
    cap: usize,
    width: usize,
    buf: Vec<f64>,
    head: usize,
    len: usize,
}

impl Ring {
    pub fn new(cap: usize, width: usize) -> Self {
        let (cap, width) = (cap.max(1), width.max(1));
        Self {
            cap,
            width,
            buf: vec![0.0; 2 * cap * width],
            head: 0,
            len: 0,
        }
    }

    /// Most items kept.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Items stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends one item (`item.len()` must be `width`).
    pub fn push(&mut self, item: &[f64]) {
        let w = self.width;
        let a = self.head * w;
        let b = (self.head + self.cap) * w;
        self.buf[a..a + w].copy_from_slice(item);
        self.buf[b..b + w].copy_from_slice(item);
        self.head = (self.head + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }

    /// Items oldest to newest, flattened.
    pub fn as_slice(&self) -> &[f64] {
        let end = (self.head + self.cap) * self.width;
        &self.buf[end - self.len * self.width..end]
    }
}

/// Minimum and maximum of the last `cap` values (monotonic queues, O(1) amortised).
#[derive(Clone, Debug)]
pub struct RollingRange {
    cap: u64,
    n: u64,
    lows: VecDeque<(u64, f64)>,
    highs: VecDeque<(u64, f64)>,
}

impl RollingRange {
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1) as u64,
            n: 0,
            lows: VecDeque::new(),
            highs: VecDeque::new(),
        }
    }

    pub fn push(&mut self, x: f64) {
        while self.lows.back().is_some_and(|&(_, v)| v >= x) {
            self.lows.pop_back();
        }
        self.lows.push_back((self.n, x));
        while self.highs.back().is_some_and(|&(_, v)| v <= x) {
            self.highs.pop_back();
        }
        self.highs.push_back((self.n, x));
        self.n += 1;
        let oldest = self.n.saturating_sub(self.cap);
        while self.lows.front().is_some_and(|&(i, _)| i < oldest) {
            self.lows.pop_front();
        }
        while self.highs.front().is_some_and(|&(i, _)| i < oldest) {
            self.highs.pop_front();
        }
    }

    pub fn range(&self) -> Option<(f64, f64)> {
        Some((self.lows.front()?.1, self.highs.front()?.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_and_range_match_a_naive_window() {
        let mut r = Ring::new(7, 1);
        let mut q = RollingRange::new(7);
        let mut all = Vec::new();
        let mut s = 9u64;
        for _ in 0..100 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = ((s >> 40) % 200) as f64 - 100.0;
            r.push(&[x]);
            q.push(x);
            all.push(x);
            let tail = &all[all.len().saturating_sub(7)..];
            assert_eq!(r.as_slice(), tail);
            let lo = tail.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = tail.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(q.range(), Some((lo, hi)));
        }
    }
}
