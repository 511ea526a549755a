//! The incident log: runs the (pure) tracker over assessments and engine events and writes what
//! it decides to the durable store, with each incident's window of samples.

pub mod tracker;

use crate::collect::LifecycleEvent;
use crate::store::db::{Db, NewIncident, StoreError};
use crate::store::live::{HistoryPoint, LiveContainer, LiveStore};
use app::wire::{Assessment, ContainerInfo, ContainerStatus};
use std::collections::{HashMap, HashSet};
use tracker::{Change, IncidentConfig, Open, Tracker};

/// Facts about where DockerPulse runs, stamped on every incident.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub host: String,
    pub engine_version: String,
    pub simulated: bool,
}

/// An incident that just closed (reports are written for these).
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedIncident {
    pub id: String,
}

/// The container name a change is about, when it says.
fn change_name(ch: &Change) -> Option<String> {
    match ch {
        Change::Opened(o) | Change::Peaked(o) => Some(o.container_name.clone()),
        Change::EnteredCritical { container_name, .. } => Some(container_name.clone()),
        Change::Closed { .. } => None,
    }
}

pub struct IncidentLog {
    tracker: Tracker,
    db: Db,
    /// Times each container (by name) entered the critical zone.
    critical_entries: HashMap<String, u64>,
    /// Told of openings and deaths, to gather root-cause hints (see `hints::worker`).
    pub hints: Option<crate::hints::worker::HintsTx>,
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl IncidentLog {
    /// Restores open incidents and counters from the store.
    pub fn new(cfg: IncidentConfig, db: Db) -> Result<Self, StoreError> {
        let mut tracker = Tracker::new(cfg);
        for s in db.open_incidents()? {
            tracker.restore(Open::restore(s.incident, s.trigger));
        }
        let critical_entries = HashMap::new();
        Ok(Self {
            tracker,
            db,
            critical_entries,
            hints: None,
        })
    }

    pub fn open_incident(&self, container_id: &str) -> Option<&Open> {
        self.tracker.open_for(container_id)
    }

    /// Times a container entered the critical zone (read from the store the first time).
    pub fn critical_entries(&mut self, name: &str) -> u64 {
        if let Some(n) = self.critical_entries.get(name) {
            return *n;
        }
        let n = self
            .db
            .counters_of(name)
            .map(|c| c.critical_entries)
            .unwrap_or(0);
        self.critical_entries.insert(name.to_string(), n);
        n
    }

    /// One assessed sample. `container` is the live state (its history includes this sample).
    /// Returns true when anything was recorded.
    pub fn observe(
        &mut self,
        ctx: &Context,
        container: &LiveContainer,
        a: &Assessment,
        closed: &mut Vec<ClosedIncident>,
    ) -> bool {
        let info = &container.info;
        let changes = self.tracker.observe(&info.id, &info.name, a, &mut new_uuid);
        let changed = !changes.is_empty();
        for ch in changes {
            self.apply(ctx, info, Some(container), ch, closed);
        }
        if let (Some(inc), Some(p)) = (self.tracker.open_for(&info.id), container.history.back()) {
            let id = inc.id.clone();
            log_err(
                self.db.add_samples(&id, std::iter::once(p)),
                "incident sample",
            );
        }
        changed
    }

    /// An engine event; `container` is what the live store knows of it (if anything).
    pub fn on_event(
        &mut self,
        ctx: &Context,
        ev: &LifecycleEvent,
        container: Option<&LiveContainer>,
        closed: &mut Vec<ClosedIncident>,
    ) -> bool {
        if let Some(h) = &self.hints {
            h.on_event(ev);
        }
        let changes = self
            .tracker
            .on_event(&ev.id, &ev.name, ev.ts_ms, &ev.kind, &mut new_uuid);
        let changed = !changes.is_empty();
        let info = container
            .map(|c| c.info.clone())
            .unwrap_or_else(|| ContainerInfo {
                id: ev.id.clone(),
                name: ev.name.clone(),
                ..ContainerInfo::default()
            });
        for ch in changes {
            self.apply(ctx, &info, container, ch, closed);
        }
        changed
    }

    /// Once per tick with a known fleet: deaths no stop explained become incidents, incidents of
    /// containers that stopped or vanished close, and state of vanished containers is dropped.
    pub fn tick(
        &mut self,
        ctx: &Context,
        now_ms: i64,
        live: &LiveStore,
        closed: &mut Vec<ClosedIncident>,
    ) -> bool {
        let mut changed = false;
        for (id, _) in self.tracker.pending_deaths() {
            let changes = self.tracker.flush_deaths(&id, now_ms, &mut new_uuid);
            let container = live.get(&id);
            for ch in changes {
                changed = true;
                let info = match container {
                    Some(c) => c.info.clone(),
                    None => ContainerInfo {
                        id: id.clone(),
                        name: change_name(&ch).unwrap_or_default(),
                        ..ContainerInfo::default()
                    },
                };
                self.apply(ctx, &info, container, ch, closed);
            }
        }
        let fleet: HashMap<String, bool> = live
            .containers()
            .into_iter()
            .map(|c| (c.info.id.clone(), c.info.status == ContainerStatus::Running))
            .collect();
        for ch in self.tracker.sweep(now_ms, &fleet) {
            changed = true;
            let info = ContainerInfo::default();
            self.apply(ctx, &info, None, ch, closed);
        }
        let names: HashSet<&str> = live
            .containers()
            .into_iter()
            .map(|c| c.info.name.as_str())
            .collect();
        self.critical_entries
            .retain(|n, _| names.contains(n.as_str()));
        changed
    }

    fn apply(
        &mut self,
        ctx: &Context,
        info: &ContainerInfo,
        container: Option<&LiveContainer>,
        ch: Change,
        closed: &mut Vec<ClosedIncident>,
    ) {
        match ch {
            Change::Opened(inc) => {
                tracing::warn!(container = %inc.container_name, incident = %inc.id, trigger = %inc.trigger.describe(), "incident opened");
                let res = self.db.insert_incident(&NewIncident {
                    id: &inc.id,
                    container_id: &inc.container_id,
                    container_name: &inc.container_name,
                    image: &info.image,
                    labels: &info.labels,
                    host: &ctx.host,
                    engine_version: &ctx.engine_version,
                    simulated: ctx.simulated,
                    opened_ms: inc.opened_ms,
                    trigger: &inc.trigger,
                    peak_probability: inc.peak_probability,
                    peak_level: inc.peak_level,
                    reasons: &inc.reasons,
                    cpu_quota_pct: info.cpu_quota_pct,
                });
                log_err(res, "incident");
                if let Some(h) = &self.hints {
                    h.incident_opened(
                        &inc.id,
                        &inc.container_id,
                        &inc.container_name,
                        inc.opened_ms,
                    );
                }
                // Keep the minutes before the opening too.
                if let Some(c) = container {
                    let since = inc.opened_ms - crate::util::ms(self.tracker.config().pre_window);
                    let window: Vec<&HistoryPoint> = c.since(since).collect();
                    log_err(self.db.add_samples(&inc.id, window), "incident window");
                }
            }
            Change::Peaked(inc) => log_err(
                self.db
                    .update_peak(&inc.id, inc.peak_probability, inc.peak_level, &inc.reasons),
                "incident peak",
            ),
            Change::Closed { id, closed_ms, why } => {
                tracing::info!(incident = %id, %why, "incident closed");
                log_err(
                    self.db.close_incident(&id, closed_ms, &why),
                    "incident close",
                );
                closed.push(ClosedIncident { id });
            }
            Change::EnteredCritical { container_name, .. } => {
                let before = self.critical_entries(&container_name);
                self.critical_entries
                    .insert(container_name.clone(), before + 1);
                log_err(self.db.bump_counters(&container_name, 0, 1), "counters");
            }
        }
    }
}

/// The store failing must not stop the live view: log and carry on.
pub fn log_err<T>(r: Result<T, StoreError>, what: &str) {
    if let Err(e) = r {
        tracing::error!(error = %e, "could not store {what}");
    }
}
