//! Bounded incidents: an open incident keeps its samples at full resolution near its opening
//! (the pre-window and the first minutes) and its latest minutes, and thins the middle by
//! doubling a stride whenever the middle outgrows its budget — so a report of an incident that
//! lasted a week renders from as many points as one that lasted an hour.
//!
//! Pure: [`Window`] mirrors the timestamps the store holds for one incident, and
//! [`Window::plan`] decides a compaction that the store applies with the same rule
//! (`Db::compact_samples`: keep the first sample of every stride-long bucket).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How an incident's samples are kept (part of `[incidents]`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Full resolution this long after the opening (the pre-window is kept whole too).
    #[serde(with = "humantime_serde")]
    pub keep_head: Duration,
    /// Full resolution for the latest stretch of this length.
    #[serde(with = "humantime_serde")]
    pub keep_tail: Duration,
    /// Samples in between, at most (thinned beyond).
    pub middle_samples: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_head: Duration::from_secs(300),
            keep_tail: Duration::from_secs(300),
            middle_samples: 600,
        }
    }
}

/// A compaction to apply: keep everything before `head_until_ms` and from `tail_from_ms` on,
/// and the first sample of each `stride_ms` bucket in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    pub head_until_ms: i64,
    pub tail_from_ms: i64,
    pub stride_ms: i64,
}

/// The timestamps stored for one open incident, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    opened_ms: i64,
    ts: Vec<i64>,
    stride_ms: i64,
}

impl Window {
    pub fn new(opened_ms: i64, mut stored: Vec<i64>) -> Self {
        stored.sort_unstable();
        stored.dedup();
        Self {
            opened_ms,
            ts: stored,
            stride_ms: 1000,
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Notes samples sent to the store (duplicates and older ones are ignored, as the store
    /// ignores them).
    pub fn push(&mut self, ts_ms: i64) {
        if self.ts.last().is_none_or(|&l| ts_ms > l) {
            self.ts.push(ts_ms);
        } else if let Err(i) = self.ts.binary_search(&ts_ms) {
            self.ts.insert(i, ts_ms);
        }
    }

    /// Decides whether the middle must be thinned now, and applies the same rule to the mirror.
    pub fn plan(&mut self, r: &Retention) -> Option<Compaction> {
        let last = *self.ts.last()?;
        let head_until = self.opened_ms + crate::util::ms(r.keep_head);
        let tail_from = last - crate::util::ms(r.keep_tail);
        if tail_from <= head_until {
            return None;
        }
        let middle = self.ts.partition_point(|&t| t < tail_from)
            - self.ts.partition_point(|&t| t < head_until);
        if middle <= r.middle_samples.max(2) {
            return None;
        }
        // Thin to about half the budget, so the next compaction is a while away.
        let target = (r.middle_samples.max(2) / 2) as i64;
        let span = tail_from - head_until;
        while span / self.stride_ms > target {
            self.stride_ms = self.stride_ms.saturating_mul(2);
        }
        let c = Compaction {
            head_until_ms: head_until,
            tail_from_ms: tail_from,
            stride_ms: self.stride_ms,
        };
        self.apply(&c);
        Some(c)
    }

    fn apply(&mut self, c: &Compaction) {
        let mut last_bucket = None;
        self.ts.retain(|&t| {
            if t < c.head_until_ms || t >= c.tail_from_ms {
                return true;
            }
            let bucket = t.div_euclid(c.stride_ms);
            let keep = last_bucket != Some(bucket);
            last_bucket = Some(bucket);
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filled(opened: i64, seconds: i64, r: &Retention) -> (Window, usize) {
        let mut w = Window::new(opened, Vec::new());
        let mut compactions = 0;
        for s in 0..seconds {
            w.push(opened - 180_000 + s * 1000);
            compactions += usize::from(w.plan(r).is_some());
        }
        (w, compactions)
    }

    #[test]
    fn a_week_long_incident_stays_bounded_and_keeps_both_ends_whole() {
        let r = Retention::default();
        let (w, compactions) = filled(0, 7 * 86_400, &r);
        // Pre-window + head (8 min) + tail (5 min) at 1 Hz, plus at most the middle budget.
        assert!(w.len() <= 480 + 300 + 600 + 1, "{}", w.len());
        // Samples leave the tail at full rate, so the middle is thinned about every half budget
        // of seconds (each time deleting at most a budget's worth of rows).
        assert!(
            compactions <= 7 * 86_400 / 300 + 1,
            "{compactions} compactions"
        );
        let head: Vec<i64> = w.ts.iter().copied().filter(|&t| t < 300_000).collect();
        assert_eq!(head.len(), 480, "every sample near the opening");
        let last = *w.ts.last().expect("samples");
        assert_eq!(
            w.ts.iter().filter(|&&t| t >= last - 300_000).count(),
            301,
            "the latest five minutes whole"
        );
    }

    #[test]
    fn a_short_incident_is_never_thinned() {
        let r = Retention::default();
        let (w, compactions) = filled(0, 20 * 60, &r);
        assert_eq!(compactions, 0);
        assert_eq!(w.len(), 1200);
    }

    proptest! {
        #[test]
        fn thinning_keeps_order_ends_and_a_bound(secs in 1i64..40_000, budget in 4usize..300) {
            let r = Retention { middle_samples: budget, ..Retention::default() };
            let (w, _) = filled(1_000_000, secs, &r);
            prop_assert!(w.ts.windows(2).all(|p| p[0] < p[1]));
            prop_assert_eq!(w.ts.first().copied(), Some(1_000_000 - 180_000));
            prop_assert_eq!(w.ts.last().copied(), Some(1_000_000 - 180_000 + (secs - 1) * 1000));
            prop_assert!(w.len() <= 480 + 301 + budget.max(2) + 1, "{} > bound", w.len());
        }
    }
}
