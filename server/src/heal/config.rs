//! The healing settings (`[heal]` in the config), with their defaults and validation.

use app::wire::{HealAction, HealMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HealConfig {
    /// `dry_run` (record and count, touch nothing) or `enforce` (act on opted-in containers).
    pub mode: HealMode,
    /// Failure probability (%) at which healing acts.
    pub threshold_pct: f64,
    /// Consecutive ticks at or above the threshold before acting.
    pub streak: u32,
    /// Minimum time between two actions on the same container.
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Wait before the 2nd consecutive restart; doubles with each further restart.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Calm time after which the restart backoff starts again from the beginning.
    #[serde(with = "humantime_serde")]
    pub backoff_reset: Duration,
    /// Interventions per container per hour, at most.
    pub max_per_hour: u32,
    /// Interventions across the fleet per minute, at most.
    pub fleet_max_per_minute: u32,
    /// Relapses after an enforced action that open the circuit breaker ("needs a human").
    pub breaker_failures: u32,
    /// A relapse this soon after an enforced action counts as the action having failed.
    #[serde(with = "humantime_serde")]
    pub breaker_window: Duration,
    /// After a restart, the container must be running (and healthy, when it has a health
    /// check) within this time, or the restart counts as not having held (towards the breaker).
    #[serde(with = "humantime_serde")]
    pub verify_within: Duration,
    /// How long an enforced action waits for its record to be committed; past it the action is
    /// refused ("store unavailable") and not carried out.
    #[serde(with = "humantime_serde")]
    pub record_deadline: Duration,
    /// Action recorded (simulated) in dry-run for containers that did not opt in.
    pub default_action: HealAction,
    /// Containers opted in by name, with their action (alternative to the label).
    pub containers: BTreeMap<String, HealAction>,
    /// Docker Swarm: at most this share of a service's tasks (those this DockerPulse watches)
    /// is acted on within `service_window`; at least one.
    pub service_max_share: f64,
    #[serde(with = "humantime_serde")]
    pub service_window: Duration,
}

impl Default for HealConfig {
    fn default() -> Self {
        Self {
            mode: HealMode::DryRun,
            threshold_pct: 85.0,
            streak: 3,
            cooldown: Duration::from_secs(30),
            backoff_initial: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            backoff_reset: Duration::from_secs(600),
            max_per_hour: 6,
            fleet_max_per_minute: 3,
            breaker_failures: 3,
            breaker_window: Duration::from_secs(300),
            verify_within: Duration::from_secs(30),
            record_deadline: Duration::from_secs(2),
            default_action: HealAction::Restart,
            containers: BTreeMap::new(),
            service_max_share: 0.5,
            service_window: Duration::from_secs(60),
        }
    }
}

impl HealConfig {
    /// Checks the settings the config file and `PUT /api/healing` can change.
    pub fn validate(&self) -> Result<(), String> {
        Self::check_threshold(self.threshold_pct)?;
        if self.streak == 0 {
            return Err("heal.streak must be at least 1".into());
        }
        if self.record_deadline.is_zero() || self.verify_within.is_zero() {
            return Err("heal.record_deadline and heal.verify_within must be above zero".into());
        }
        if self.max_per_hour == 0 || self.fleet_max_per_minute == 0 || self.breaker_failures == 0 {
            return Err(
                "heal.max_per_hour, fleet_max_per_minute and breaker_failures must be at least 1"
                    .into(),
            );
        }
        if !(self.service_max_share > 0.0 && self.service_max_share <= 1.0) {
            return Err("heal.service_max_share must be in (0, 1]".into());
        }
        Ok(())
    }

    pub fn check_threshold(t: f64) -> Result<(), String> {
        if t.is_finite() && t > 0.0 && t <= 100.0 {
            Ok(())
        } else {
            Err(format!("heal.threshold_pct must be in (0, 100], got {t}"))
        }
    }
}
