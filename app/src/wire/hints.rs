//! Wire types of root-cause hints: why a container probably failed, in ranked sentences, each
//! with the log lines it rests on. Log text comes from the container and is hostile: the server
//! sends it bounded and stripped of control characters, and every view shows it as text only.

use serde::{Deserialize, Serialize};

/// Where a quoted line came from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    #[default]
    Stdout,
    Stderr,
    /// The output of a health-check run.
    Health,
    /// A message of the Docker engine about the container (`State.Error`).
    Engine,
}

impl LogStream {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
            LogStream::Health => "health",
            LogStream::Engine => "engine",
        }
    }
}

/// One quoted line of evidence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HintLine {
    /// When the container wrote it, when the engine said.
    pub ts_ms: Option<i64>,
    pub stream: LogStream,
    /// The line as read: valid UTF-8, no control characters, at most the configured length.
    pub text: String,
    /// The line was longer and was cut.
    #[serde(default)]
    pub truncated: bool,
}

/// One probable cause.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Hint {
    /// Stable machine name of the finding: `stopped`, `oom_killed`, `exception`,
    /// `connection_refused`, `command_not_found`, `rare_lines`, `memory_climb`, …
    pub kind: String,
    /// The finding in one sentence.
    pub sentence: String,
    /// How sure DockerPulse is that this explains the failure, 0–1.
    pub confidence: f64,
    /// The lines it rests on (a few, oldest first).
    #[serde(default)]
    pub lines: Vec<HintLine>,
}

impl Hint {
    /// `high` (≥ 0.8), `medium` (≥ 0.5) or `low`.
    pub fn confidence_word(&self) -> &'static str {
        if self.confidence >= 0.8 {
            "high"
        } else if self.confidence >= 0.5 {
            "medium"
        } else {
            "low"
        }
    }
}

/// How much of the container's log was read for a diagnosis.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct LogsRead {
    pub lines: u64,
    pub bytes: u64,
    /// Lines cut to the per-line cap, or older lines dropped to stay within the byte budget.
    pub truncated: bool,
    /// Why the log was not read, when it was not (opted out, simulated fleet, engine error).
    pub skipped: Option<String>,
}

/// Hints gathered about one container at one moment (an incident opening, a death).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Diagnosis {
    pub id: i64,
    pub container_id: String,
    pub container_name: String,
    /// The incident it belongs to, when one was open.
    pub incident_id: Option<String>,
    /// When the evidence was gathered.
    pub ts_ms: i64,
    /// What prompted it, in words ("the container died (exit code 1)").
    pub trigger: String,
    /// The exit code the evidence rests on, when the process ended.
    pub exit_code: Option<i64>,
    pub simulated: bool,
    pub logs: LogsRead,
    /// Most probable first.
    pub hints: Vec<Hint>,
}

impl Diagnosis {
    pub fn top(&self) -> Option<&Hint> {
        self.hints.first()
    }
}
