//! Root-cause hints: why did a container fail? Evidence in — the exit code and signal, the
//! engine's OOM facts and error, the health check's last outputs, the container's last log
//! lines and what the brain saw of its metrics — ranked hints out, each a sentence with a
//! confidence and the lines it rests on.
//!
//! Everything but [`worker`] is pure: no I/O, no clock, no async. The worker is the edge that
//! reads the engine (through `collect::docker::logs`) and stores the result.

pub mod exit;
pub mod extract;
pub mod metrics;
pub mod scan;
pub mod signatures;
pub mod templates;
pub mod text;
pub mod worker;

#[cfg(test)]
mod cases;

use app::wire::Hint;
use serde::{Deserialize, Serialize};

pub use app::wire::{HintLine as LogLine, LogStream as Stream};
pub use metrics::MetricsSeen;

/// Most hints kept per diagnosis, and most lines quoted per hint.
pub const MAX_HINTS: usize = 8;
pub const MAX_LINES_PER_HINT: usize = 5;

/// The `[hints]` settings.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HintsConfig {
    /// Gather hints when an incident opens or a watched container dies.
    pub enabled: bool,
    /// Last log lines read (the engine's `tail`).
    pub lines: usize,
    /// At most this many KiB of log text are kept (the newest lines win).
    pub max_kib: usize,
    /// Longer lines are cut to this many bytes.
    pub line_bytes: usize,
}

impl Default for HintsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lines: 1000,
            max_kib: 256,
            line_bytes: 2048,
        }
    }
}

impl HintsConfig {
    pub fn bounds(&self) -> text::Bounds {
        text::Bounds {
            max_lines: self.lines.max(1),
            max_bytes: self.max_kib.max(1).saturating_mul(1024),
            line_bytes: self.line_bytes.max(80),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100_000).contains(&self.lines) {
            return Err(format!(
                "hints.lines must be between 1 and 100000, got {}",
                self.lines
            ));
        }
        if !(1..=65_536).contains(&self.max_kib) {
            return Err(format!(
                "hints.max_kib must be between 1 and 65536, got {}",
                self.max_kib
            ));
        }
        if !(80..=65_536).contains(&self.line_bytes) {
            return Err(format!(
                "hints.line_bytes must be between 80 and 65536, got {}",
                self.line_bytes
            ));
        }
        Ok(())
    }
}

/// One run of the health check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthRun {
    pub ts_ms: Option<i64>,
    pub exit_code: i64,
    pub output: String,
}

/// Everything known about a container when hints are asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence {
    /// The main process ended (a `die` event was seen, or the engine says it is not running).
    pub died: bool,
    pub exit_code: Option<i64>,
    /// The engine's `State.OOMKilled`.
    pub oom_killed: bool,
    /// The kernel's OOM event was seen for the container.
    pub oom_event: bool,
    /// A `docker stop` / `docker restart` explains the death.
    pub stopped: bool,
    /// The engine's `State.Error`.
    pub engine_error: Option<String>,
    /// Last health-check runs, oldest first.
    pub health: Vec<HealthRun>,
    /// The last log lines, oldest first, already bounded and cleaned.
    pub lines: Vec<LogLine>,
    /// When it died (or the evidence was taken), for "in the last N s".
    pub end_ms: Option<i64>,
    pub metrics: MetricsSeen,
}

/// The ranked hints for the evidence: most probable first, at most [`MAX_HINTS`].
pub fn analyze(ev: &Evidence) -> Vec<Hint> {
    let scan = signatures::scan(&ev.lines);
    let end = ev
        .end_ms
        .or_else(|| ev.lines.iter().rev().find_map(|l| l.ts_ms));
    let failed = ev.died && !ev.stopped && ev.exit_code != Some(0);
    let mut hints = Vec::new();
    hints.extend(exit::hints(ev, &scan));
    hints.extend(signatures::hints(&scan, &ev.lines, end, failed));
    hints.extend(templates::rare_lines(&ev.lines, &scan.consumed));
    hints.extend(metrics::hints(&ev.metrics, ev));
    if let Some(h) = exit::health_hint(&ev.health) {
        hints.push(h);
    }
    if ev.stopped {
        // A requested stop is the reason it ended; the rest is context, not the cause.
        for h in hints.iter_mut().filter(|h| h.kind != "stopped") {
            h.confidence *= 0.5;
        }
    }
    for h in &mut hints {
        h.confidence = h.confidence.clamp(0.0, 1.0);
        h.lines.truncate(MAX_LINES_PER_HINT);
    }
    // Stable: among equals, the order of discovery (the exit first) stands.
    hints.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    hints.truncate(MAX_HINTS);
    hints
}

/// A short quote of a line for a sentence (the full line is in the evidence).
pub fn quote(s: &str, max_chars: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let cut: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// `3 times in the last 20 s`, `once`, `12 times within a second`.
pub fn times_phrase(count: usize, first_ms: Option<i64>, end_ms: Option<i64>) -> String {
    let times = match count {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    match (first_ms, end_ms) {
        (Some(f), Some(e)) if e >= f && count > 1 => {
            let s = (e - f) as f64 / 1000.0;
            if s < 1.0 {
                format!("{times} within a second")
            } else {
                format!("{times} in the last {s:.0} s")
            }
        }
        (Some(f), Some(e)) if e >= f && count == 1 && e - f >= 1000 => {
            format!("{times}, {:.0} s before the end", (e - f) as f64 / 1000.0)
        }
        _ => times,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_read_well() {
        assert_eq!(
            times_phrase(3, Some(0), Some(20_000)),
            "3 times in the last 20 s"
        );
        assert_eq!(
            times_phrase(1, Some(0), Some(5_000)),
            "once, 5 s before the end"
        );
        assert_eq!(times_phrase(2, Some(0), Some(500)), "twice within a second");
        assert_eq!(times_phrase(4, None, None), "4 times");
        assert_eq!(quote("  abcdef  ", 4), "abc…");
    }

    #[test]
    fn config_is_validated() {
        assert!(HintsConfig::default().validate().is_ok());
        let bad = HintsConfig {
            lines: 0,
            ..HintsConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn nothing_known_gives_no_hints() {
        assert!(analyze(&Evidence::default()).is_empty());
    }
}
