//! The loop: source messages in; assessments, incidents, healing decisions, the live store and
//! the hub's frames out. One task, one tick at a time, in stream order. It also owns the
//! healing state, so the API reaches it through [`commands::Command`]s.
//!
//! It never waits on the database: records go to the store's writer ([`StoreWriter`]), and
//! the writer's answers (a decision committed or refused) come back as messages.

pub mod assessor;
pub mod commands;
mod release;
mod remote;

use crate::collect::{LifecycleEvent, SourceMsg, Tick};
use crate::heal::{ExecReport, Healer};
use crate::hub::Hub;
use crate::incident::{Context, IncidentLog};
use crate::state::Shared;
use crate::store::live::{Bookkeeping, LiveStore};
use crate::store::writer::{Ack, Op, StoreWriter};
use crate::util::IdSet;
use app::wire::{Assessment, ContainerInfo, EngineState, Sample};
use assessor::Assessor;
use commands::{Command, CommandError};
use release::ReleaseClock;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One container's reading with the brain's verdict.
type Assessed = (
    std::sync::Arc<ContainerInfo>,
    Option<Sample>,
    Option<Assessment>,
);

/// The stages the loop drives, apart from the brain.
pub struct Responders {
    pub incidents: IncidentLog,
    pub healer: Healer,
    /// Receives the executor's reports (the sending side is the healer's).
    pub reports: mpsc::Receiver<ExecReport>,
    /// Where records go, and the writer's answers to decisions waiting for their record.
    pub store: StoreWriter,
    pub acks: mpsc::UnboundedReceiver<Ack>,
    /// Closed incidents and interventions older than this are pruned (hourly).
    pub retention_ms: i64,
}

/// How often old records are pruned.
const PRUNE_EVERY_MS: i64 = 3_600_000;
/// How often the store is asked to prove it can write.
const HEARTBEAT_EVERY_MS: i64 = 5_000;

pub struct Pipeline {
    live: Shared<LiveStore>,
    hub: Hub,
    assessor: Assessor,
    r: Responders,
    ctx: Context,
    last_prune_ms: i64,
    last_heartbeat_ms: i64,
    /// When memory freed by departed containers goes back to the system.
    release: ReleaseClock,
    /// Observes how long each tick takes (exposed at `/metrics`).
    tick_seconds: Option<prometheus_client::metrics::histogram::Histogram>,
}

impl Pipeline {
    pub fn new(live: Shared<LiveStore>, hub: Hub, assessor: Assessor, r: Responders) -> Self {
        let simulated = live.read().source.is_simulated();
        Self {
            live,
            hub,
            assessor,
            r,
            ctx: Context {
                simulated,
                ..Context::default()
            },
            last_prune_ms: 0,
            last_heartbeat_ms: 0,
            release: ReleaseClock::default(),
            tick_seconds: None,
        }
    }

    /// Records each tick's duration in `h`.
    pub fn with_tick_histogram(
        mut self,
        h: prometheus_client::metrics::histogram::Histogram,
    ) -> Self {
        self.tick_seconds = Some(h);
        self
    }

    /// Runs until the source closes its channel or `shutdown` is cancelled.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<SourceMsg>,
        mut commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = rx.recv() => match msg {
                    Some(msg) => self.handle(msg),
                    None => return,
                },
                Some(report) = self.r.reports.recv() => {
                    self.r.healer.on_report(report, &mut self.r.store);
                    self.live.write().incidents_rev += 1;
                }
                Some(ack) = self.r.acks.recv() => {
                    self.r.healer.on_ack(ack, &mut self.r.store);
                    self.live.write().incidents_rev += 1;
                }
                Some(cmd) = commands.recv() => self.command(cmd),
            }
        }
    }

    pub fn handle(&mut self, msg: SourceMsg) {
        match msg {
            SourceMsg::Engine(status) => {
                if status.state == EngineState::Connected || status.state == EngineState::Simulated
                {
                    self.ctx.engine_version = status.version.clone().unwrap_or_default();
                }
                self.live.write().engine = status;
            }
            SourceMsg::Event(ev) => self.on_event(ev),
            SourceMsg::Tick(tick) => self.on_tick(tick),
            SourceMsg::Remote(m) => remote::apply(&mut self.live.write(), m),
        }
    }

    fn on_event(&mut self, ev: LifecycleEvent) {
        tracing::info!(container = %ev.name, event = %ev.kind.label(), "container event");
        self.assessor.on_event(&ev);
        let changed = {
            let live = self.live.read();
            self.r
                .incidents
                .on_event(&self.ctx, &ev, live.get(&ev.id), &mut self.r.store)
        };
        let mut live = self.live.write();
        if changed {
            live.incidents_rev += 1;
        }
        live.push_event(ev);
    }

    fn on_tick(&mut self, tick: Tick) {
        let started = std::time::Instant::now();
        if let Some(h) = &tick.host {
            self.assessor.set_host_cpus(h.cpus);
            self.ctx.host.clone_from(&h.hostname);
        }
        let readings: Option<Vec<Assessed>> = tick.containers.map(|readings| {
            readings
                .into_iter()
                .map(|r| {
                    let a = r.sample.map(|s| self.assessor.assess(&r.info, &s));
                    (r.info, r.sample, a)
                })
                .collect()
        });
        let mut changed = false;
        self.r.healer.expire_awaiting(crate::clock::now_ms());
        self.upkeep(tick.ts_ms);
        let mut live = self.live.write();
        live.seq += 1;
        live.ts_ms = tick.ts_ms;
        if tick.host.is_some() {
            live.host = tick.host;
        }
        let fleet_known = readings.is_some();
        // Every node's tasks count towards a service's replicas: on a hub this guard is the one
        // that grants its agents' leases.
        let local = readings.iter().flatten().map(|(i, _, _)| &i.labels);
        self.r
            .healer
            .observe_services(local.chain(live.remote_labels(tick.ts_ms)));
        if let Some(readings) = readings {
            let present: IdSet = readings.iter().map(|(i, _, _)| i.id.as_str()).collect();
            self.release.departed(live.absent(&present), tick.ts_ms);
            self.assessor.retain(&present);
            live.retain_present(&present);
            let names: IdSet = readings.iter().map(|(i, _, _)| i.name.as_str()).collect();
            self.r.healer.retain(&names);
            for (info, sample, a) in readings {
                // The identity is shared: holding it costs a count, copying its id an allocation.
                let held = std::sync::Arc::clone(&info);
                let id = held.id.as_str();
                live.record(info, sample, a.clone());
                let Some(c) = live.get(id) else { continue };
                if let Some(a) = &a {
                    let store = &mut self.r.store;
                    changed |= self.r.incidents.observe(&self.ctx, c, a, store);
                    let incident = self.r.incidents.open_incident(id).map(|i| i.id.clone());
                    changed |= self.r.healer.decide(&c.info, a, incident.as_deref(), store);
                }
                let view = self.r.healer.view(
                    &c.info,
                    self.r.incidents.critical_entries(&c.info.name),
                    self.r.incidents.open_incident(id).map(|i| i.id.clone()),
                );
                live.set_heal(id, view);
            }
        }
        // Only with a known fleet: an unreachable engine is not a fleet that vanished.
        if fleet_known {
            changed |= self
                .r
                .incidents
                .tick(&self.ctx, tick.ts_ms, &live, &mut self.r.store);
        }
        live.healing = self.r.healer.status();
        self.r.store.flush();
        live.store = self.r.store.status();
        live.bookkeeping = self.bookkeeping(live.len());
        if changed {
            live.incidents_rev += 1;
        }
        let frame = live.frame();
        drop(live);
        self.hub.publish(frame);
        if let Some(h) = &self.tick_seconds {
            h.observe(started.elapsed().as_secs_f64());
        }
    }

    /// Prunes old records through the writer, hourly; checks the store can write, often.
    fn upkeep(&mut self, now_ms: i64) {
        if now_ms - self.last_heartbeat_ms >= HEARTBEAT_EVERY_MS {
            self.last_heartbeat_ms = now_ms;
            self.r.store.send(Op::Heartbeat { at_ms: now_ms });
        }
        if self.release.due(now_ms) {
            tokio::task::spawn_blocking(crate::util::release_freed_memory);
        }
        if now_ms - self.last_prune_ms >= PRUNE_EVERY_MS {
            self.last_prune_ms = now_ms;
            self.r.store.send(Op::Prune {
                before_ms: now_ms.saturating_sub(self.r.retention_ms),
            });
        }
    }

    /// The sizes of every per-container map the loop keeps, to check nothing is left behind.
    fn bookkeeping(&self, live: usize) -> Bookkeeping {
        let (brains, pending_events, died) = self.assessor.tracked();
        let ((guards, guards_held), last_decisions, awaiting) = self.r.healer.tracked();
        let (tracker, windows) = self.r.incidents.tracked();
        Bookkeeping {
            live,
            brains,
            pending_events,
            died,
            guards,
            guards_held,
            last_decisions,
            awaiting,
            tracker,
            incident_windows: windows,
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Manual {
                container,
                action,
                reply,
            } => {
                let info = match self.live.read().find(&container) {
                    Ok(c) => c.info.clone(),
                    Err(e) => {
                        let _ = reply.send(Err(CommandError::NotFound(e.to_string())));
                        return;
                    }
                };
                // On success the healer answers `reply` once the engine has.
                let (tx, rx) = tokio::sync::oneshot::channel();
                match self.r.healer.manual(&info, action, tx, &mut self.r.store) {
                    Ok(()) => {
                        self.live.write().incidents_rev += 1;
                        tokio::spawn(async move {
                            let answer = rx.await.map_err(|_| {
                                CommandError::Invalid("the action was dropped".into())
                            });
                            let _ = reply.send(answer);
                        });
                    }
                    Err(refusal) => {
                        let _ = reply.send(Err(CommandError::Refused(refusal.to_string())));
                    }
                }
            }
            // The healer answers once the manager, the store and (enforced) the engine have.
            Command::RestartService { service, reply } => {
                self.r.healer.restart_service(service, reply)
            }
            Command::SetHealing {
                mode,
                threshold_pct,
                reply,
            } => {
                self.r.healer.set(mode, threshold_pct);
                let status = self.r.healer.status();
                self.live.write().healing = status.clone();
                let _ = reply.send(Ok(status));
            }
            Command::ResetBreaker { container, reply } => {
                let name = match self.live.read().find(&container) {
                    Ok(c) => c.info.name.clone(),
                    Err(e) => {
                        let _ = reply.send(Err(CommandError::NotFound(e.to_string())));
                        return;
                    }
                };
                self.r.healer.reset_breaker(&name, &mut self.r.store);
                let _ = reply.send(Ok(()));
            }
            Command::Lease {
                node,
                service,
                container,
                reply,
            } => {
                let answer = self.r.healer.lease(&service);
                match &answer {
                    Ok(()) => {
                        tracing::info!(%node, %service, %container, "lease granted to an agent")
                    }
                    Err(why) => {
                        tracing::warn!(%node, %service, %container, %why, "lease refused to an agent")
                    }
                }
                let _ = reply.send(answer.map_err(CommandError::Refused));
            }
        }
    }
}
#[cfg(test)]
mod tests;
