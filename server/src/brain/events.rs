//! Restarts and OOM kills over a sliding time window (e.g. the last 5 minutes).

use std::collections::VecDeque;

/// Counts of engine events within the last `window_ms`.
#[derive(Clone, Debug)]
pub struct EventWindow {
    window_ms: i64,
    events: VecDeque<(i64, u32, u32)>,
    restarts: u64,
    ooms: u64,
}

/// Cap on stored event entries (only ticks with events are stored).
const MAX_ENTRIES: usize = 4096;

impl EventWindow {
    pub fn new(window_s: f64) -> Self {
        let ms = if window_s.is_finite() && window_s > 0.0 {
            (window_s * 1000.0).min(1e15) as i64
        } else {
            300_000
        };
        Self {
            window_ms: ms,
            events: VecDeque::new(),
            restarts: 0,
            ooms: 0,
        }
    }

    /// Records the events seen at `ts_ms` and forgets those older than the window.
    pub fn record(&mut self, ts_ms: i64, restarts: u32, ooms: u32) {
        if restarts > 0 || ooms > 0 {
            self.events.push_back((ts_ms, restarts, ooms));
            self.restarts += u64::from(restarts);
            self.ooms += u64::from(ooms);
        }
        let cutoff = ts_ms.saturating_sub(self.window_ms);
        while let Some(&(t, r, o)) = self.events.front() {
            if t > cutoff && self.events.len() <= MAX_ENTRIES {
                break;
            }
            self.events.pop_front();
            self.restarts -= u64::from(r);
            self.ooms -= u64::from(o);
        }
    }

    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    pub fn ooms(&self) -> u64 {
        self.ooms
    }

    pub fn window_s(&self) -> f64 {
        self.window_ms as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_expire_after_the_window() {
        let mut w = EventWindow::new(300.0);
        w.record(0, 1, 0);
        w.record(1_000, 1, 1);
        assert_eq!((w.restarts(), w.ooms()), (2, 1));
        w.record(300_500, 0, 0);
        assert_eq!((w.restarts(), w.ooms()), (1, 1));
        w.record(301_000, 0, 0);
        assert_eq!((w.restarts(), w.ooms()), (0, 0));
    }

    #[test]
    fn extreme_inputs_do_not_overflow() {
        let mut w = EventWindow::new(f64::NAN);
        w.record(i64::MIN, u32::MAX, u32::MAX);
        w.record(i64::MAX, u32::MAX, 0);
        assert_eq!(w.restarts(), u64::from(u32::MAX));
    }
}
