//! The brain's verdict on a container: forecasts, z-scores, the risk level and the reasons
//! behind it.

use serde::{Deserialize, Serialize};

/// A forecast of one metric `horizon_s` seconds ahead, with prediction intervals.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct Forecast {
    pub horizon_s: f64,
    pub value: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

/// Robust z-scores of the latest sample against the container's own baseline.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct ZScores {
    pub cpu: f64,
    pub mem: f64,
    pub net: f64,
    pub pids: f64,
}

#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    #[default]
    Low,
    Medium,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "LOW",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::Critical => "CRITICAL",
        }
    }

    /// A shape as well as a colour, so the level never depends on colour vision.
    pub fn icon(self) -> &'static str {
        match self {
            RiskLevel::Low => "●",
            RiskLevel::Medium => "▲",
            RiskLevel::Critical => "■",
        }
    }
}

/// One reason behind an assessment, in plain words, with its share of the risk.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Reason {
    /// Contribution to the failure probability, 0–1; reasons are ordered by it, highest first.
    pub weight: f64,
    pub text: String,
}

/// The brain's verdict on one container at one tick.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Assessment {
    pub ts_ms: i64,
    /// True while the baseline is still being learnt; no alarm is raised then.
    pub warming_up: bool,
    pub cpu: Forecast,
    pub mem: Forecast,
    /// Seconds until memory reaches its limit at the current trend; `None` when not trending up
    /// or when there is no limit.
    pub time_to_limit_s: Option<f64>,
    pub z: ZScores,
    /// Probability of failure within the horizon, 0–100 %.
    pub failure_probability: f64,
    pub level: RiskLevel,
    /// Ordered by weight, highest first.
    pub reasons: Vec<Reason>,
    /// The strongest anomaly among the metrics, 0–1 (how far the present exceeds anything
    /// recently seen; what the risk uses). 0 during warm-up.
    #[serde(default)]
    pub anomaly: f64,
}
