//! The loop: source messages in; assessments, incidents, healing decisions, the live store and
//! the hub's frames out. One task, one tick at a time, in stream order. It also owns the
//! healing state, so the API reaches it through [`commands::Command`]s.

pub mod assessor;
pub mod commands;

use crate::collect::{LifecycleEvent, SourceMsg, Tick};
use crate::heal::{Done, Healer};
use crate::hub::Hub;
use crate::incident::{ClosedIncident, Context, IncidentLog};
use crate::state::Shared;
use crate::store::live::LiveStore;
use app::wire::{Assessment, ContainerInfo, EngineState, Sample, ServerMsg};
use assessor::Assessor;
use commands::{Command, CommandError};
use std::collections::HashSet;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One container's reading with the brain's verdict.
type Assessed = (ContainerInfo, Option<Sample>, Option<Assessment>);

/// The stages the loop drives, apart from the brain.
pub struct Responders {
    pub incidents: IncidentLog,
    pub healer: Healer,
    /// Receives the executor's reports (the sending side is the healer's).
    pub done: mpsc::Receiver<Done>,
    /// Closed incidents go here (for reports).
    pub closed: Option<mpsc::UnboundedSender<ClosedIncident>>,
}

pub struct Pipeline {
    live: Shared<LiveStore>,
    hub: Hub,
    assessor: Assessor,
    r: Responders,
    ctx: Context,
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
        }
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
                Some(done) = self.r.done.recv() => {
                    self.r.healer.on_done(done);
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
        }
    }

    fn on_event(&mut self, ev: LifecycleEvent) {
        tracing::info!(container = %ev.name, event = %ev.kind.label(), "container event");
        self.assessor.on_event(&ev);
        let mut closed = Vec::new();
        let changed = {
            let live = self.live.read();
            self.r
                .incidents
                .on_event(&self.ctx, &ev, live.get(&ev.id), &mut closed)
        };
        let mut live = self.live.write();
        if changed {
            live.incidents_rev += 1;
        }
        live.push_event(ev);
        drop(live);
        self.send_closed(closed);
    }

    fn on_tick(&mut self, tick: Tick) {
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
        let mut closed = Vec::new();
        let mut changed = false;
        let mut live = self.live.write();
        live.seq += 1;
        live.ts_ms = tick.ts_ms;
        if tick.host.is_some() {
            live.host = tick.host;
        }
        let fleet_known = readings.is_some();
        if let Some(readings) = readings {
            let present: HashSet<&str> = readings.iter().map(|(i, _, _)| i.id.as_str()).collect();
            self.assessor.retain(&present);
            live.retain_present(&present);
            let names: HashSet<&str> = readings.iter().map(|(i, _, _)| i.name.as_str()).collect();
            self.r.healer.retain(&names);
            for (info, sample, a) in readings {
                let id = info.id.clone();
                live.record(info, sample, a.clone());
                let Some(c) = live.get(&id) else { continue };
                if let Some(a) = &a {
                    changed |= self.r.incidents.observe(&self.ctx, c, a, &mut closed);
                    let incident = self.r.incidents.open_incident(&id).map(|i| i.id.clone());
                    changed |= self.r.healer.decide(&c.info, a, incident.as_deref());
                }
                let view = self.r.healer.view(
                    &c.info,
                    self.r.incidents.critical_entries(&c.info.name),
                    self.r.incidents.open_incident(&id).map(|i| i.id.clone()),
                );
                live.set_heal(&id, view);
            }
        }
        // Only with a known fleet: an unreachable engine is not a fleet that vanished.
        if fleet_known {
            changed |= self
                .r
                .incidents
                .tick(&self.ctx, tick.ts_ms, &live, &mut closed);
        }
        live.healing = self.r.healer.status();
        if changed {
            live.incidents_rev += 1;
        }
        let (seq, frame) = (live.seq, live.frame());
        drop(live);
        self.hub.publish(seq, &ServerMsg::Frame(frame));
        self.send_closed(closed);
    }

    fn send_closed(&self, closed: Vec<ClosedIncident>) {
        if let Some(tx) = &self.r.closed {
            for c in closed {
                let _ = tx.send(c);
            }
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
                match self.r.healer.manual(&info, action, tx) {
                    Ok(()) => {
                        self.live.write().incidents_rev += 1;
                        tokio::spawn(async move {
                            let answer = rx.await.unwrap_or_else(|_| {
                                Err(CommandError::Invalid("the action was dropped".into()))
                            });
                            let _ = reply.send(answer);
                        });
                    }
                    Err(refusal) => {
                        let _ = reply.send(Err(CommandError::Refused(refusal.to_string())));
                    }
                }
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
                self.r.healer.reset_breaker(&name);
                let _ = reply.send(Ok(()));
            }
        }
    }
}
