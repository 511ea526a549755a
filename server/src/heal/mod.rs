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
mod records;
mod service_request;

pub use service_request::{ServiceRefusal, ServiceReply};

use crate::clock::now_ms;
use crate::store::db::{Counters, GuardRow};
use crate::store::writer::{Ack, Answer, Op, StoreWriter, Ticket};
use app::wire::{
    Assessment, ContainerInfo, ContainerStatus, HealAction, HealMode, HealView, HealingStatus,
    Intervention, Outcome,
};
use awaiting::{Awaiting, AwaitingSet};
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
    last_decision: HashMap<String, String>,
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
            last_decision: HashMap::new(),
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

    /// Decides on one assessed container; returns true when something was recorded.
    pub fn decide(
        &mut self,
        info: &ContainerInfo,
        a: &Assessment,
        incident: Option<&str>,
        store: &mut StoreWriter,
    ) -> bool {
        // One action at a time: until its record is committed (or refused) nothing else is
        // decided for this container.
        if self.awaiting.has(&info.name) {
            return false;
        }
        let situation = policy::Situation {
            ts_ms: a.ts_ms,
            failure_probability: a.failure_probability,
            level: a.level,
            warming_up: a.warming_up,
        };
        let before = self.policy.guard(&info.name).cloned();
        let verdict = {
            let subject = self.subject(info);
            self.policy.decide(&subject, &situation)
        };
        let mode = self.policy.mode_for(&self.subject(info));
        let rec = match records::from_verdict(verdict, info, a, incident, mode) {
            Some(rec) => rec,
            None => {
                // A guard may have changed without a record (calm resets the backoff).
                self.save_dirty(store, a.ts_ms);
                return false;
            }
        };
        self.record(rec, before, None, store);
        true
    }

    /// Hands a decision whose outcome is final to the notifier (pending ones wait for it).
    fn announce(&self, rec: &Intervention) {
        if let (Some(n), Some(ev)) = (&self.notify, crate::notify::intervention_event(rec)) {
            n.send(ev);
        }
    }

    /// The policy's changed guards, ready to store.
    fn dirty_rows(&mut self) -> Vec<GuardRow> {
        self.policy
            .take_dirty()
            .into_iter()
            .filter_map(|name| {
                let (state, breaker_open) = if name == FLEET_KEY {
                    (serde_json::to_string(self.policy.fleet()), false)
                } else {
                    let g = self.policy.guard(&name).cloned().unwrap_or_default();
                    (serde_json::to_string(&g), g.breaker_open)
                };
                match state {
                    Ok(state) => Some(GuardRow {
                        container_name: name,
                        breaker_open,
                        state,
                    }),
                    Err(e) => {
                        tracing::error!(error = %e, "guard could not be serialised");
                        None
                    }
                }
            })
            .collect()
    }

    fn save_dirty(&mut self, store: &mut StoreWriter, at_ms: i64) {
        let guards = self.dirty_rows();
        if !guards.is_empty() {
            store.send(Op::Guards { guards, at_ms });
        }
    }

    /// Stores a decision and counts it. Enforced actions wait for their record to be committed
    /// (see [`Healer::on_ack`]); so do manual ones, whose reply carries the stored id.
    fn record(
        &mut self,
        rec: Intervention,
        before: Option<Guard>,
        reply: Option<ManualReply>,
        store: &mut StoreWriter,
    ) {
        let guards = self.dirty_rows();
        tracing::info!(container = %rec.container_name, decision = %records::words(&rec), "healing decision");
        self.announce(&rec);
        self.last_decision
            .insert(rec.container_name.clone(), records::words(&rec));
        if rec.outcome.is_intervention() && !rec.manual {
            self.count(&rec.container_name, rec.decided_ms, 1);
        }
        let ticket = (rec.outcome == Outcome::Pending || reply.is_some()).then(|| {
            let deadline_ms = rec.decided_ms.max(now_ms())
                + crate::util::ms(self.policy.config().record_deadline);
            self.awaiting.add(Awaiting {
                rec: rec.clone(),
                before,
                reply,
                deadline_ms,
                refused: false,
            })
        });
        if let Some(t) = ticket {
            if rec.outcome == Outcome::Pending {
                self.last_decision.insert(
                    rec.container_name.clone(),
                    format!("{} — waiting for its record", records::words(&rec)),
                );
            }
            store.send(Op::Decision {
                rec,
                guards,
                ticket: Some(Ticket {
                    id: t.0,
                    deadline_ms: t.1,
                }),
            });
        } else {
            store.send(Op::Decision {
                rec,
                guards,
                ticket: None,
            });
        }
    }

    fn count(&mut self, name: &str, ts_ms: i64, delta: i64) {
        let n = self.counters.entry(name.to_string()).or_default();
        *n = n.saturating_add_signed(delta);
        if day(ts_ms) != self.today.0 {
            self.today = (day(ts_ms), 0);
        }
        self.today.1 = self.today.1.saturating_add_signed(delta);
    }

    /// The writer's answer to a decision that waited for its record.
    pub fn on_ack(&mut self, ack: Ack, store: &mut StoreWriter) {
        let Some(mut aw) = self.awaiting.take(ack.ticket) else {
            return;
        };
        match ack.answer {
            Answer::Recorded(id) if aw.refused => {
                // Committed, but after the loop gave up on it: it was not carried out.
                store.send(Op::Finish {
                    id,
                    started_ms: now_ms(),
                    finished_ms: now_ms(),
                    outcome: Outcome::Failed,
                    detail: Some(
                        "not carried out: its record was committed after the deadline".into(),
                    ),
                    guards: Vec::new(),
                });
            }
            Answer::Recorded(id) => {
                aw.rec.id = id;
                if aw.rec.outcome == Outcome::Pending {
                    if !aw.rec.manual {
                        self.acting.insert(id, aw.before);
                    }
                    self.execute(aw.rec, aw.reply);
                } else if let Some(reply) = aw.reply {
                    let _ = reply.send(aw.rec);
                }
            }
            Answer::Refused(error) if !aw.refused => self.refuse(aw, &error),
            Answer::Refused(_) => {}
        }
    }

    /// Gives up on decisions whose record did not come back committed well past the deadline
    /// (the writer is stuck on an earlier record): the action is not taken.
    pub fn expire_awaiting(&mut self, now: i64) {
        const GRACE_MS: i64 = 1_000;
        for ticket in self.awaiting.overdue(now - GRACE_MS) {
            if let Some(aw) = self.awaiting.mark_refused(ticket) {
                self.refuse(aw, "the store did not commit the record in time");
            }
        }
    }

    /// The action was refused for want of its record: roll the guards back and say so.
    fn refuse(&mut self, aw: Awaiting, error: &str) {
        let mut rec = aw.rec;
        if rec.outcome == Outcome::Pending {
            self.policy
                .rollback(&rec.container_name, aw.before, rec.decided_ms);
            if !rec.manual {
                self.count(&rec.container_name, rec.decided_ms, -1);
            }
            rec.reason = crate::store::writer::refusal_reason(rec.action, error);
            rec.outcome = Outcome::Blocked;
            rec.detail = Some(error.to_string());
        }
        tracing::error!(container = %rec.container_name, action = rec.action.as_str(), %error, "action refused: its record could not be committed");
        self.announce(&rec);
        self.last_decision
            .insert(rec.container_name.clone(), records::words(&rec));
        if let Some(reply) = aw.reply {
            let _ = reply.send(rec);
        }
    }

    /// An action asked for by a human through the API. Refused for containers that did not
    /// opt in; otherwise performed (in dry-run only recorded), bypassing the automatic guards
    /// but never the rule that an action waits for its record.
    pub fn manual(
        &mut self,
        info: &ContainerInfo,
        action: HealAction,
        reply: ManualReply,
        store: &mut StoreWriter,
    ) -> Result<(), Refusal> {
        if action == HealAction::Escalate {
            return Err(Refusal::NotAnAction);
        }
        let subject = self.subject(info);
        match self.policy.opt_in(&subject) {
            Err(why) => return Err(Refusal::NotOptedIn(why.to_string())),
            Ok(None) => {
                return Err(Refusal::NotOptedIn(format!(
                    "{} did not opt in to healing: add the label {}=restart|pause|isolate|throttle or name it under [heal.containers]",
                    info.name,
                    policy::HEAL_LABEL
                )))
            }
            Ok(Some(_)) => {}
        }
        let now = now_ms();
        if let Err(block) = self.policy.admit_manual(&subject, action, now) {
            return Err(Refusal::Swarm(block.describe()));
        }
        let mode = self.policy.mode_for(&subject);
        let rec = records::manual(info, action, mode, now);
        self.record(rec, None, Some(reply), store);
        Ok(())
    }

    pub fn set(&mut self, mode: Option<HealMode>, threshold_pct: Option<f64>) {
        self.policy.set(mode, threshold_pct);
    }

    /// Closes a container's circuit breaker after a human looked at it.
    pub fn reset_breaker(&mut self, name: &str, store: &mut StoreWriter) {
        self.policy.reset_breaker(name);
        self.save_dirty(store, now_ms());
    }

    /// Grants (and counts) an action another node's agent is about to take on one of
    /// `service`'s tasks, or says why not: see [`lease`].
    pub fn lease(&mut self, service: &str) -> Result<(), String> {
        self.policy
            .lease(service, now_ms())
            .map_err(|block| block.describe())
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
    pub fn retain(&mut self, present: &std::collections::HashSet<&str>) {
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
