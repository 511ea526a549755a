//! The sliding minimum and maximum of the last N values, as the anomaly detector's breakout test
//! reads them.

use std::collections::VecDeque;

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
    fn range_matches_a_naive_window() {
        let mut q = RollingRange::new(7);
        let mut all = Vec::new();
        let mut s = 9u64;
        for _ in 0..100 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = ((s >> 40) % 200) as f64 - 100.0;
            q.push(x);
            all.push(x);
            let tail = &all[all.len().saturating_sub(7)..];
            let lo = tail.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = tail.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(q.range(), Some((lo, hi)));
        }
    }
}
