//! Healing: the policy's verdicts turned into recorded interventions, and enforced ones handed
//! to the executor — never before their record is committed. Dry-run is the default; every
//! decision is stored and counted per container.
//!
//! The path of an enforced action: the policy decides → the record goes to the store's writer
//! with a deadline → the writer commits it (`Recorded`) → the executor acts → its answer and,
//! for a restart, whether the container held are recorded. When the store cannot commit in
//! time the action is refused ("store unavailable"), the guards are rolled back and the refusal
//! itself is recorded once the store is back.

pub mod config;
pub mod executor;
pub mod guard;
pub mod lease;
pub mod policy;
pub mod self_id;
pub mod service;
pub mod swarm;
pub mod verify;

mod acting;
mod awaiting;
mod committing;
mod deciding;
mod records;
mod requests;
mod service_request;

pub use service_request::{ServiceRefusal, ServiceReply};

use crate::clock::now_ms;
use crate::store::db::{Counters, GuardRow};
use crate::util::IdMap;
use app::wire::{ContainerInfo, ContainerStatus, HealView, HealingStatus, Intervention};
use awaiting::AwaitingSet;
use executor::Executor;
use guard::{FleetGuard, Guard, FLEET_KEY};
use policy::{HealConfig, Policy, Subject};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// Where a manual action's record goes once the engine (or the store) has answered.
pub type ManualReply = oneshot::Sender<Intervention>;

/// What the executor's task reports back to the loop.
#[derive(Debug)]
pub enum ExecReport {
    /// The engine answered an action (or a pending one was reconciled at start).
    Done {
        intervention: Intervention,
        ok: bool,
        reply: Option<ManualReply>,
    },
    /// Whether a restart held (`None`: not judged, another action came first).
    Verified {
        id: i64,
        container_id: String,
        name: String,
        manual: bool,
        held: Option<bool>,
        text: String,
        at_ms: i64,
    },
    /// A service a human asked to restart, as the manager describes it (or why there is none).
    ServiceFound {
        target: Result<service::ServiceTarget, executor::ServiceError>,
        reply: ServiceReply,
    },
}

/// Why a manual action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    NotOptedIn(String),
    #[error("escalate is not an action on a container")]
    NotAnAction,
    /// A Swarm task: not that action, or not now (the service-wide cap).
    #[error("{0}")]
    Swarm(String),
}

/// What the healer restores at start (read from the store before the loop runs).
#[derive(Debug, Default)]
pub struct Restored {
    pub guards: Vec<GuardRow>,
    pub counters: HashMap<String, Counters>,
    /// Automatic interventions since midnight UTC.
    pub today: u64,
    /// Enforced actions whose outcome was never recorded.
    pub pending: Vec<Intervention>,
}

pub struct Healer {
    policy: Policy,
    executor: Executor,
    reports: mpsc::Sender<ExecReport>,
    /// Automatic interventions (performed or simulated) per container name.
    counters: HashMap<String, u64>,
    /// (UTC day number, interventions that day).
    today: (i64, u64),
    self_id: Option<String>,
    last_decision: IdMap<String>,
    awaiting: AwaitingSet,
    /// Restarts being verified, by container: (intervention id, stop watching).
    verifying: HashMap<String, (i64, tokio_util::sync::CancellationToken)>,
    /// Automatic actions being carried out, by record id: their container's guard before the
    /// decision, to roll back should the hub refuse the lease (no action, no count).
    acting: HashMap<i64, Option<Guard>>,
    /// Told of actions taken, refused and breakers opened, to announce them (see `notify`).
    pub notify: Option<crate::notify::NotifyTx>,
}

fn day(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(86_400_000)
}

impl Healer {
    /// A healer resuming from what the store holds: guards, counters and today's count.
    /// Pending actions are reconciled with the engine in the background.
    pub fn new(
        cfg: HealConfig,
        restored: Restored,
        executor: Executor,
        reports: mpsc::Sender<ExecReport>,
        self_id: Option<String>,
    ) -> Self {
        let mut policy = Policy::new(cfg);
        for row in &restored.guards {
            if row.container_name == FLEET_KEY {
                match serde_json::from_str::<FleetGuard>(&row.state) {
                    Ok(f) => policy.restore_fleet(f),
                    Err(e) => tracing::error!(error = %e, "stored fleet guard unreadable"),
                }
                continue;
            }
            let mut g = serde_json::from_str::<Guard>(&row.state).unwrap_or_else(|e| {
                tracing::error!(container = %row.container_name, error = %e, "stored guard unreadable: keeping only its breaker");
                Guard::default()
            });
            g.breaker_open |= row.breaker_open;
            policy.restore(&row.container_name, g);
        }
        let counters = restored
            .counters
            .iter()
            .filter(|(_, c)| c.interventions > 0)
            .map(|(n, c)| (n.clone(), c.interventions))
            .collect();
        let healer = Self {
            policy,
            executor,
            reports,
            counters,
            today: (day(now_ms()), restored.today),
            self_id,
            last_decision: IdMap::default(),
            awaiting: AwaitingSet::default(),
            verifying: HashMap::new(),
            acting: HashMap::new(),
            notify: None,
        };
        healer.reconcile(restored.pending);
        healer
    }

    fn subject<'a>(&self, info: &'a ContainerInfo) -> Subject<'a> {
        Subject {
            // Keyed by name: a container recreated under the same name keeps its history.
            id: &info.name,
            name: &info.name,
            labels: &info.labels,
            running: info.status == ContainerStatus::Running,
            is_self: self
                .self_id
                .as_deref()
                .is_some_and(|s| info.id.starts_with(s) || s.starts_with(&info.id)),
            started_at_ms: info.started_at_ms,
            start_period_ms: info.healthcheck_start_period_ms.unwrap_or(0),
            service: swarm::service_of(&info.labels),
        }
    }

    /// Counts each Swarm service's tasks among this tick's containers (their labels), for the
    /// service-wide cap.
    pub fn observe_services<'a>(
        &mut self,
        fleet: impl Iterator<Item = &'a std::collections::BTreeMap<String, String>>,
    ) {
        self.policy.observe_services(fleet);
    }

    /// Drops the state of containers that are gone (the store keeps their counters).
    pub fn retain(&mut self, present: &crate::util::IdSet) {
        self.last_decision
            .retain(|n, _| present.contains(n.as_str()));
        self.policy.retain(present);
    }

    /// Entries in the healer's per-container maps (for the bookkeeping checks).
    pub fn tracked(&self) -> ((usize, usize), usize, usize) {
        (
            self.policy.tracked(),
            self.last_decision.len(),
            self.awaiting.len() + self.verifying.len() + self.acting.len(),
        )
    }

    pub fn status(&self) -> HealingStatus {
        let cfg = self.policy.config();
        HealingStatus {
            mode: cfg.mode,
            threshold_pct: cfg.threshold_pct,
            streak: cfg.streak,
            interventions_today: if day(now_ms()) == self.today.0 {
                self.today.1
            } else {
                0
            },
        }
    }

    pub fn view(
        &self,
        info: &ContainerInfo,
        critical_entries: u64,
        open_incident: Option<String>,
    ) -> HealView {
        let subject = self.subject(info);
        let opt = self.policy.opt_in(&subject);
        HealView {
            mode: self.policy.mode_for(&subject),
            opted_in: opt.ok().flatten(),
            excluded: opt.is_err(),
            interventions: self.counters.get(&info.name).copied().unwrap_or(0),
            critical_entries,
            needs_human: self.policy.needs_human(&info.name),
            open_incident,
            last_decision: self.last_decision.get(&info.name).cloned(),
        }
    }
}

#[cfg(test)]
mod tests;
