//! When to hand the memory freed by departed containers back to the system.
//!
//! glibc keeps freed memory for reuse, so after a burst of containers comes and goes their state
//! stays counted in DockerPulse's resident memory until it is returned (`malloc_trim`, a few
//! milliseconds). Returning it once a burst is over, rather than on a fixed clock, lets the
//! resident figure a user (or a drill) reads come back down within seconds; during steady churn
//! it is still returned at least once a minute, and never more than every few seconds.

/// A burst is over once no container has left for this long.
const QUIET_MS: i64 = 5_000;
/// Never returned more often than this...
const MIN_GAP_MS: i64 = 10_000;
/// ...and at least this often while containers keep leaving.
const MAX_GAP_MS: i64 = 60_000;

/// Departures since freed memory was last returned, on the tick clock.
#[derive(Debug, Default)]
pub(crate) struct ReleaseClock {
    departed: usize,
    /// The first and the latest departure not yet returned.
    first_departure_ms: i64,
    last_departure_ms: i64,
    last_release_ms: Option<i64>,
}

impl ReleaseClock {
    /// `n` containers left at `now_ms`.
    pub fn departed(&mut self, n: usize, now_ms: i64) {
        if n > 0 {
            if self.departed == 0 {
                self.first_departure_ms = now_ms;
            }
            self.departed += n;
            self.last_departure_ms = now_ms;
        }
    }

    /// Whether freed memory should be returned now; if so, it counts as returned.
    pub fn due(&mut self, now_ms: i64) -> bool {
        let spaced = self
            .last_release_ms
            .is_none_or(|r| now_ms - r >= MIN_GAP_MS);
        let quiet = now_ms - self.last_departure_ms >= QUIET_MS;
        let waited = now_ms - self.first_departure_ms >= MAX_GAP_MS;
        let due = self.departed > 0 && spaced && (quiet || waited);
        if due {
            self.departed = 0;
            self.last_release_ms = Some(now_ms);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_returned_before_anything_left() {
        let mut c = ReleaseClock::default();
        assert!(!c.due(1_000_000));
    }

    #[test]
    fn a_burst_is_returned_once_it_is_over_and_only_once() {
        let mut c = ReleaseClock::default();
        let t0 = 1_000_000;
        for s in 0..20 {
            c.departed(3, t0 + s * 1000);
            assert!(!c.due(t0 + s * 1000), "still leaving at {s} s");
        }
        let last = t0 + 19_000;
        assert!(!c.due(last + QUIET_MS - 1000));
        assert!(c.due(last + QUIET_MS));
        assert!(!c.due(last + QUIET_MS + 1000), "nothing left since");
    }

    #[test]
    fn steady_churn_is_returned_once_a_minute() {
        let mut c = ReleaseClock::default();
        let t0 = 1_000_000;
        let mut releases = Vec::new();
        for s in 0..180 {
            let now = t0 + s * 1000;
            c.departed(1, now);
            if c.due(now) {
                releases.push(s);
            }
        }
        // A minute after the first departure not yet returned, each time.
        assert_eq!(releases, vec![60, 121]);
    }

    #[test]
    fn quiet_departures_are_returned_at_most_every_ten_seconds() {
        let mut c = ReleaseClock::default();
        let t0 = 1_000_000;
        let mut releases = Vec::new();
        // One container leaves every 6 s: each is a "burst" over 5 s later.
        for s in 0..60 {
            let now = t0 + s * 1000;
            if s % 6 == 0 {
                c.departed(1, now);
            }
            if c.due(now) {
                releases.push(s);
            }
        }
        assert!(
            releases.windows(2).all(|w| w[1] - w[0] >= 10),
            "{releases:?}"
        );
        assert!(releases.len() >= 4, "{releases:?}");
    }
}
