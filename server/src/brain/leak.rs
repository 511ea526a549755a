//! Memory exhaustion: how fast memory is climbing, when it reaches the limit at that pace, and
//! how likely that makes a failure soon.
//!
//! The climb is the faster of two credible upward slopes: the 60 s regression's (significant at
//! t ≥ 3 over at least 5 points) and the short-window ramp detector's (a sustained ramp, gate ≥
//! ½), which sees a leak that started a few seconds ago before the long window does. The
//! time-to-limit uses the estimated slope; the escalation uses the slope shrunk by its
//! significance (`b·t²/(t²+4)`), so a barely significant climb counts for less.
//!
//! Escalation with the time-to-limit `T`, for a horizon `h`: `p = 0.97 / (1 + (T / 5h)^2.5)` —
//! about 0.88 at `T = 2h`, 0.5 at `5h`, 0.1 at `12h` and nothing at `30h` (10 s horizon: ≥ 85 %
//! from ~22 s before the limit, ≥ 40 % from ~58 s, ~1 % five minutes out). A leak therefore goes
//! MEDIUM about a minute before its OOM kill and CRITICAL with enough lead for healing's streak
//! (three ticks at ≥ 85 %) and a restart; a calm or slowly drifting container (hours to its
//! limit) stays near 0.

use super::forecast::Forecaster;
use super::risk::MemRisk;

/// Share of the way from where a climb began to the limit from which a leak is CRITICAL
/// whatever the horizon: at 70 % a steady leak still has 30 % of its fill time left.
pub const CRITICAL_FILL: f64 = 0.7;
/// ...provided the limit is at most this far (seconds) at the current pace, so a slow drift
/// hours from its limit, or a sawtooth that is collected long before it, is not CRITICAL.
pub const CRITICAL_MAX_TTL_S: f64 = 300.0;
/// Ticks without a credible climb after which a climb is over.
const CLIMB_GRACE_TICKS: u32 = 10;

/// Where the current memory climb began (the lowest memory in the regression window when the
/// climb became credible), so the share of the fill already done can be told.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClimbTracker {
    start: Option<f64>,
    quiet: u32,
}

impl ClimbTracker {
    /// Feeds one tick; returns the share (0–1) of the way from the climb's start to `limit`
    /// that memory has covered, while a credible climb is under way.
    pub fn update(&mut self, mem: &Forecaster, limit: Option<f64>) -> Option<f64> {
        let (limit, now) = (limit?, mem.last()?.1);
        if climb(mem).is_some() {
            self.quiet = 0;
            let low = mem
                .window_min()
                .filter(|v| v.is_finite())
                .unwrap_or(now)
                .min(now);
            // A drop below the start (a restart, a collection) begins a new climb.
            let start = match self.start {
                Some(s) if s <= now => s,
                _ => low,
            };
            self.start = Some(start);
        } else {
            self.quiet += 1;
            if self.quiet >= CLIMB_GRACE_TICKS || self.start.is_some_and(|s| now < s) {
                self.start = None;
            }
        }
        let start = self.start?;
        (limit > start).then(|| ((now - start) / (limit - start)).clamp(0.0, 1.0))
    }
}

/// Whether a climb that has covered `fill` of the way to its limit, `ttl` seconds from it,
/// is CRITICAL by itself (see [`CRITICAL_FILL`]).
pub fn critical_by_fill(fill: Option<f64>, ttl: Option<f64>) -> bool {
    matches!((fill, ttl), (Some(f), Some(t)) if f >= CRITICAL_FILL && t <= CRITICAL_MAX_TTL_S)
}

/// Multiple of the horizon at which the escalation is at half its height.
const HALF_AT_HORIZONS: f64 = 5.0;
/// Highest probability the time-to-limit alone gives.
const CEILING: f64 = 0.97;
/// Probability when memory is at its limit already (reclaiming, or about to be OOM-killed).
const AT_LIMIT: f64 = 0.95;

/// A credible upward climb.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Climb {
    /// Bytes per second.
    pub slope: f64,
    /// t statistic of the slope.
    pub t: f64,
}

impl Climb {
    /// The slope shrunk by its significance.
    pub fn shrunk(&self) -> f64 {
        let t2 = (self.t * self.t).min(1e12);
        self.slope * t2 / (t2 + 4.0)
    }
}

/// The faster credible climb of memory, if any.
pub fn climb(mem: &Forecaster) -> Option<Climb> {
    let long = mem
        .fit()
        .filter(|f| f.n >= 5 && f.slope > 0.0 && f.slope_t() >= 3.0)
        .map(|f| Climb {
            slope: f.slope,
            t: f.slope_t(),
        });
    let short = mem
        .trend()
        .filter(|r| r.gate >= 0.5 && r.slope > 0.0)
        .map(|r| Climb {
            slope: r.slope,
            t: r.t,
        });
    match (long, short) {
        (Some(a), Some(b)) => Some(if b.slope > a.slope { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Probability of failing soon given `ttl` seconds to the limit, for `horizon_s`.
pub fn escalation(ttl: f64, horizon_s: f64) -> f64 {
    if !ttl.is_finite() {
        return 0.0;
    }
    if ttl <= 0.0 {
        return AT_LIMIT;
    }
    let r = ttl / (HALF_AT_HORIZONS * horizon_s.max(1.0));
    // r^2.5, without `powf` (this runs for every container every tick).
    CEILING / (1.0 + r * r * r.sqrt())
}

/// Seconds until `level` reaches `limit` at `slope` per second; `Some(0)` when already there,
/// `None` when not rising or without a usable limit.
pub fn time_to_limit(level: f64, slope: f64, limit: Option<f64>) -> Option<f64> {
    let limit = limit.filter(|l| l.is_finite() && *l > 0.0)?;
    if !level.is_finite() {
        return None;
    }
    if level >= limit {
        return Some(0.0);
    }
    if !(slope.is_finite() && slope > 0.0) {
        return None;
    }
    let t = (limit - level) / slope;
    t.is_finite().then_some(t)
}

/// Time to the limit (for display) and the memory risk factor.
pub fn assess(
    mem: &Forecaster,
    limit: Option<f64>,
    horizon_s: f64,
) -> (Option<f64>, Option<MemRisk>) {
    let Some((_, now)) = mem.last() else {
        return (None, None);
    };
    let Some(limit) = limit else {
        return (None, None);
    };
    let climb = climb(mem);
    let ttl = time_to_limit(now, climb.map_or(0.0, |c| c.slope), Some(limit));
    let Some(p) = mem.prediction() else {
        return (ttl, None);
    };
    let by_forecast = mem.prob_at_least(p.value, limit);
    let by_ttl = if now >= limit {
        AT_LIMIT
    } else {
        climb
            .and_then(|c| time_to_limit(now, c.shrunk(), Some(limit)))
            .map_or(0.0, |t| escalation(t, horizon_s))
    };
    let risk = MemRisk {
        now,
        limit,
        slope: climb.map(|c| c.slope),
        time_to_limit_s: ttl,
        probability: by_forecast.max(by_ttl),
    };
    (ttl, Some(risk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brain::forecast::ForecastConfig;

    const MIB: f64 = 1024.0 * 1024.0;

    #[test]
    fn escalation_rises_as_the_limit_nears() {
        let p = |t: f64| escalation(t, 10.0);
        assert!(p(10.0) >= 0.9);
        assert!(p(20.0) >= 0.85);
        assert!(p(30.0) < 0.85 && p(30.0) >= 0.4);
        assert!(p(55.0) >= 0.4);
        assert!(p(70.0) < 0.4);
        assert!(p(300.0) < 0.02);
        assert!(p(3600.0) < 1e-4);
        assert_eq!(p(0.0), AT_LIMIT);
        assert_eq!(p(f64::INFINITY), 0.0);
        let mut prev = 1.0;
        for t in 1..600 {
            let v = p(t as f64);
            assert!(v <= prev);
            prev = v;
        }
    }

    #[test]
    fn time_to_limit_cases() {
        assert_eq!(time_to_limit(50.0, 5.0, Some(100.0)), Some(10.0));
        assert_eq!(time_to_limit(50.0, 0.0, Some(100.0)), None);
        assert_eq!(time_to_limit(50.0, -1.0, Some(100.0)), None);
        assert_eq!(time_to_limit(50.0, 5.0, None), None);
        assert_eq!(time_to_limit(120.0, -1.0, Some(100.0)), Some(0.0));
        assert_eq!(time_to_limit(50.0, 5.0, Some(f64::NAN)), None);
    }

    #[test]
    fn a_fresh_leak_is_seen_by_the_short_window() {
        let cfg = ForecastConfig {
            floor: MIB,
            ..ForecastConfig::default()
        };
        let mut f = Forecaster::new(cfg);
        for i in 0..60 {
            f.observe(i as f64, 20.0 * MIB);
        }
        for i in 60..72 {
            f.observe(i as f64, 20.0 * MIB + (i - 59) as f64 * 1.5 * MIB);
        }
        let c = climb(&f).expect("a climb");
        assert!((c.slope / MIB - 1.5).abs() < 0.05, "{c:?}");
        let (ttl, risk) = assess(&f, Some(64.0 * MIB), 10.0);
        let ttl = ttl.expect("time to limit");
        assert!((ttl - (64.0 - 38.0) / 1.5).abs() < 1.0, "{ttl}");
        assert!(risk.expect("risk").probability > 0.6);
    }
}
