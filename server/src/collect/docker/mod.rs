//! The Docker engine source: discovers containers, follows the engine's event stream, samples
//! every tracked container each tick and survives the engine going away.
//!
//! One connection is a *session*: subscribe to events, list the running containers, then tick.
//! When the session fails (engine stopped, socket gone) the source reports the engine as
//! unreachable, keeps sending host-only ticks, and reconnects with exponential backoff.

mod engine_stats;
mod fleet;
pub mod inspect;
pub mod logs;

use super::cgroup::CgroupFs;
use super::host::HostProbe;
use super::{LifecycleEvent, LifecycleKind, Source, SourceMsg, Tick};
use crate::clock::now_ms;
use crate::collect::StatsMode;
use app::wire::{ContainerStatus, EngineState, EngineStatus, SourceKind};
use bollard::models::EventMessageTypeEnum;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use bollard::Docker;
use fleet::Fleet;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Settings of the engine source.
#[derive(Debug, Clone)]
pub struct DockerSourceConfig {
    pub endpoint: String,
    pub interval: Duration,
    pub stats: StatsMode,
    pub cgroup_root: PathBuf,
    pub proc_root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("the engine closed its event stream")]
    EventsEnded,
    #[error("timed out talking to the engine")]
    Timeout,
}

pub struct DockerSource {
    cfg: DockerSourceConfig,
    host: HostProbe,
}

impl DockerSource {
    pub fn new(cfg: DockerSourceConfig) -> Self {
        Self {
            cfg,
            host: HostProbe::new(),
        }
    }

    fn status(&self, state: EngineState) -> EngineStatus {
        EngineStatus {
            state,
            endpoint: self.cfg.endpoint.clone(),
            since_ms: now_ms(),
            ..EngineStatus::default()
        }
    }
}

/// Connects and negotiates the API version (the engine may be older than bollard's default).
pub async fn connect(endpoint: &str) -> Result<(Docker, String), EngineError> {
    let docker = Docker::connect_with_host(endpoint)?.with_timeout(Duration::from_secs(10));
    let docker = tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
        .await
        .map_err(|_| EngineError::Timeout)??;
    let version = tokio::time::timeout(Duration::from_secs(5), docker.version())
        .await
        .map_err(|_| EngineError::Timeout)??;
    Ok((docker, version.version.unwrap_or_else(|| "unknown".into())))
}

/// Whether an engine answers at `endpoint` within a couple of seconds.
pub async fn engine_answers(endpoint: &str) -> bool {
    connect(endpoint).await.is_ok()
}

/// Exponential backoff: 0.5 s doubling to a cap (2 s for the engine), reset after a successful
/// connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            next: min,
            min,
            max,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

impl Source for DockerSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Docker
    }

    async fn run(mut self, out: mpsc::Sender<SourceMsg>, shutdown: CancellationToken) {
        // Capped at 2 s: a connection attempt costs next to nothing, and an engine that comes
        // back must be watched again within seconds.
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(2));
        let cgroups = CgroupFs::detect(&self.cfg.cgroup_root, &self.cfg.proc_root);
        let _ = out
            .send(SourceMsg::Engine(self.status(EngineState::Connecting)))
            .await;
        let mut last_error: Option<String> = None;
        loop {
            let ended = match connect(&self.cfg.endpoint).await {
                Ok((docker, version)) => {
                    backoff.reset();
                    let api = docker.client_version().to_string();
                    tracing::info!(endpoint = %self.cfg.endpoint, %version, %api, "engine connected");
                    let mut fleet =
                        Fleet::new(cgroups.clone(), self.cfg.stats, self.host.total_memory());
                    let status = EngineStatus {
                        version: Some(version),
                        api_version: Some(api),
                        stats_via: Some(fleet.stats_via().into()),
                        ..self.status(EngineState::Connected)
                    };
                    if out.send(SourceMsg::Engine(status)).await.is_err() {
                        return;
                    }
                    last_error = None;
                    session(
                        &docker,
                        &mut fleet,
                        &mut self.host,
                        &self.cfg,
                        &out,
                        &shutdown,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            if shutdown.is_cancelled() || out.is_closed() {
                return;
            }
            let error = match ended {
                Ok(()) => return,
                Err(e) => e.to_string(),
            };
            if last_error.as_ref() != Some(&error) {
                tracing::warn!(endpoint = %self.cfg.endpoint, %error, "engine unreachable");
                let status = EngineStatus {
                    error: Some(error.clone()),
                    ..self.status(EngineState::Unreachable)
                };
                if out.send(SourceMsg::Engine(status)).await.is_err() {
                    return;
                }
                last_error = Some(error);
            }
            // Keep the host view alive while waiting to reconnect.
            let until = Instant::now() + backoff.next_delay();
            let mut ticker = tokio::time::interval(self.cfg.interval);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep_until(until) => break,
                    _ = ticker.tick() => {
                        let ts_ms = now_ms();
                        let tick = Tick { ts_ms, host: self.host.sample(ts_ms), containers: None };
                        if out.send(SourceMsg::Tick(tick)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// One connected session. Returns `Ok` on shutdown, `Err` when the engine is lost.
async fn session(
    docker: &Docker,
    fleet: &mut Fleet,
    host: &mut HostProbe,
    cfg: &DockerSourceConfig,
    out: &mpsc::Sender<SourceMsg>,
    shutdown: &CancellationToken,
) -> Result<(), EngineError> {
    // Subscribe from before the listing, so nothing that happens in between is missed.
    let since = (now_ms() / 1000 - 1).to_string();
    let filters = HashMap::from([("type", vec!["container"])]);
    let opts = EventsOptionsBuilder::new()
        .since(&since)
        .filters(&filters)
        .build();
    let mut events = docker.events(Some(opts));

    let list_opts = ListContainersOptionsBuilder::new().all(false).build();
    for c in docker.list_containers(Some(list_opts)).await? {
        if let Some(id) = c.id {
            track(docker, fleet, &id).await;
        }
    }

    let mut ticker = tokio::time::interval(cfg.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    if ev.typ != Some(EventMessageTypeEnum::CONTAINER) {
                        continue;
                    }
                    if let Some(msg) = on_event(docker, fleet, &ev).await {
                        if out.send(SourceMsg::Event(msg)).await.is_err() {
                            return Ok(());
                        }
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None => return Err(EngineError::EventsEnded),
            },
            _ = ticker.tick() => {
                let ts_ms = now_ms();
                let containers = fleet.sample(ts_ms).await;
                let tick = Tick { ts_ms, host: host.sample(ts_ms), containers: Some(containers) };
                if out.send(SourceMsg::Tick(tick)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// Inspects a container and (re)starts tracking it; a container gone meanwhile is dropped.
async fn track(docker: &Docker, fleet: &mut Fleet, id: &str) {
    match docker.inspect_container(id, None).await {
        Ok(i) => {
            let (info, pid) = inspect::info_from_inspect(&i);
            fleet.upsert(docker, info, pid);
        }
        Err(e) => {
            tracing::debug!(container = %id, error = %e, "inspect failed");
            fleet.remove(id);
        }
    }
}

/// Applies one container event to the fleet and turns it into a lifecycle event.
async fn on_event(
    docker: &Docker,
    fleet: &mut Fleet,
    ev: &bollard::models::EventMessage,
) -> Option<LifecycleEvent> {
    let (id, name, exit_code) = inspect::event_actor(ev)?;
    let kind = LifecycleKind::from_action(ev.action.as_deref()?, exit_code)?;
    match &kind {
        // Re-inspect: new pid and cgroup after a start, new limits after an update.
        LifecycleKind::Start | LifecycleKind::Unpause | LifecycleKind::Update => {
            track(docker, fleet, &id).await
        }
        LifecycleKind::Restart => {
            fleet.count_restart(&id);
            track(docker, fleet, &id).await;
        }
        LifecycleKind::Die { .. } => fleet.update(&id, |i| i.status = ContainerStatus::Exited),
        LifecycleKind::Pause => fleet.update(&id, |i| i.status = ContainerStatus::Paused),
        LifecycleKind::Destroy => fleet.remove(&id),
        LifecycleKind::Health(h) => fleet.update(&id, |i| i.health = Some(*h)),
        LifecycleKind::Create | LifecycleKind::Stop | LifecycleKind::Oom => {}
    }
    Some(LifecycleEvent {
        ts_ms: inspect::event_time_ms(ev).unwrap_or_else(now_ms),
        id,
        name,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        let seq: Vec<u64> = (0..7).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(seq, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }
}
