//! Wire types of alert and webhook deliveries (`/api/health`, `/api/notify`, the incidents
//! page). Destination URLs never appear: Slack's and Teams' URLs are secrets, so only their
//! scheme and host are shown.

use serde::{Deserialize, Serialize};

/// How a destination is doing.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Nothing waiting; the last attempt (if any) was delivered.
    #[default]
    Ok,
    /// Deliveries wait for a retry after failed attempts.
    Retrying,
    /// It answered 410 Gone: nothing more is sent until its URL changes in the config.
    Disabled,
    /// It cannot be used as configured (e.g. the signing secret's variable is not set).
    Misconfigured,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Ok => "ok",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Disabled => "disabled",
            DeliveryState::Misconfigured => "misconfigured",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct DestinationStatus {
    pub name: String,
    /// `alertmanager`, `generic`, `slack` or `teams`.
    pub kind: String,
    /// Scheme and host only.
    pub target: String,
    pub state: DeliveryState,
    /// Deliveries waiting.
    pub pending: u64,
    pub delivered: u64,
    /// Failed attempts of the deliveries still waiting.
    pub failed_attempts: u64,
    /// Deliveries given up (still failing after `give_up_after`).
    pub expired: u64,
    /// Deliveries not sent because the destination is disabled.
    pub disabled: u64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_ms: Option<i64>,
    pub last_delivered_ms: Option<i64>,
    pub next_attempt_ms: Option<i64>,
    /// Why it is disabled or misconfigured.
    pub reason: Option<String>,
}

/// Every configured destination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct NotifyStatus {
    pub destinations: Vec<DestinationStatus>,
}

impl NotifyStatus {
    /// Destinations not delivering (retrying, disabled or misconfigured).
    pub fn troubled(&self) -> impl Iterator<Item = &DestinationStatus> {
        self.destinations
            .iter()
            .filter(|d| d.state != DeliveryState::Ok)
    }
}
