//! The outbox's rules, pure: what an answer means for a delivery (delivered, retry when,
//! endpoint gone), the backoff schedule with jitter, `Retry-After`, and the per-destination
//! rate limit. Times are milliseconds; the caller supplies the clock and the randomness.

use super::config::RetryConfig;
use crate::util::ms;

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A 2xx: done.
    Delivered,
    /// Try again at this time.
    Retry { at_ms: i64 },
    /// 410 Gone: the endpoint says it will never accept anything again.
    Disable,
    /// Still failing after `give_up_after`: given up.
    Expired,
}

/// The answer to one attempt: an HTTP status, or none when the request never got one
/// (connection refused, timeout, TLS error).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub status: Option<u16>,
    /// The `Retry-After` the endpoint sent, in ms from now.
    pub retry_after_ms: Option<i64>,
    /// Which attempt this was (1 for the first).
    pub number: u32,
    pub now_ms: i64,
    /// When the event was queued.
    pub created_ms: i64,
}

/// The wait before attempt `n + 1` after `n` failures: `initial × 2^(n−1)`, capped at `max`,
/// with "equal jitter" (half fixed, half random: retries of many deliveries spread out, yet
/// none comes back much sooner than the schedule). `jitter` is uniform in [0, 1).
pub fn backoff_ms(cfg: &RetryConfig, failures: u32, jitter: f64) -> i64 {
    let initial = ms(cfg.initial).max(1);
    let max = ms(cfg.max).max(initial);
    let shift = failures.saturating_sub(1).min(40);
    let base = initial.saturating_mul(1_i64 << shift).min(max);
    let j = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    base - base / 2 + ((base / 2) as f64 * j) as i64
}

/// Decides what follows an attempt.
pub fn judge(cfg: &RetryConfig, a: &Attempt, jitter: f64) -> Verdict {
    match a.status {
        Some(s) if (200..300).contains(&s) => return Verdict::Delivered,
        Some(410) => return Verdict::Disable,
        _ => {}
    }
    let deadline = a.created_ms.saturating_add(ms(cfg.give_up_after));
    let mut wait = backoff_ms(cfg, a.number, jitter);
    // Honoured, within reason: never sooner than asked, never past giving up.
    if let Some(ra) = a.retry_after_ms.filter(|r| *r > 0) {
        wait = wait.max(ra.min(ms(cfg.give_up_after)));
    }
    let at_ms = a.now_ms.saturating_add(wait);
    if at_ms > deadline {
        Verdict::Expired
    } else {
        Verdict::Retry { at_ms }
    }
}

/// `Retry-After`: delay-seconds or an HTTP date, as ms from `now_ms`.
pub fn parse_retry_after(v: &str, now_ms: i64) -> Option<i64> {
    let v = v.trim();
    if let Ok(s) = v.parse::<i64>() {
        return (s >= 0).then(|| s.saturating_mul(1000));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.timestamp_millis() - now_ms).max(0))
}

/// A token bucket: at most `per_minute` deliveries in any minute after the first burst of
/// `burst`, refilled continuously.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    per_minute: u32,
    burst: f64,
    tokens: f64,
    last_ms: i64,
}

impl RateLimit {
    pub fn new(per_minute: u32, now_ms: i64) -> Self {
        // A burst of a sixth of the minute's allowance (at least one): a few events at once go
        // out together, a storm is paced.
        let burst = f64::from((per_minute / 6).max(1));
        Self {
            per_minute: per_minute.max(1),
            burst,
            tokens: burst,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: i64) {
        let dt = (now_ms - self.last_ms).max(0) as f64;
        self.tokens = (self.tokens + dt * f64::from(self.per_minute) / 60_000.0).min(self.burst);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// Takes a token when one is there.
    pub fn try_take(&mut self, now_ms: i64) -> bool {
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token will be there.
    pub fn next_ms(&self) -> i64 {
        if self.tokens >= 1.0 {
            return self.last_ms;
        }
        let missing = 1.0 - self.tokens;
        self.last_ms + (missing * 60_000.0 / f64::from(self.per_minute)).ceil() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn cfg() -> RetryConfig {
        RetryConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            give_up_after: Duration::from_secs(86_400),
        }
    }

    fn attempt(status: Option<u16>, number: u32) -> Attempt {
        Attempt {
            status,
            retry_after_ms: None,
            number,
            now_ms: 1_000_000,
            created_ms: 1_000_000,
        }
    }

    #[test]
    fn answers_mean_what_the_issue_says() {
        let c = cfg();
        assert_eq!(judge(&c, &attempt(Some(204), 1), 0.5), Verdict::Delivered);
        assert_eq!(judge(&c, &attempt(Some(410), 1), 0.5), Verdict::Disable);
        for s in [None, Some(500), Some(429), Some(404), Some(301)] {
            assert!(
                matches!(judge(&c, &attempt(s, 1), 0.5), Verdict::Retry { .. }),
                "{s:?}"
            );
        }
        let mut late = attempt(Some(503), 30);
        late.now_ms += 86_400_000 - 10;
        assert_eq!(judge(&c, &late, 0.0), Verdict::Expired);
    }

    #[test]
    fn the_schedule_doubles_from_one_second_to_five_minutes() {
        let c = cfg();
        let no_jitter: Vec<i64> = (1..=10).map(|n| backoff_ms(&c, n, 0.999_999)).collect();
        assert_eq!(
            no_jitter,
            [999, 1999, 3999, 7999, 15999, 31999, 63999, 127_999, 255_999, 299_999]
        );
        assert_eq!(backoff_ms(&c, 1, 0.0), 500);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("7", 0), Some(7000));
        assert_eq!(parse_retry_after("-1", 0), None);
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .expect("date")
            .timestamp_millis();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30_000)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    proptest! {
        /// Each wait is within [base/2, base], bases never shrink, never exceed `max`.
        #[test]
        fn backoff_is_bounded_and_grows(n in 1u32..200, j1 in 0.0f64..1.0, j2 in 0.0f64..1.0,
                                        initial_ms in 1u64..10_000, factor in 1u64..1000) {
            let c = RetryConfig {
                initial: Duration::from_millis(initial_ms),
                max: Duration::from_millis(initial_ms * factor),
                give_up_after: Duration::from_secs(86_400 * 30),
            };
            let max = (initial_ms * factor) as i64;
            let a = backoff_ms(&c, n, j1);
            let b = backoff_ms(&c, n + 1, j2);
            prop_assert!(a >= 1 && a <= max);
            prop_assert!(b >= 1 && b <= max);
            // the next base is at least this one's: its least wait ≥ half of this one's most.
            prop_assert!(2 * b + 2 >= a);
        }

        /// A Retry-After is never undercut (unless waiting would pass the give-up time).
        #[test]
        fn retry_after_is_honoured(ra in 0i64..3_600_000, n in 1u32..20, j in 0.0f64..1.0) {
            let c = cfg();
            let a = Attempt { retry_after_ms: Some(ra), ..attempt(Some(503), n) };
            match judge(&c, &a, j) {
                Verdict::Retry { at_ms } => prop_assert!(at_ms >= a.now_ms + ra),
                v => prop_assert!(false, "{v:?}"),
            }
        }

        /// Over any span, at most burst + rate × span deliveries pass.
        #[test]
        fn rate_limit_holds(per_minute in 1u32..600, steps in proptest::collection::vec(0i64..5_000, 1..400)) {
            let mut rl = RateLimit::new(per_minute, 0);
            let mut now = 0;
            let mut sent = 0u64;
            for dt in steps {
                now += dt;
                if rl.try_take(now) {
                    sent += 1;
                }
            }
            let burst = u64::from((per_minute / 6).max(1));
            let allowed = burst + (now as f64 * f64::from(per_minute) / 60_000.0).floor() as u64;
            prop_assert!(sent <= allowed, "{sent} > {allowed}");
        }
    }

    #[test]
    fn rate_limit_says_when_the_next_token_comes() {
        let mut rl = RateLimit::new(6, 0);
        assert!(rl.try_take(0));
        assert!(!rl.try_take(1));
        assert_eq!(rl.next_ms(), 10_000);
        assert!(!rl.try_take(9_999));
        assert!(rl.try_take(10_000));
    }
}
