//! The live store: the current state of the fleet and a bounded, compressed ring of recent
//! history per container ([`super::history`]), in memory. Written by the pipeline once per tick;
//! read by the API and the hub.

use crate::collect::LifecycleEvent;
use crate::util::{IdMap, IdSet};
use app::wire::{
    Assessment, ContainerFrame, ContainerInfo, EngineStatus, Frame, HealView, HealingStatus,
    HostSample, Sample, SeriesHistory, SourceKind, StoreStatus, PROTOCOL_VERSION,
};
use std::collections::VecDeque;
use std::sync::Arc;

use super::history::History;
pub use super::history::HistoryPoint;

/// Lifecycle events kept per container for the detail view.
const EVENTS_KEPT: usize = 50;

/// Cumulative totals since DockerPulse started watching a container, integrated from the
/// per-tick rates (what `/metrics` exposes as counters: Prometheus takes rates of counters, not
/// of gauges, and counters survive a missed scrape).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub cpu_seconds: f64,
    pub net_rx_bytes: f64,
    pub net_tx_bytes: f64,
    pub fs_read_bytes: f64,
    pub fs_write_bytes: f64,
}

impl Totals {
    /// Adds what the rates of `s` imply over the time since `prev` (nothing for the first
    /// sample, nor for a sample that is not newer).
    pub fn add(&mut self, prev: Option<&Sample>, s: &Sample) {
        let Some(prev) = prev else { return };
        let dt = (s.ts_ms - prev.ts_ms) as f64 / 1000.0;
        if dt <= 0.0 {
            return;
        }
        // A non-finite or negative rate would break the counter's monotonicity.
        let rate = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
        self.cpu_seconds += rate(s.cpu_pct) / 100.0 * dt;
        self.net_rx_bytes += rate(s.net_rx_bps) * dt;
        self.net_tx_bytes += rate(s.net_tx_bps) * dt;
        self.fs_read_bytes += rate(s.blk_read_bps) * dt;
        self.fs_write_bytes += rate(s.blk_write_bps) * dt;
    }
}

/// What frames carry of a container's identity. Frames go to every viewer every second: only
/// our own labels are kept, and those that make it a Swarm task (healing and the cards need
/// them); a compose service carries a dozen more.
fn shown(i: &ContainerInfo) -> Arc<ContainerInfo> {
    Arc::new(ContainerInfo {
        id: i.id.clone(),
        name: i.name.clone(),
        image: i.image.clone(),
        labels: i
            .labels
            .iter()
            .filter(|(k, _)| {
                k.starts_with("dockerpulse.")
                    || *k == app::wire::SWARM_SERVICE_LABEL
                    || *k == app::wire::SWARM_TASK_LABEL
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        status: i.status,
        health: i.health,
        restart_count: i.restart_count,
        started_at_ms: i.started_at_ms,
        cpu_quota_pct: i.cpu_quota_pct,
        mem_limited: i.mem_limited,
        healthcheck_start_period_ms: i.healthcheck_start_period_ms,
        node: i.node.clone(),
    })
}

/// Everything known about one container.
#[derive(Debug, Clone)]
pub struct LiveContainer {
    /// As the collector knows it (every label), shared with it until it changes.
    pub info: Arc<ContainerInfo>,
    /// What frames carry of `info` (see [`shown`]), made again only when `info` changes.
    shown: Arc<ContainerInfo>,
    pub totals: Totals,
    pub sample: Option<Sample>,
    pub assessment: Option<Assessment>,
    pub history: History,
    pub events: VecDeque<LifecycleEvent>,
    pub heal: HealView,
}

impl LiveContainer {
    fn new(info: Arc<ContainerInfo>, capacity: usize) -> Self {
        Self {
            shown: shown(&info),
            info,
            totals: Totals::default(),
            sample: None,
            assessment: None,
            history: History::new(capacity),
            events: VecDeque::new(),
            heal: HealView::default(),
        }
    }

    /// The last `n` history points, oldest first.
    pub fn recent(&self, n: usize) -> impl Iterator<Item = HistoryPoint> + '_ {
        self.history.recent(n)
    }

    /// Points not older than `since_ms`, oldest first.
    pub fn since(&self, since_ms: i64) -> impl Iterator<Item = HistoryPoint> + '_ {
        self.history.since(since_ms)
    }

    fn frame(&self) -> ContainerFrame {
        ContainerFrame {
            info: self.shown.clone(),
            sample: self.sample,
            assessment: self.assessment.clone(),
            heal: self.heal.clone(),
        }
    }

    /// Takes `info` as the container's identity; a new one (not the allocation already held)
    /// is filtered for frames again.
    fn set_info(&mut self, info: Arc<ContainerInfo>) {
        if !Arc::ptr_eq(&self.info, &info) {
            self.shown = shown(&info);
            self.info = info;
        }
    }

    /// The last `n` points as the wire's column-oriented history.
    pub fn series(&self, n: usize) -> SeriesHistory {
        let mut s = SeriesHistory {
            id: self.info.id.clone(),
            ..SeriesHistory::default()
        };
        for p in self.recent(n) {
            s.ts_ms.push(p.sample.ts_ms);
            s.cpu_pct.push(p.sample.cpu_pct as f32);
            s.mem_bytes.push(p.sample.mem_bytes);
            s.mem_limit_bytes.push(p.sample.mem_limit_bytes);
            s.cpu_forecast.push(p.cpu_forecast.unwrap_or(0.0) as f32);
            s.cpu_lo95.push(p.cpu_lo95.unwrap_or(0.0) as f32);
            s.cpu_hi95.push(p.cpu_hi95.unwrap_or(0.0) as f32);
            s.failure_probability
                .push(p.failure_probability.unwrap_or(0.0) as f32);
        }
        s
    }
}

/// The sizes of the loop's per-container maps, published each tick so that a leak (state kept
/// for containers that are gone) is visible in `/api/health` and caught by the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bookkeeping {
    /// Containers in the live store (the reference: every other per-container map follows it).
    pub live: usize,
    pub brains: usize,
    pub pending_events: usize,
    pub died: usize,
    /// Healing guards of containers that are here.
    pub guards: usize,
    /// Guards of containers that are gone, held while they still matter (an open breaker, a
    /// cooldown that would still apply if the name came back).
    pub guards_held: usize,
    pub last_decisions: usize,
    pub awaiting: usize,
    /// Incident tracker entries (open incidents, last levels, pending deaths).
    pub tracker: usize,
    pub incident_windows: usize,
}

/// Why a container lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("no container matches {0:?}")]
    NotFound(String),
    #[error("{0:?} matches several containers; use more of the id")]
    Ambiguous(String),
}

/// The fleet as of the last tick.
#[derive(Debug)]
pub struct LiveStore {
    capacity: usize,
    pub source: SourceKind,
    pub engine: EngineStatus,
    pub host: Option<HostSample>,
    pub seq: u64,
    pub ts_ms: i64,
    pub healing: HealingStatus,
    /// Bumped whenever an incident or intervention is recorded.
    pub incidents_rev: u64,
    /// The durable store's state, as the writer reports it.
    pub store: StoreStatus,
    pub bookkeeping: Bookkeeping,
    /// Nodes whose agents stream to this DockerPulse (a hub); empty on a single host.
    pub nodes: super::nodes::Nodes,
    /// Boxed: an entry is ~1.8 KiB inline and a map keeps up to half its slots free.
    containers: IdMap<Box<LiveContainer>>,
}

impl LiveStore {
    /// `capacity`: history points kept per container.
    pub fn new(capacity: usize, source: SourceKind) -> Self {
        Self {
            capacity: capacity.max(1),
            source,
            engine: EngineStatus::default(),
            host: None,
            seq: 0,
            ts_ms: 0,
            healing: HealingStatus::default(),
            incidents_rev: 0,
            store: StoreStatus::default(),
            bookkeeping: Bookkeeping::default(),
            nodes: super::nodes::Nodes::default(),
            containers: IdMap::default(),
        }
    }

    /// Replaces this host's tracked set with `present` (by id): containers that are gone are
    /// dropped. Other nodes' containers are left to [`retain_node`](Self::retain_node).
    pub fn retain_present(&mut self, present: &IdSet) {
        self.containers
            .retain(|id, c| c.info.node.is_some() || present.contains(id.as_str()));
    }

    /// How many of this host's tracked containers are not in `present` (about to be dropped).
    pub fn absent(&self, present: &IdSet) -> usize {
        self.containers
            .iter()
            .filter(|(id, c)| c.info.node.is_none() && !present.contains(id.as_str()))
            .count()
    }

    /// Replaces `node`'s tracked set with `present`; returns how many were dropped.
    pub fn retain_node(&mut self, node: &str, present: &IdSet) -> usize {
        let before = self.containers.len();
        self.containers
            .retain(|id, c| c.info.node.as_deref() != Some(node) || present.contains(id.as_str()));
        before - self.containers.len()
    }

    /// The labels of the containers of other nodes (a hub's agents') not lost at `now_ms`: a
    /// lost node's containers keep their last state on the page, but Swarm is rescheduling its
    /// tasks elsewhere, so they no longer count as a service's replicas.
    pub fn remote_labels(
        &self,
        now_ms: i64,
    ) -> impl Iterator<Item = &std::collections::BTreeMap<String, String>> {
        self.containers
            .values()
            .filter(move |c| {
                c.info
                    .node
                    .as_deref()
                    .is_some_and(|n| !self.nodes.is_lost(n, now_ms))
            })
            .map(|c| &c.info.labels)
    }

    /// Records one container's reading and the brain's assessment of it.
    pub fn record(
        &mut self,
        info: impl Into<Arc<ContainerInfo>>,
        sample: Option<Sample>,
        a: Option<Assessment>,
    ) {
        let info = info.into();
        let key = Arc::clone(&info);
        match self.containers.get_mut(&key.id) {
            Some(c) => c.set_info(info),
            None => {
                let c = LiveContainer::new(info, self.capacity);
                self.containers.insert(key.id.clone(), Box::new(c));
            }
        }
        let Some(c) = self.containers.get_mut(&key.id) else {
            return;
        };
        if let Some(s) = &sample {
            let prev = c.history.last().map(|p| &p.sample);
            c.totals.add(prev, s);
        }
        c.sample = sample;
        if let Some(s) = sample {
            c.history.push(HistoryPoint::new(s, a.as_ref()));
        }
        c.assessment = a;
    }

    pub fn get(&self, id: &str) -> Option<&LiveContainer> {
        self.containers.get(id).map(|c| &**c)
    }

    pub fn set_heal(&mut self, id: &str, heal: HealView) {
        if let Some(c) = self.containers.get_mut(id) {
            c.heal = heal;
        }
    }

    pub fn push_event(&mut self, ev: LifecycleEvent) {
        if let Some(c) = self.containers.get_mut(&ev.id) {
            if c.events.len() == EVENTS_KEPT {
                c.events.pop_front();
            }
            c.events.push_back(ev);
        }
    }

    pub fn len(&self) -> usize {
        self.containers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    /// Containers ordered by name.
    pub fn containers(&self) -> Vec<&LiveContainer> {
        let mut v: Vec<&LiveContainer> = self.containers.values().map(|c| &**c).collect();
        v.sort_by(|a, b| {
            a.info
                .name
                .cmp(&b.info.name)
                .then(a.info.id.cmp(&b.info.id))
        });
        v
    }

    /// Finds a container by full id, name, or unambiguous id prefix (as the docker CLI does).
    pub fn find(&self, key: &str) -> Result<&LiveContainer, LookupError> {
        if let Some(c) = self.containers.get(key) {
            return Ok(c);
        }
        if key.is_empty() {
            return Err(LookupError::NotFound(String::new()));
        }
        let key_trim = key.trim_start_matches('/');
        if let Some(c) = self.containers.values().find(|c| c.info.name == key_trim) {
            return Ok(c);
        }
        let mut prefixed = self
            .containers
            .values()
            .filter(|c| c.info.id.starts_with(key));
        match (prefixed.next(), prefixed.next()) {
            (Some(c), None) if !key.is_empty() => Ok(c),
            (Some(_), Some(_)) => Err(LookupError::Ambiguous(key.into())),
            _ => Err(LookupError::NotFound(key.into())),
        }
    }

    /// The frame of the current tick.
    pub fn frame(&self) -> Frame {
        Frame {
            v: PROTOCOL_VERSION,
            seq: self.seq,
            ts_ms: self.ts_ms,
            source: self.source,
            engine: self.engine.clone(),
            host: self.host.clone(),
            containers: self
                .containers()
                .into_iter()
                .map(LiveContainer::frame)
                .collect(),
            healing: self.healing.clone(),
            incidents_rev: self.incidents_rev,
            store: self.store.clone(),
            nodes: self.nodes.statuses(self.ts_ms),
        }
    }
}

#[cfg(test)]
mod tests;
