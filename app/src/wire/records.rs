//! What the REST API lists and answers besides live data: incidents, one page of a list at a
//! time, and the error body of a failed call.

use super::{Reason, RiskLevel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Closed,
}

/// An incident: from a container turning CRITICAL or dying unexpectedly until it is calm again.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Incident {
    /// UUID v4.
    pub id: String,
    pub container_id: String,
    pub container_name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub host: String,
    pub engine_version: String,
    pub simulated: bool,
    pub state: IncidentState,
    pub opened_ms: i64,
    pub closed_ms: Option<i64>,
    /// What opened it, in words.
    pub trigger: String,
    pub close_reason: Option<String>,
    pub peak_probability: f64,
    pub peak_level: RiskLevel,
    /// The brain's reasons at the peak, highest weight first.
    pub reasons: Vec<Reason>,
    /// The container's CPU quota (% of one core) when the incident opened.
    pub cpu_quota_pct: Option<f64>,
    /// Interventions (performed or simulated) during the incident.
    pub interventions: u64,
    /// A restart was performed (not simulated) during the incident.
    pub forced_restart: bool,
}

/// One page of a list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub items: Vec<T>,
}

/// JSON error body of every failed API call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApiError {
    pub error: String,
    pub detail: String,
}
