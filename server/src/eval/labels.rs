//! What happened to a recorded container, read from the recording itself: the failure events
//! the probability is about ([`crate::brain::calibration`]), leak fill times, and replays that
//! keep the brain's evidence next to every assessment.

use app::wire::{Assessment, RiskLevel};

use crate::brain::calibration::Evidence;
use crate::brain::{BrainConfig, ContainerBrain, Observation};

use super::traces::{observations, Trace, TraceSet};

/// CPU at or above this share of its capacity counts as throttled.
pub const THROTTLED_FRAC: f64 = 0.95;

/// One replayed sample.
#[derive(Clone, Debug)]
pub struct Step {
    pub obs: Observation,
    pub assessment: Assessment,
    pub evidence: Evidence,
}

/// Replays one container through a fresh brain, keeping the evidence.
pub fn replay_steps(set: &TraceSet, trace: &Trace, cfg: &BrainConfig, host_cpus: u32) -> Vec<Step> {
    let mut brain = ContainerBrain::new(cfg);
    observations(trace, &set.events, host_cpus, true)
        .into_iter()
        .map(|obs| {
            let assessment = brain.observe(&obs);
            Step {
                obs,
                assessment,
                evidence: brain.evidence(),
            }
        })
        .collect()
}

/// Whether an event label is a failure: an OOM kill or an exit with a non-zero code.
pub fn is_failure(event: &str) -> bool {
    if event == "oom" || event == "health: unhealthy" {
        return true;
    }
    event
        .strip_prefix("die (exit ")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c != 0)
}

/// Failure times (ms) of one container, sorted.
pub fn failures(set: &TraceSet, name: &str) -> Vec<i64> {
    let mut v: Vec<i64> = set
        .events_of(name)
        .filter(|e| is_failure(&e.event))
        .map(|e| e.ts_ms)
        .collect();
    v.sort_unstable();
    v
}

/// Last sample time of the whole recording.
pub fn recording_end(set: &TraceSet) -> i64 {
    set.traces
        .iter()
        .filter_map(|t| t.samples.last().map(|s| s.ts_ms))
        .max()
        .unwrap_or(i64::MIN)
}

/// The event label of each step: a failure within `(t, t + horizon]`, or CPU throttled in more
/// than half of that span. `None` where the recording ends before the horizon does.
pub fn label_steps(
    steps: &[Step],
    fails: &[i64],
    end_ms: i64,
    horizon_s: f64,
) -> Vec<Option<bool>> {
    let h = (horizon_s * 1000.0) as i64;
    let throttled: Vec<bool> = steps
        .iter()
        .map(|s| {
            s.obs.cpu_capacity_pct > 0.0 && s.obs.cpu_pct >= THROTTLED_FRAC * s.obs.cpu_capacity_pct
        })
        .collect();
    // Prefix sums of throttled samples, and the sampling interval (median gap).
    let mut prefix = vec![0usize; steps.len() + 1];
    for (i, &t) in throttled.iter().enumerate() {
        prefix[i + 1] = prefix[i] + usize::from(t);
    }
    let mut gaps: Vec<i64> = steps
        .windows(2)
        .map(|w| w[1].obs.ts_ms - w[0].obs.ts_ms)
        .collect();
    gaps.sort_unstable();
    let dt = gaps.get(gaps.len() / 2).copied().unwrap_or(1000).max(1);
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = s.obs.ts_ms;
            if t + h > end_ms {
                return None;
            }
            let fails = fails.iter().any(|&f| f > t && f <= t + h);
            let j = steps.partition_point(|x| x.obs.ts_ms <= t + h);
            let busy_ms = (prefix[j] - prefix[(i + 1).min(j)]) as i64 * dt;
            Some(fails || 2 * busy_ms > h)
        })
        .collect()
}

/// A leak that ended in an OOM kill: how long it took to fill, and how long before the kill the
/// brain went CRITICAL.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakLead {
    pub container: String,
    pub oom_ms: i64,
    /// From the start of the climb to the kill, seconds.
    pub fill_s: f64,
    /// From the first CRITICAL of the climb to the kill, seconds (`None`: never CRITICAL).
    pub lead_s: Option<f64>,
}

/// Every OOM kill of one container, with its fill time and the brain's lead time. The climb
/// starts at the last sample before the kill that was within 5 % (of the way to the limit) of
/// the lowest memory since the previous start.
pub fn leak_leads(set: &TraceSet, name: &str, steps: &[Step]) -> Vec<LeakLead> {
    let ooms: Vec<i64> = set
        .events_of(name)
        .filter(|e| e.event == "oom")
        .map(|e| e.ts_ms)
        .collect();
    let starts: Vec<i64> = set
        .events_of(name)
        .filter(|e| e.event == "start")
        .map(|e| e.ts_ms)
        .collect();
    let mut out = Vec::new();
    for &oom in &ooms {
        let since = starts
            .iter()
            .copied()
            .filter(|&s| s < oom)
            .max()
            .unwrap_or(i64::MIN);
        let span: Vec<&Step> = steps
            .iter()
            .filter(|s| s.obs.ts_ms > since && s.obs.ts_ms <= oom)
            .collect();
        let Some(limit) = span.iter().find_map(|s| s.obs.mem_limit_bytes) else {
            continue;
        };
        let low = span
            .iter()
            .map(|s| s.obs.mem_bytes)
            .fold(f64::INFINITY, f64::min);
        let near_low = low + 0.05 * (limit - low);
        let Some(begin) = span.iter().rposition(|s| s.obs.mem_bytes <= near_low) else {
            continue;
        };
        let begin_ms = span[begin].obs.ts_ms;
        let critical = span[begin..]
            .iter()
            .find(|s| s.assessment.level == RiskLevel::Critical)
            .map(|s| (oom - s.obs.ts_ms) as f64 / 1000.0);
        out.push(LeakLead {
            container: name.to_string(),
            oom_ms: oom,
            fill_s: (oom - begin_ms) as f64 / 1000.0,
            lead_s: critical,
        });
    }
    out
}

/// Times the semaphore entered CRITICAL.
pub fn critical_entries(steps: &[Step]) -> usize {
    steps
        .windows(2)
        .filter(|w| {
            w[1].assessment.level == RiskLevel::Critical
                && w[0].assessment.level != RiskLevel::Critical
        })
        .count()
        + usize::from(
            steps
                .first()
                .is_some_and(|s| s.assessment.level == RiskLevel::Critical),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_events() {
        assert!(is_failure("oom"));
        assert!(is_failure("die (exit 137)"));
        assert!(is_failure("die (exit 1)"));
        assert!(is_failure("health: unhealthy"));
        assert!(!is_failure("die (exit 0)"));
        assert!(!is_failure("die"));
        assert!(!is_failure("start"));
    }
}
