//! Incident lifecycle, pure: an incident opens when a container turns CRITICAL or dies
//! unexpectedly (OOM kill, non-zero exit that was not a requested stop), and closes once the
//! container has stayed LOW for a while (or is removed). Also counts entries into the critical
//! zone.

use crate::collect::LifecycleKind;
pub use crate::store::records::Trigger;
use crate::util::{ms, IdMap};
use app::wire::{Assessment, Reason, RiskLevel};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentConfig {
    /// An incident closes after the container has been LOW this long.
    #[serde(with = "humantime_serde")]
    pub close_after: Duration,
    /// How much history before the opening an incident keeps.
    #[serde(with = "humantime_serde")]
    pub pre_window: Duration,
    /// How a long incident's samples are thinned.
    pub samples: super::retention::Retention,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            close_after: Duration::from_secs(60),
            pre_window: Duration::from_secs(180),
            samples: super::retention::Retention::default(),
        }
    }
}

/// An incident as the tracker knows it while it is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub id: String,
    pub container_id: String,
    pub container_name: String,
    pub opened_ms: i64,
    pub trigger: Trigger,
    pub peak_probability: f64,
    pub peak_level: RiskLevel,
    /// The reasons at the peak.
    pub reasons: Vec<Reason>,
    low_since_ms: Option<i64>,
    /// Since when the container is not running (exited) or not there at all.
    stopped_since_ms: Option<i64>,
}

impl Open {
    /// Restores an open incident from the store (after a restart of DockerPulse).
    pub fn restore(i: app::wire::Incident, trigger: Trigger) -> Self {
        Self {
            id: i.id,
            container_id: i.container_id,
            container_name: i.container_name,
            opened_ms: i.opened_ms,
            trigger,
            peak_probability: i.peak_probability,
            peak_level: i.peak_level,
            reasons: i.reasons,
            low_since_ms: None,
            stopped_since_ms: None,
        }
    }
}

/// What changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Opened(Open),
    /// The peak got worse (new peak probability, level, reasons).
    Peaked(Open),
    Closed {
        id: String,
        closed_ms: i64,
        why: String,
    },
    /// The container entered the critical zone (counted whether or not an incident opened).
    EnteredCritical {
        container_id: String,
        container_name: String,
    },
}

#[derive(Debug, Default)]
pub struct Tracker {
    cfg: IncidentConfig,
    open: IdMap<Open>,
    last_level: IdMap<RiskLevel>,
    /// Died with a non-zero code; becomes an incident unless a stop event explains it.
    pending_death: IdMap<(i64, String, Option<i64>)>,
}

impl Tracker {
    pub fn new(cfg: IncidentConfig) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }

    pub fn config(&self) -> &IncidentConfig {
        &self.cfg
    }

    pub fn restore(&mut self, open: Open) {
        self.open.insert(open.container_id.clone(), open);
    }

    /// Entries in the tracker's per-container maps (open, last level, pending deaths).
    pub fn tracked(&self) -> usize {
        self.open.len() + self.last_level.len() + self.pending_death.len()
    }

    pub fn open_for(&self, container_id: &str) -> Option<&Open> {
        self.open.get(container_id)
    }

    /// One assessment of a container.
    pub fn observe(
        &mut self,
        container_id: &str,
        name: &str,
        a: &Assessment,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Change> {
        let mut out = self.flush_deaths(container_id, a.ts_ms, new_id);
        // Looked up before inserting, so a known container's id is not copied every tick.
        let prev = match self.last_level.get_mut(container_id) {
            Some(level) => std::mem::replace(level, a.level),
            None => {
                self.last_level.insert(container_id.to_string(), a.level);
                RiskLevel::Low
            }
        };
        if a.level == RiskLevel::Critical && prev != RiskLevel::Critical {
            out.push(Change::EnteredCritical {
                container_id: container_id.into(),
                container_name: name.into(),
            });
        }
        match self.open.get_mut(container_id) {
            Some(inc) => {
                if a.failure_probability > inc.peak_probability {
                    inc.peak_probability = a.failure_probability;
                    inc.peak_level = inc.peak_level.max(a.level);
                    inc.reasons = a.reasons.clone();
                    out.push(Change::Peaked(inc.clone()));
                }
                if a.level == RiskLevel::Low {
                    let since = *inc.low_since_ms.get_or_insert(a.ts_ms);
                    if a.ts_ms - since >= ms(self.cfg.close_after) {
                        let id = inc.id.clone();
                        self.open.remove(container_id);
                        out.push(Change::Closed {
                            id,
                            closed_ms: a.ts_ms,
                            why: format!("LOW for {} s", self.cfg.close_after.as_secs()),
                        });
                    }
                } else {
                    inc.low_since_ms = None;
                }
            }
            None if a.level == RiskLevel::Critical => {
                let inc = Open {
                    id: new_id(),
                    container_id: container_id.into(),
                    container_name: name.into(),
                    opened_ms: a.ts_ms,
                    trigger: Trigger::Critical {
                        probability: a.failure_probability,
                    },
                    peak_probability: a.failure_probability,
                    peak_level: a.level,
                    reasons: a.reasons.clone(),
                    low_since_ms: None,
                    stopped_since_ms: None,
                };
                self.open.insert(container_id.into(), inc.clone());
                out.push(Change::Opened(inc));
            }
            None => {}
        }
        out
    }

    /// Once per tick with the fleet as it is (`fleet(id)`: running or not, `None` when gone;
    /// a lookup, not a map built each tick): an incident whose container has
    /// stopped (an OOM kill without a restart policy) or is gone (removed, also while the engine
    /// was away) closes after `close_after`, since it will never be assessed LOW again.
    pub fn sweep(&mut self, now_ms: i64, fleet: impl Fn(&str) -> Option<bool>) -> Vec<Change> {
        self.last_level.retain(|id, _| fleet(id).is_some());
        self.pending_death.retain(|id, _| fleet(id).is_some());
        let close_after = ms(self.cfg.close_after);
        let mut out = Vec::new();
        self.open.retain(|id, inc| {
            let why = match fleet(id) {
                Some(true) => {
                    inc.stopped_since_ms = None;
                    return true;
                }
                Some(false) => "container stopped",
                None => "container gone",
            };
            let since = *inc.stopped_since_ms.get_or_insert(now_ms);
            if now_ms - since < close_after {
                return true;
            }
            out.push(Change::Closed {
                id: inc.id.clone(),
                closed_ms: now_ms,
                why: format!("{why} for {} s", close_after / 1000),
            });
            false
        });
        out
    }

    /// A lifecycle event of a container.
    pub fn on_event(
        &mut self,
        container_id: &str,
        name: &str,
        ts_ms: i64,
        kind: &LifecycleKind,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Change> {
        match kind {
            LifecycleKind::Oom => {
                self.open_or_escalate(container_id, name, ts_ms, Trigger::OomKilled, new_id)
            }
            LifecycleKind::Die { exit_code } if *exit_code != Some(0) => {
                self.pending_death
                    .insert(container_id.into(), (ts_ms, name.into(), *exit_code));
                Vec::new()
            }
            // `docker stop` / `docker restart` die with a signal's exit code; that is not a failure.
            LifecycleKind::Stop | LifecycleKind::Restart => {
                self.pending_death.remove(container_id);
                Vec::new()
            }
            LifecycleKind::Destroy => {
                self.pending_death.remove(container_id);
                self.last_level.remove(container_id);
                match self.open.remove(container_id) {
                    Some(inc) => vec![Change::Closed {
                        id: inc.id,
                        closed_ms: ts_ms,
                        why: "container removed".into(),
                    }],
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// Turns deaths that no stop event explained into incidents. Called on every tick.
    pub fn flush_deaths(
        &mut self,
        container_id: &str,
        now_ms: i64,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Change> {
        match self.pending_death.get(container_id) {
            // Give the engine's stop event a moment to arrive after the die event.
            Some((at, _, _)) if now_ms - at >= 500 => {}
            _ => return Vec::new(),
        }
        let Some((at, name, exit_code)) = self.pending_death.remove(container_id) else {
            return Vec::new();
        };
        self.open_or_escalate(container_id, &name, at, Trigger::Died { exit_code }, new_id)
    }

    /// Ids of containers with a death waiting to be judged.
    pub fn pending_deaths(&self) -> Vec<(String, String)> {
        self.pending_death
            .iter()
            .map(|(id, (_, name, _))| (id.clone(), name.clone()))
            .collect()
    }

    fn open_or_escalate(
        &mut self,
        container_id: &str,
        name: &str,
        ts_ms: i64,
        trigger: Trigger,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Change> {
        if let Some(inc) = self.open.get_mut(container_id) {
            // Already open: an OOM kill makes the worst case real.
            inc.peak_level = RiskLevel::Critical;
            inc.peak_probability = 100.0;
            inc.low_since_ms = None;
            inc.reasons.insert(
                0,
                Reason {
                    weight: 1.0,
                    text: trigger.describe(),
                },
            );
            return vec![Change::Peaked(inc.clone())];
        }
        let inc = Open {
            id: new_id(),
            container_id: container_id.into(),
            container_name: name.into(),
            opened_ms: ts_ms,
            reasons: vec![Reason {
                weight: 1.0,
                text: trigger.describe(),
            }],
            trigger,
            peak_probability: 100.0,
            peak_level: RiskLevel::Critical,
            low_since_ms: None,
            stopped_since_ms: None,
        };
        self.open.insert(container_id.into(), inc.clone());
        vec![Change::Opened(inc)]
    }
}

#[cfg(test)]
mod tests;
