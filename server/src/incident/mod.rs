//! The incident log: runs the (pure) tracker over assessments and engine events and hands what
//! it decides to the store's writer, with each incident's window of samples (bounded, see
//! [`retention`]). Nothing here waits on the database.

pub mod retention;
pub mod tracker;

use crate::collect::LifecycleEvent;
use crate::store::db::{Counters, NewIncident, StoredIncident};
use crate::store::live::{LiveContainer, LiveStore};
use crate::store::writer::{Op, StoreWriter};
use crate::util::IdMap;
use app::wire::{Assessment, ContainerInfo, ContainerStatus};
use retention::Window;
use std::collections::HashMap;
use tracker::{Change, IncidentConfig, Open, Tracker};

use crate::notify::config::EventKind;
use crate::notify::payload::EventFacts;
use crate::notify::{NotifyEvent, NotifyTx};

/// An open incident's facts as announcements say them.
fn facts(ctx: &Context, inc: &Open, kind: EventKind, at_ms: i64) -> EventFacts {
    EventFacts {
        kind,
        incident_id: inc.id.clone(),
        container_id: inc.container_id.clone(),
        container_name: inc.container_name.clone(),
        host: ctx.host.clone(),
        level: inc.peak_level.as_str().into(),
        failure_probability: inc.peak_probability,
        reasons: inc.reasons.iter().map(|r| r.text.clone()).collect(),
        hints: Vec::new(),
        trigger: inc.trigger.describe(),
        opened_ms: inc.opened_ms,
        closed_ms: None,
        why: None,
        simulated: ctx.simulated,
        at_ms,
        action: None,
    }
}

/// Facts about where DockerPulse runs, stamped on every incident.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub host: String,
    pub engine_version: String,
    pub simulated: bool,
}

/// The container name a change is about, when it says.
fn change_name(ch: &Change) -> Option<String> {
    match ch {
        Change::Opened(o) | Change::Peaked(o) => Some(o.container_name.clone()),
        Change::EnteredCritical { container_name, .. } => Some(container_name.clone()),
        Change::Closed { .. } => None,
    }
}

/// What the incident log resumes from at start (read before the loop runs).
#[derive(Debug, Default)]
pub struct Restored {
    pub open: Vec<StoredIncident>,
    pub counters: HashMap<String, Counters>,
    /// The sample timestamps stored for each open incident.
    pub sample_ts: HashMap<String, Vec<i64>>,
}

pub struct IncidentLog {
    tracker: Tracker,
    /// Times each container (by name) entered the critical zone; only those that ever did.
    critical_entries: IdMap<u64>,
    /// What the store holds of each open incident's samples (by incident id).
    windows: HashMap<String, Window>,
    /// Told of openings and deaths, to gather root-cause hints (see `hints::worker`).
    pub hints: Option<crate::hints::worker::HintsTx>,
    /// Told of openings, entries into the critical zone and closings, to announce them (see
    /// `notify`).
    pub notify: Option<NotifyTx>,
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl IncidentLog {
    /// Resumes from the store: open incidents, counters, stored sample windows.
    pub fn new(cfg: IncidentConfig, restored: Restored) -> Self {
        let mut tracker = Tracker::new(cfg);
        let mut windows = HashMap::new();
        let mut sample_ts = restored.sample_ts;
        for s in restored.open {
            let ts = sample_ts.remove(&s.incident.id).unwrap_or_default();
            windows.insert(s.incident.id.clone(), Window::new(s.incident.opened_ms, ts));
            tracker.restore(Open::restore(s.incident, s.trigger));
        }
        let critical_entries = restored
            .counters
            .into_iter()
            .filter(|(_, c)| c.critical_entries > 0)
            .map(|(n, c)| (n, c.critical_entries))
            .collect();
        Self {
            tracker,
            critical_entries,
            windows,
            hints: None,
            notify: None,
        }
    }

    pub fn open_incident(&self, container_id: &str) -> Option<&Open> {
        self.tracker.open_for(container_id)
    }

    /// Times a container entered the critical zone.
    pub fn critical_entries(&self, name: &str) -> u64 {
        self.critical_entries.get(name).copied().unwrap_or(0)
    }

    /// Entries in the log's per-container maps (for the bookkeeping checks).
    pub fn tracked(&self) -> (usize, usize) {
        (self.tracker.tracked(), self.windows.len())
    }

    /// Stores the newest history point of an open incident, thinning its window when due.
    fn keep_sample(&mut self, incident_id: &str, c: &LiveContainer, store: &mut StoreWriter) {
        let Some(p) = c.history.last() else { return };
        let Some(w) = self.windows.get_mut(incident_id) else {
            return;
        };
        w.push(p.sample.ts_ms);
        store.send(Op::Samples {
            incident_id: incident_id.to_string(),
            points: vec![*p],
        });
        if let Some(plan) = w.plan(&self.tracker.config().samples) {
            store.send(Op::Compact {
                incident_id: incident_id.to_string(),
                head_until_ms: plan.head_until_ms,
                tail_from_ms: plan.tail_from_ms,
                stride_ms: plan.stride_ms,
            });
        }
    }

    /// One assessed sample. `container` is the live state (its history includes this sample).
    /// Returns true when anything was recorded.
    pub fn observe(
        &mut self,
        ctx: &Context,
        container: &LiveContainer,
        a: &Assessment,
        store: &mut StoreWriter,
    ) -> bool {
        let info = &container.info;
        let changes = self.tracker.observe(&info.id, &info.name, a, &mut new_uuid);
        let changed = !changes.is_empty();
        let critical = changes
            .iter()
            .any(|c| matches!(c, Change::EnteredCritical { .. }));
        for ch in changes {
            self.apply(ctx, info, Some(container), ch, store);
        }
        // After the opening it may have caused, so the event names its incident.
        if let (true, Some(n), Some(inc)) =
            (critical, &self.notify, self.tracker.open_for(&info.id))
        {
            let mut f = facts(ctx, inc, EventKind::Critical, a.ts_ms);
            f.failure_probability = a.failure_probability;
            f.level = a.level.as_str().into();
            f.reasons = a.reasons.iter().map(|r| r.text.clone()).collect();
            n.send(NotifyEvent::Critical(f));
        }
        if let Some(inc) = self.tracker.open_for(&info.id) {
            let id = inc.id.clone();
            self.keep_sample(&id, container, store);
        }
        changed
    }

    /// An engine event; `container` is what the live store knows of it (if anything).
    pub fn on_event(
        &mut self,
        ctx: &Context,
        ev: &LifecycleEvent,
        container: Option<&LiveContainer>,
        store: &mut StoreWriter,
    ) -> bool {
        if let Some(h) = &self.hints {
            h.on_event(ev);
        }
        let changes = self
            .tracker
            .on_event(&ev.id, &ev.name, ev.ts_ms, &ev.kind, &mut new_uuid);
        let changed = !changes.is_empty();
        let info = container
            .map(|c| (*c.info).clone())
            .unwrap_or_else(|| ContainerInfo {
                id: ev.id.clone(),
                name: ev.name.clone(),
                ..ContainerInfo::default()
            });
        for ch in changes {
            self.apply(ctx, &info, container, ch, store);
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
        store: &mut StoreWriter,
    ) -> bool {
        let mut changed = false;
        for (id, _) in self.tracker.pending_deaths() {
            let changes = self.tracker.flush_deaths(&id, now_ms, &mut new_uuid);
            let container = live.get(&id);
            for ch in changes {
                changed = true;
                let info = match container {
                    Some(c) => (*c.info).clone(),
                    None => ContainerInfo {
                        id: id.clone(),
                        name: change_name(&ch).unwrap_or_default(),
                        ..ContainerInfo::default()
                    },
                };
                self.apply(ctx, &info, container, ch, store);
            }
        }
        let running = |id: &str| {
            live.get(id)
                .map(|c| c.info.status == ContainerStatus::Running)
        };
        for ch in self.tracker.sweep(now_ms, running) {
            changed = true;
            let info = ContainerInfo::default();
            self.apply(ctx, &info, None, ch, store);
        }
        changed
    }

    fn apply(
        &mut self,
        ctx: &Context,
        info: &ContainerInfo,
        container: Option<&LiveContainer>,
        ch: Change,
        store: &mut StoreWriter,
    ) {
        match ch {
            Change::Opened(inc) => {
                tracing::warn!(container = %inc.container_name, incident = %inc.id, trigger = %inc.trigger.describe(), "incident opened");
                store.send(Op::Incident(NewIncident {
                    id: inc.id.clone(),
                    container_id: inc.container_id.clone(),
                    container_name: inc.container_name.clone(),
                    image: info.image.clone(),
                    labels: info.labels.clone(),
                    host: ctx.host.clone(),
                    engine_version: ctx.engine_version.clone(),
                    simulated: ctx.simulated,
                    opened_ms: inc.opened_ms,
                    trigger: inc.trigger.clone(),
                    peak_probability: inc.peak_probability,
                    peak_level: inc.peak_level,
                    reasons: inc.reasons.clone(),
                    cpu_quota_pct: info.cpu_quota_pct,
                }));
                if let Some(n) = &self.notify {
                    n.send(NotifyEvent::Opened(facts(
                        ctx,
                        &inc,
                        EventKind::Opened,
                        inc.opened_ms,
                    )));
                }
                if let Some(h) = &self.hints {
                    h.incident_opened(
                        &inc.id,
                        &inc.container_id,
                        &inc.container_name,
                        inc.opened_ms,
                    );
                }
                // Keep the minutes before the opening too.
                let since = inc.opened_ms - crate::util::ms(self.tracker.config().pre_window);
                let points: Vec<_> = container
                    .map(|c| c.since(since).collect())
                    .unwrap_or_default();
                self.windows.insert(
                    inc.id.clone(),
                    Window::new(
                        inc.opened_ms,
                        points.iter().map(|p| p.sample.ts_ms).collect(),
                    ),
                );
                if !points.is_empty() {
                    store.send(Op::Samples {
                        incident_id: inc.id,
                        points,
                    });
                }
            }
            Change::Peaked(inc) => {
                if let Some(n) = &self.notify {
                    n.send(NotifyEvent::Peaked {
                        incident_id: inc.id.clone(),
                        probability: inc.peak_probability,
                        level: inc.peak_level.as_str().into(),
                        reasons: inc.reasons.iter().map(|r| r.text.clone()).collect(),
                    });
                }
                store.send(Op::Peak {
                    id: inc.id,
                    probability: inc.peak_probability,
                    level: inc.peak_level,
                    reasons: inc.reasons,
                })
            }
            Change::Closed { id, closed_ms, why } => {
                tracing::info!(incident = %id, %why, "incident closed");
                if let Some(n) = &self.notify {
                    n.send(NotifyEvent::Closed {
                        incident_id: id.clone(),
                        closed_ms,
                        why: why.clone(),
                    });
                }
                self.windows.remove(&id);
                store.send(Op::Close { id, closed_ms, why });
            }
            Change::EnteredCritical { container_name, .. } => {
                *self
                    .critical_entries
                    .entry(container_name.clone())
                    .or_default() += 1;
                store.send(Op::CriticalEntry {
                    name: container_name,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
