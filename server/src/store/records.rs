//! Facts the store keeps whose shape the store owns (so it never imports the layers that
//! produce them).

use serde::{Deserialize, Serialize};

/// What opened an incident.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    Critical { probability: f64 },
    OomKilled,
    Died { exit_code: Option<i64> },
}

impl Trigger {
    pub fn describe(&self) -> String {
        match self {
            Trigger::Critical { probability } => {
                format!("risk turned CRITICAL (failure probability {probability:.0} %)")
            }
            Trigger::OomKilled => "the kernel OOM-killed the container's process".into(),
            Trigger::Died { exit_code: Some(c) } => {
                format!("the container died unexpectedly (exit code {c})")
            }
            Trigger::Died { exit_code: None } => "the container died unexpectedly".into(),
        }
    }
}
