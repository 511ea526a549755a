//! Healing: the policy's verdicts turned into recorded interventions, and enforced ones handed
//! to the executor. Dry-run is the default; every decision is stored and counted per container.

pub mod executor;
pub mod policy;
pub mod self_id;

use crate::collect::now_ms;
use crate::incident::log_err;
use crate::store::db::{Db, StoreError};
use app::wire::{
    Assessment, ContainerInfo, ContainerStatus, HealAction, HealMode, HealView, HealingStatus,
    Intervention, Outcome,
};
use executor::Executor;
use policy::{HealConfig, Policy, Subject, Verdict};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// What a manual action request gets back.
pub type ManualReply = crate::pipeline::commands::Reply<Intervention>;

/// The executor's report on one action.
#[derive(Debug)]
pub struct Done {
    pub intervention: Intervention,
    pub ok: bool,
    pub reply: Option<ManualReply>,
}

/// Why a manual action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    NotOptedIn(String),
    #[error("escalate is not an action on a container")]
    NotAnAction,
}

pub struct Healer {
    policy: Policy,
    db: Db,
    executor: Executor,
    done: mpsc::Sender<Done>,
    /// Automatic interventions (performed or simulated) per container name.
    counters: HashMap<String, u64>,
    /// (UTC day number, interventions that day).
    today: (i64, u64),
    self_id: Option<String>,
    last_decision: HashMap<String, String>,
}

fn day(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(86_400_000)
}

impl Healer {
    pub fn new(
        cfg: HealConfig,
        db: Db,
        executor: Executor,
        done: mpsc::Sender<Done>,
        self_id: Option<String>,
    ) -> Result<Self, StoreError> {
        let mut policy = Policy::new(cfg);
        for (name, c) in db.counters()? {
            if c.breaker_open {
                policy.restore_breaker(&name);
            }
        }
        let counters = HashMap::new();
        let now = now_ms();
        let today = (day(now), db.interventions_since(day(now) * 86_400_000)?);
        Ok(Self {
            policy,
            db,
            executor,
            done,
            counters,
            today,
            self_id,
            last_decision: HashMap::new(),
        })
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
        }
    }

    /// Decides on one assessed container; returns true when something was recorded.
    pub fn decide(&mut self, info: &ContainerInfo, a: &Assessment, incident: Option<&str>) -> bool {
        let situation = policy::Situation {
            ts_ms: a.ts_ms,
            failure_probability: a.failure_probability,
            level: a.level,
            warming_up: a.warming_up,
        };
        let verdict = {
            let subject = self.subject(info);
            self.policy.decide(&subject, &situation)
        };
        let mut rec = Intervention {
            id: 0,
            incident_id: incident.map(str::to_string),
            container_id: info.id.clone(),
            container_name: info.name.clone(),
            decided_ms: a.ts_ms,
            started_ms: None,
            finished_ms: None,
            action: HealAction::Restart,
            mode: self.policy.mode_for(&self.subject(info)),
            manual: false,
            outcome: Outcome::Blocked,
            reason: String::new(),
            detail: None,
            failure_probability: a.failure_probability,
        };
        match verdict {
            Verdict::Nothing => return false,
            Verdict::Act {
                action,
                mode,
                reason,
            } => {
                rec.action = action;
                rec.mode = mode;
                rec.reason = reason;
                rec.outcome = match mode {
                    HealMode::DryRun => Outcome::Simulated,
                    HealMode::Enforce => Outcome::Pending,
                };
            }
            Verdict::Blocked { action, block } => {
                rec.action = action;
                rec.reason = block.describe();
            }
            Verdict::Escalate { reason } => {
                rec.action = HealAction::Escalate;
                rec.outcome = Outcome::Escalated;
                rec.reason = reason;
                log_err(self.db.set_breaker(&info.name, true), "breaker");
            }
        }
        self.record(rec, None);
        true
    }

    /// Stores a decision, counts it, and sends enforced actions to the executor.
    fn record(&mut self, mut rec: Intervention, reply: Option<ManualReply>) {
        let id = match self.db.insert_intervention(&rec) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "could not store an intervention");
                -1
            }
        };
        rec.id = id;
        let word = match rec.outcome {
            Outcome::Simulated => {
                format!("would {} (dry-run): {}", rec.action.as_str(), rec.reason)
            }
            Outcome::Pending => format!("{}: {}", rec.action.as_str(), rec.reason),
            _ => rec.reason.clone(),
        };
        tracing::info!(container = %rec.container_name, decision = %word, "healing decision");
        self.last_decision.insert(rec.container_name.clone(), word);
        if rec.outcome.is_intervention() && !rec.manual {
            let before = self.interventions(&rec.container_name);
            self.counters.insert(rec.container_name.clone(), before + 1);
            if day(rec.decided_ms) != self.today.0 {
                self.today = (day(rec.decided_ms), 0);
            }
            self.today.1 += 1;
            log_err(self.db.bump_counters(&rec.container_name, 1, 0), "counters");
        }
        if rec.outcome == Outcome::Pending {
            let executor = self.executor.clone();
            let done = self.done.clone();
            tokio::spawn(async move {
                let started = now_ms();
                let result = executor.perform(&rec.container_id, rec.action).await;
                rec.started_ms = Some(started);
                rec.finished_ms = Some(now_ms());
                let ok = result.is_ok();
                rec.outcome = if ok {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed
                };
                rec.detail = Some(result.unwrap_or_else(|e| e.to_string()));
                let _ = done
                    .send(Done {
                        intervention: rec,
                        ok,
                        reply,
                    })
                    .await;
            });
        } else if let Some(reply) = reply {
            let _ = reply.send(Ok(rec));
        }
    }

    /// An action asked for by a human through the API. Refused for containers that did not
    /// opt in; otherwise performed (in dry-run only recorded), bypassing the automatic guards.
    pub fn manual(
        &mut self,
        info: &ContainerInfo,
        action: HealAction,
        reply: ManualReply,
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
        let mode = self.policy.mode_for(&subject);
        let rec = Intervention {
            id: 0,
            incident_id: None,
            container_id: info.id.clone(),
            container_name: info.name.clone(),
            decided_ms: now_ms(),
            started_ms: None,
            finished_ms: None,
            action,
            mode,
            manual: true,
            outcome: match mode {
                HealMode::DryRun => Outcome::Simulated,
                HealMode::Enforce => Outcome::Pending,
            },
            reason: "requested through the API".into(),
            detail: None,
            failure_probability: 0.0,
        };
        self.record(rec, Some(reply));
        Ok(())
    }

    /// The executor finished an action.
    pub fn on_done(&mut self, d: Done) {
        let i = &d.intervention;
        let res = self.db.finish_intervention(
            i.id,
            i.started_ms.unwrap_or_default(),
            i.finished_ms.unwrap_or_default(),
            i.outcome,
            i.detail.as_deref(),
        );
        log_err(res, "intervention outcome");
        tracing::info!(
            container = %i.container_name,
            action = i.action.as_str(),
            outcome = i.outcome.as_str(),
            detail = i.detail.as_deref().unwrap_or_default(),
            "healing action finished"
        );
        if !i.manual {
            self.policy.outcome(
                &i.container_name,
                i.mode,
                d.ok,
                i.finished_ms.unwrap_or(i.decided_ms),
            );
            if self.policy.needs_human(&i.container_name) {
                log_err(self.db.set_breaker(&i.container_name, true), "breaker");
            }
        }
        self.last_decision.insert(
            i.container_name.clone(),
            format!(
                "{} {}: {}",
                i.action.as_str(),
                i.outcome.as_str(),
                i.detail.as_deref().unwrap_or_default()
            ),
        );
        if let Some(reply) = d.reply {
            let _ = reply.send(Ok(d.intervention));
        }
    }

    pub fn set(&mut self, mode: Option<HealMode>, threshold_pct: Option<f64>) {
        self.policy.set(mode, threshold_pct);
    }

    /// Closes a container's circuit breaker after a human looked at it.
    pub fn reset_breaker(&mut self, name: &str) {
        self.policy.reset_breaker(name);
        log_err(self.db.set_breaker(name, false), "breaker");
    }

    /// Drops the state of containers that are gone (the store keeps their counters).
    pub fn retain(&mut self, present: &std::collections::HashSet<&str>) {
        self.last_decision
            .retain(|n, _| present.contains(n.as_str()));
        self.counters.retain(|n, _| present.contains(n.as_str()));
        self.policy.retain(present);
    }

    /// Automatic interventions of a container (read from the store the first time).
    fn interventions(&mut self, name: &str) -> u64 {
        if let Some(n) = self.counters.get(name) {
            return *n;
        }
        let n = self
            .db
            .counters_of(name)
            .map(|c| c.interventions)
            .unwrap_or(0);
        self.counters.insert(name.to_string(), n);
        n
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
        &mut self,
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
            interventions: self.interventions(&info.name),
            critical_entries,
            needs_human: self.policy.needs_human(&info.name),
            open_incident,
            last_decision: self.last_decision.get(&info.name).cloned(),
        }
    }
}
