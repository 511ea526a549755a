//! What the brain saw before: the container's last samples summarised (memory climbing to its
//! limit, CPU pinned at its quota, PIDs near their limit, restarts) and said as hints.

use super::Evidence;
use app::wire::{Hint, Sample};

/// A summary of the samples before the evidence was taken.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsSeen {
    /// Seconds the samples span.
    pub window_s: f64,
    pub mem_first: Option<u64>,
    pub mem_peak: u64,
    /// Only when a limit is set.
    pub mem_limit: Option<u64>,
    /// Seconds spent at ≥ 95 % of the CPU quota.
    pub cpu_pinned_s: f64,
    pub cpu_quota_pct: Option<f64>,
    pub pids_peak: u64,
    pub pids_limit: Option<u64>,
    /// Restarts seen in the window (engine events).
    pub restarts: u64,
}

/// Limits of the container that the samples are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub cpu_quota_pct: Option<f64>,
    pub mem_limited: bool,
    pub pids_limit: Option<u64>,
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / 1048576.0)
}

impl MetricsSeen {
    /// Summarises samples (oldest first).
    pub fn from_samples(samples: &[Sample], limits: Limits, restarts: u64) -> Self {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Self {
                restarts,
                pids_limit: limits.pids_limit,
                ..Self::default()
            };
        };
        let quota = limits.cpu_quota_pct.filter(|q| *q > 0.0);
        let mut pinned_s = 0.0;
        for w in samples.windows(2) {
            let dt = (w[1].ts_ms - w[0].ts_ms).max(0) as f64 / 1000.0;
            if quota.is_some_and(|q| w[1].cpu_pct >= 0.95 * q) {
                pinned_s += dt;
            }
        }
        Self {
            window_s: (last.ts_ms - first.ts_ms).max(0) as f64 / 1000.0,
            mem_first: Some(first.mem_bytes),
            mem_peak: samples.iter().map(|s| s.mem_bytes).max().unwrap_or(0),
            mem_limit: limits
                .mem_limited
                .then_some(last.mem_limit_bytes)
                .filter(|l| *l > 0),
            cpu_pinned_s: pinned_s,
            cpu_quota_pct: quota,
            pids_peak: samples.iter().map(|s| s.pids).max().unwrap_or(0),
            pids_limit: limits.pids_limit.filter(|l| *l > 0),
            restarts,
        }
    }

    /// Memory reached at least 90 % of its limit.
    pub fn memory_near_limit(&self) -> bool {
        self.mem_limit
            .is_some_and(|l| self.mem_peak as f64 >= 0.9 * l as f64)
    }

    /// `; memory had climbed from 3 MiB to 63 MiB of its 64 MiB limit in the last 40 s`, or
    /// nothing when memory did not come near its limit.
    pub fn memory_phrase(&self) -> String {
        match (self.memory_near_limit(), self.mem_limit, self.mem_first) {
            (true, Some(l), Some(f)) if f < self.mem_peak => format!(
                "; memory had climbed from {} to {} of its {} limit in the last {:.0} s",
                mib(f),
                mib(self.mem_peak),
                mib(l),
                self.window_s
            ),
            (true, Some(l), _) => format!(
                "; memory stood at {} of its {} limit",
                mib(self.mem_peak),
                mib(l)
            ),
            _ => String::new(),
        }
    }
}

fn hint(kind: &str, confidence: f64, sentence: String) -> Hint {
    Hint {
        kind: kind.into(),
        sentence,
        confidence,
        lines: Vec::new(),
    }
}

/// Hints from the metrics. The OOM kill itself is said by the exit hints (with the memory
/// phrase); this says memory pressure only when no OOM kill was reported.
pub fn hints(m: &MetricsSeen, ev: &Evidence) -> Vec<Hint> {
    let mut out = Vec::new();
    let oom = ev.oom_killed || ev.oom_event;
    if m.memory_near_limit() && !oom {
        let phrase = m.memory_phrase();
        let phrase = phrase.trim_start_matches("; memory ");
        out.push(hint(
            "memory_climb",
            0.55,
            format!("Memory {phrase}: allocations fail or the OOM killer acts at the limit"),
        ));
    }
    if let Some(q) = m.cpu_quota_pct {
        if m.window_s >= 10.0 && m.cpu_pinned_s >= 0.8 * m.window_s {
            out.push(hint(
                "cpu_pinned",
                0.4,
                format!(
                    "CPU was pinned at its quota ({q:.0} % of a core) for {:.0} of the last \
                     {:.0} s: starved of CPU, it answers slowly and may fail health checks",
                    m.cpu_pinned_s, m.window_s
                ),
            ));
        }
    }
    if let Some(l) = m.pids_limit {
        if m.pids_peak as f64 >= 0.9 * l as f64 {
            out.push(hint(
                "pids_limit",
                0.65,
                format!(
                    "Its processes and threads reached {} of its PIDs limit of {l}: new ones \
                     cannot start beyond it",
                    m.pids_peak
                ),
            ));
        }
    }
    if m.restarts >= 2 {
        out.push(hint(
            "restarts",
            0.5,
            format!(
                "It restarted {} times in the last {:.0} s: a crash loop, each run failing the \
                 same way",
                m.restarts,
                m.window_s.max(1.0)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: i64, cpu: f64, mem_mib: u64, pids: u64) -> Sample {
        Sample {
            ts_ms: t * 1000,
            cpu_pct: cpu,
            mem_bytes: mem_mib << 20,
            mem_limit_bytes: 64 << 20,
            pids,
            ..Sample::default()
        }
    }

    #[test]
    fn a_climb_to_the_limit_is_seen_and_said() {
        let samples: Vec<Sample> = (0..=40)
            .map(|t| s(t, 99.0, 3 + t as u64 * 3 / 2, 6))
            .collect();
        let limits = Limits {
            cpu_quota_pct: Some(100.0),
            mem_limited: true,
            pids_limit: Some(6),
        };
        let m = MetricsSeen::from_samples(&samples, limits, 0);
        assert!(m.memory_near_limit());
        assert_eq!(
            m.memory_phrase(),
            "; memory had climbed from 3 MiB to 63 MiB of its 64 MiB limit in the last 40 s"
        );
        let kinds: Vec<String> = hints(&m, &Evidence::default())
            .into_iter()
            .map(|h| h.kind)
            .collect();
        assert_eq!(kinds, ["memory_climb", "cpu_pinned", "pids_limit"]);
    }

    #[test]
    fn no_limit_no_memory_hint_and_calm_cpu_says_nothing() {
        let samples: Vec<Sample> = (0..30).map(|t| s(t, 5.0, 60, 1)).collect();
        let m = MetricsSeen::from_samples(&samples, Limits::default(), 0);
        assert!(!m.memory_near_limit());
        assert!(hints(&m, &Evidence::default()).is_empty());
    }
}
