//! An agent's recent ticks, kept packed (deflated) so that what its hub missed — while the
//! link was down, or sent into a socket that turned out dead — can be sent again once the hub
//! welcomes the agent back and says which tick it has last. Bounded by bytes: the oldest go
//! first, and how many went is counted.

use std::collections::VecDeque;
use tokio_tungstenite::tungstenite::Bytes;

/// What an agent keeps: about ten minutes of a hundred containers' ticks, a minute of a
/// thousand's.
pub const BACKLOG_BYTES: usize = 16 << 20;

#[derive(Debug)]
pub struct Backlog {
    ticks: VecDeque<(i64, Bytes)>,
    bytes: usize,
    max_bytes: usize,
    /// Ticks dropped for room since the agent started.
    pub dropped: u64,
}

impl Backlog {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            ticks: VecDeque::new(),
            bytes: 0,
            max_bytes,
            dropped: 0,
        }
    }

    /// Keeps a tick sampled at `ts_ms` (ticks come in time order); the newest always stays.
    pub fn push(&mut self, ts_ms: i64, packed: Bytes) {
        self.bytes += packed.len();
        self.ticks.push_back((ts_ms, packed));
        while self.bytes > self.max_bytes && self.ticks.len() > 1 {
            if let Some((_, old)) = self.ticks.pop_front() {
                self.bytes -= old.len();
                self.dropped += 1;
            }
        }
    }

    /// The ticks sampled after `since_ms` (all of them when the hub has none), oldest first.
    pub fn after(&self, since_ms: Option<i64>) -> impl Iterator<Item = &(i64, Bytes)> {
        let from = since_ms.map_or(0, |s| self.ticks.partition_point(|(ts, _)| *ts <= s));
        self.ticks.range(from..)
    }

    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tick(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[test]
    fn only_what_the_hub_has_not_got_is_sent_again() {
        let mut b = Backlog::new(1_000);
        for ts in [1_000, 2_000, 3_000, 4_000] {
            b.push(ts, tick(10));
        }
        let ts = |since| b.after(since).map(|(t, _)| *t).collect::<Vec<_>>();
        assert_eq!(ts(None), [1_000, 2_000, 3_000, 4_000], "a new hub gets all");
        assert_eq!(ts(Some(2_000)), [3_000, 4_000]);
        assert_eq!(ts(Some(2_500)), [3_000, 4_000]);
        assert_eq!(ts(Some(4_000)), Vec::<i64>::new(), "nothing missed");
        assert_eq!(ts(Some(0)), [1_000, 2_000, 3_000, 4_000]);
    }

    #[test]
    fn the_oldest_go_first_and_the_newest_always_stays() {
        let mut b = Backlog::new(25);
        for ts in 1..=4 {
            b.push(ts, tick(10));
        }
        assert_eq!(b.after(None).map(|(t, _)| *t).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(b.dropped, 2);
        b.push(5, tick(100));
        assert_eq!(b.len(), 1, "one tick larger than the budget is still kept");
        assert_eq!(b.dropped, 4);
    }

    proptest! {
        #[test]
        fn never_over_budget_unless_one_tick_is(sizes in proptest::collection::vec(1usize..400, 1..200)) {
            let mut b = Backlog::new(1_000);
            for (i, n) in sizes.iter().enumerate() {
                b.push(i as i64, tick(*n));
                let held: usize = b.after(None).map(|(_, p)| p.len()).sum();
                prop_assert!(held <= 1_000 || b.len() == 1);
                prop_assert_eq!(b.len() as u64 + b.dropped, i as u64 + 1);
            }
        }
    }
}
