//! The hints task: off the live loop, fed by a channel. When an incident opens or a watched
//! container dies, it waits a moment for the related engine events (an OOM event comes before
//! the death, a stop event after it), gathers the evidence — the engine's facts and log, the
//! brain's recent samples — computes the hints and stores them with the incident.
//!
//! Senders never wait: a full channel drops the request with a warning rather than slow down
//! the pipeline.

use super::{analyze, Evidence, HintsConfig, MetricsSeen};
use crate::clock::now_ms;
use crate::collect::docker::logs::{logs_allowed, Facts, LogReader};
use crate::collect::{LifecycleEvent, LifecycleKind};
use crate::hints::metrics::Limits;
use crate::state::Shared;
use crate::store::db::Db;
use crate::store::live::LiveStore;
use app::wire::{Diagnosis, LogsRead};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long related events are awaited after the first one: an unexplained death becomes an
/// incident up to ~1.5 s after the `die` event (the tracker waits 0.5 s for a stop event, then
/// the next tick), and both are best read together.
const SETTLE: Duration = Duration::from_millis(2500);
/// At most one diagnosis per container this often (a crash loop dies every second or two).
const MIN_GAP: Duration = Duration::from_secs(10);
/// A created container is checked this long after: a start that fails sends no event.
const START_CHECK: Duration = Duration::from_secs(5);
/// The metrics summarised before the evidence.
const METRICS_WINDOW_MS: i64 = 120_000;

/// What prompted a diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// Created: look again later, in case its start fails.
    Created,
    Died(Option<i64>),
    Oom,
    /// `docker stop` or `docker restart`: the death was requested.
    Stopped,
    /// `docker rm`: a death just before it was the removal itself (and the logs are gone).
    Removed,
    IncidentOpened(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HintRequest {
    pub container_id: String,
    pub container_name: String,
    pub ts_ms: i64,
    pub what: What,
}

/// The sending side, handed to whoever sees incidents open and containers die.
#[derive(Clone, Debug)]
pub struct HintsTx(mpsc::Sender<HintRequest>);

impl HintsTx {
    pub fn channel() -> (Self, mpsc::Receiver<HintRequest>) {
        let (tx, rx) = mpsc::channel(256);
        (Self(tx), rx)
    }

    fn send(&self, r: HintRequest) {
        if let Err(e) = self.0.try_send(r) {
            tracing::warn!(error = %e, "hints request dropped");
        }
    }

    /// Forwards the engine events that matter for hints (deaths, OOM kills, stops).
    pub fn on_event(&self, ev: &LifecycleEvent) {
        let what = match ev.kind {
            LifecycleKind::Create => What::Created,
            LifecycleKind::Die { exit_code } => What::Died(exit_code),
            LifecycleKind::Oom => What::Oom,
            LifecycleKind::Stop | LifecycleKind::Restart => What::Stopped,
            LifecycleKind::Destroy => What::Removed,
            _ => return,
        };
        self.send(HintRequest {
            container_id: ev.id.clone(),
            container_name: ev.name.clone(),
            ts_ms: ev.ts_ms,
            what,
        });
    }

    pub fn incident_opened(&self, incident_id: &str, container_id: &str, name: &str, ts_ms: i64) {
        self.send(HintRequest {
            container_id: container_id.into(),
            container_name: name.into(),
            ts_ms,
            what: What::IncidentOpened(incident_id.into()),
        });
    }
}

/// Requests about one container gathered until it is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub name: String,
    /// Only a creation was seen: diagnose only if its start failed.
    pub created: bool,
    pub died: Option<Option<i64>>,
    pub died_ms: Option<i64>,
    pub oom: bool,
    pub stopped: bool,
    pub incidents: Vec<String>,
    pub due: Instant,
}

impl Pending {
    fn new(name: String, due: Instant) -> Self {
        Self {
            name,
            created: false,
            died: None,
            died_ms: None,
            oom: false,
            stopped: false,
            incidents: Vec::new(),
            due,
        }
    }

    /// Nothing but a creation was seen.
    pub fn only_created(&self) -> bool {
        self.created
            && self.died.is_none()
            && !self.oom
            && !self.stopped
            && self.incidents.is_empty()
    }

    /// Folds a request in.
    pub fn add(&mut self, r: &HintRequest) {
        match &r.what {
            What::Created => self.created = true,
            What::Died(code) => {
                self.died = Some(*code);
                self.died_ms = Some(r.ts_ms);
            }
            What::Oom => self.oom = true,
            What::Stopped => self.stopped = true,
            What::IncidentOpened(id) if !self.incidents.contains(id) => {
                self.incidents.push(id.clone())
            }
            What::IncidentOpened(_) | What::Removed => {}
        }
    }

    /// What prompted it, in words.
    pub fn trigger(&self, exit_code: Option<i64>) -> String {
        let code = exit_code.map_or(String::new(), |c| format!(" (exit code {c})"));
        let death = match (self.died.is_some(), self.stopped, self.oom) {
            (false, false, false) if self.created => format!("the container could not start{code}"),
            (_, _, true) => format!("the kernel OOM-killed a process{code}"),
            (true, true, _) => format!("the container was stopped{code}"),
            (true, false, _) => format!("the container died{code}"),
            (false, ..) => String::new(),
        };
        match (self.incidents.is_empty(), death.is_empty()) {
            (false, true) => "an incident opened".into(),
            (false, false) => format!("an incident opened: {death}"),
            (true, _) => death,
        }
    }
}

/// Where the evidence comes from.
pub struct Sources {
    pub live: Shared<LiveStore>,
    pub db: Db,
    /// The engine; `None` for the simulated fleet (it has no logs).
    pub endpoint: Option<String>,
    /// Diagnoses without an incident are kept this long.
    pub retention: Duration,
}

/// Runs until `shutdown` is cancelled or every sender is gone.
pub async fn run(
    cfg: HintsConfig,
    src: Sources,
    mut rx: mpsc::Receiver<HintRequest>,
    shutdown: CancellationToken,
) {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut last_run: HashMap<String, Instant> = HashMap::new();
    let mut reader: Option<LogReader> = None;
    loop {
        let next = pending.values().map(|p| p.due).min();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.recv() => {
                let Some(r) = r else { return };
                if !cfg.enabled {
                    continue;
                }
                if r.what == What::Removed {
                    // Removed on purpose (`docker rm -f` kills, then removes): nothing to
                    // diagnose unless an incident asked for it.
                    if pending.get(&r.container_id).is_some_and(|p| p.incidents.is_empty()) {
                        pending.remove(&r.container_id);
                    }
                    continue;
                }
                let earliest = last_run.get(&r.container_id).map(|t| *t + MIN_GAP);
                let wait = if r.what == What::Created { START_CHECK } else { SETTLE };
                let due = (Instant::now() + wait).max(earliest.unwrap_or_else(Instant::now));
                pending
                    .entry(r.container_id.clone())
                    .or_insert_with(|| Pending::new(r.container_name.clone(), due))
                    .add(&r);
            }
            _ = sleep_until(next) => {
                let now = Instant::now();
                let due: Vec<String> = pending.iter().filter(|(_, p)| p.due <= now).map(|(id, _)| id.clone()).collect();
                for id in due {
                    let Some(p) = pending.remove(&id) else { continue };
                    if reader.is_none() {
                        if let Some(ep) = &src.endpoint {
                            reader = LogReader::connect(ep).await.map_err(|e| tracing::warn!(error = %e, "hints: engine unreachable")).ok();
                        }
                    }
                    let Some(d) = diagnose(&cfg, &src, reader.as_ref(), &id, &p).await else {
                        continue;
                    };
                    last_run.insert(id.clone(), Instant::now());
                    if d.logs.skipped.as_deref().is_some_and(|s| s.starts_with("engine:")) {
                        reader = None;
                    }
                    store(&src, d, &p).await;
                }
                last_run.retain(|_, t| t.elapsed() < MIN_GAP);
            }
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Gathers the evidence of one container and turns it into a diagnosis; `None` for a created
/// container that started fine (or was never started).
async fn diagnose(
    cfg: &HintsConfig,
    src: &Sources,
    reader: Option<&LogReader>,
    id: &str,
    p: &Pending,
) -> Option<Diagnosis> {
    let now = now_ms();
    let end = p.died_ms.unwrap_or(now);
    let (info, samples, deaths) = {
        let live = src.live.read();
        match live.get(id) {
            Some(c) => (
                Some(c.info.clone()),
                c.since(end - METRICS_WINDOW_MS)
                    .filter(|h| h.sample.ts_ms <= end)
                    .map(|h| h.sample)
                    .collect::<Vec<_>>(),
                c.events
                    .iter()
                    .filter(|e| e.ts_ms >= end - METRICS_WINDOW_MS && e.ts_ms < end)
                    .filter(|e| matches!(e.kind, LifecycleKind::Die { .. }))
                    .count() as u64,
            ),
            None => (None, Vec::new(), 0),
        }
    };
    let simulated = src.live.read().source.is_simulated();
    let mut facts = Facts::default();
    let mut known = false;
    let mut logs = LogsRead::default();
    let mut lines = Vec::new();
    match reader {
        None if simulated => logs.skipped = Some("the simulated fleet has no logs".into()),
        None => logs.skipped = Some("engine: not connected".into()),
        Some(r) => match r.facts(id, cfg.line_bytes).await {
            Ok(Some(f)) => {
                facts = f;
                known = true;
            }
            Ok(None) => logs.skipped = Some("the container is gone".into()),
            Err(e) => logs.skipped = Some(format!("engine: {e}")),
        },
    }
    let failed_start = known && !facts.running && facts.exit_code.is_some_and(|c| c != 0);
    if p.only_created() && !(failed_start && facts.error.is_some()) {
        return None;
    }
    let labels = info.as_ref().map(|i| &i.labels).unwrap_or(&facts.labels);
    let allowed = logs_allowed(labels) && logs_allowed(&facts.labels);
    if !allowed {
        logs.skipped = Some("opted out (dockerpulse.logs=off)".into());
        facts.health.clear();
    }
    if let (Some(r), true, None) = (reader, allowed, &logs.skipped) {
        match r.read(id, cfg.bounds()).await {
            Ok(read) => {
                logs.lines = read.lines.len() as u64;
                logs.bytes = read.raw_bytes;
                logs.truncated = read.truncated;
                lines = read.lines;
            }
            Err(e) => logs.skipped = Some(format!("engine: {e}")),
        }
    }
    let died = p.died.is_some() || (known && !facts.running);
    let exit_code = p
        .died
        .flatten()
        .or(if died { facts.exit_code } else { None });
    let limits = Limits {
        cpu_quota_pct: info.as_ref().and_then(|i| i.cpu_quota_pct),
        mem_limited: info.as_ref().is_some_and(|i| i.mem_limited),
        pids_limit: facts.pids_limit,
    };
    let ev = Evidence {
        died,
        exit_code,
        oom_killed: facts.oom_killed && died,
        oom_event: p.oom,
        stopped: p.stopped,
        engine_error: facts.error.clone(),
        health: facts.health.clone(),
        lines,
        end_ms: Some(end),
        metrics: MetricsSeen::from_samples(&samples, limits, deaths),
    };
    Some(Diagnosis {
        id: 0,
        container_id: id.into(),
        container_name: info.map_or_else(|| p.name.clone(), |i| i.name.clone()),
        incident_id: None,
        ts_ms: now,
        trigger: p.trigger(exit_code),
        exit_code,
        simulated,
        logs,
        hints: analyze(&ev),
    })
}

/// Stores the diagnosis once per incident it belongs to (or once without one).
async fn store(src: &Sources, d: Diagnosis, p: &Pending) {
    tracing::info!(
        container = %d.container_name,
        top = %d.top().map_or("none", |h| h.kind.as_str()),
        "hints gathered"
    );
    let db = src.db.clone();
    let forget = now_ms() - crate::util::ms(src.retention);
    let incidents: Vec<Option<String>> = if p.incidents.is_empty() {
        vec![None]
    } else {
        p.incidents.iter().cloned().map(Some).collect()
    };
    let stored = tokio::task::spawn_blocking(move || {
        for incident_id in incidents {
            let d = Diagnosis {
                incident_id,
                ..d.clone()
            };
            db.insert_diagnosis(&d, forget)?;
        }
        Ok::<(), crate::store::db::StoreError>(())
    })
    .await;
    match stored {
        Ok(Ok(())) => src.live.write().incidents_rev += 1,
        Ok(Err(e)) => tracing::error!(error = %e, "could not store hints"),
        Err(e) => tracing::error!(error = %e, "hints store task failed"),
    }
}

#[cfg(test)]
mod tests;
