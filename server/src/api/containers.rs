//! `GET /api/health`, `/api/containers`, `/api/containers/{id}` and its history.

use super::error::ApiError;
use crate::collect::LifecycleEvent;
use crate::state::AppState;
use crate::store::live::{Bookkeeping, HistoryPoint, LiveContainer};
use app::wire::{
    Assessment, ContainerInfo, EngineStatus, HealView, HostSample, Sample, SourceKind, StoreState,
    StoreStatus,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub source: SourceKind,
    pub simulated: bool,
    pub engine: EngineStatus,
    /// The durable store: `ok`, or `failing` with the error (actions are refused meanwhile).
    pub store: StoreStatus,
    pub host: Option<HostSample>,
    pub containers: usize,
    /// Live viewers: connected, the caps, refusals and frames skipped by slow viewers.
    pub viewers: crate::viewers::ViewerCounters,
    pub uptime_s: f64,
    pub last_tick_ms: i64,
    /// Sizes of the per-container state the loop keeps (each follows `live`).
    pub bookkeeping: Bookkeeping,
    /// Alert and webhook destinations and how their deliveries are doing.
    pub notify: app::wire::NotifyStatus,
    /// As a hub: every node heard from (connected or lost). Empty on a single host.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<app::wire::NodeStatus>,
    /// As an agent: its link to the hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink: Option<crate::cluster::uplink::UplinkStatus>,
}

pub async fn health(State(st): State<AppState>) -> Json<Health> {
    let live = st.live.read();
    Json(Health {
        status: if live.store.state == StoreState::Ok {
            "ok"
        } else {
            "degraded"
        },
        version: env!("CARGO_PKG_VERSION"),
        source: live.source,
        simulated: live.source.is_simulated(),
        engine: live.engine.clone(),
        store: live.store.clone(),
        host: live.host.clone(),
        containers: live.len(),
        viewers: st.viewers.counters(),
        uptime_s: (crate::clock::now_ms() - st.started_ms) as f64 / 1000.0,
        last_tick_ms: live.ts_ms,
        bookkeeping: live.bookkeeping,
        notify: st.notify.status(),
        nodes: live.nodes.statuses(crate::clock::now_ms()),
        uplink: st
            .uplink
            .as_ref()
            .map(|u| u.lock().unwrap_or_else(|p| p.into_inner()).clone()),
    })
}

/// A container as the REST API shows it.
#[derive(Serialize)]
pub struct ContainerView {
    pub simulated: bool,
    pub info: ContainerInfo,
    pub sample: Option<Sample>,
    pub assessment: Option<Assessment>,
    pub heal: HealView,
}

#[derive(Serialize)]
pub struct EventView {
    pub ts_ms: i64,
    pub event: String,
}

#[derive(Serialize)]
pub struct ContainerDetail {
    #[serde(flatten)]
    pub view: ContainerView,
    pub events: Vec<EventView>,
}

fn view(c: &LiveContainer, source: SourceKind) -> ContainerView {
    ContainerView {
        simulated: source.is_simulated(),
        info: (*c.info).clone(),
        sample: c.sample,
        assessment: c.assessment.clone(),
        heal: c.heal.clone(),
    }
}

fn event_view(e: &LifecycleEvent) -> EventView {
    EventView {
        ts_ms: e.ts_ms,
        event: e.kind.label(),
    }
}

pub async fn list(State(st): State<AppState>) -> Json<Vec<ContainerView>> {
    let live = st.live.read();
    Json(
        live.containers()
            .into_iter()
            .map(|c| view(c, live.source))
            .collect(),
    )
}

pub async fn detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ContainerDetail>, ApiError> {
    let live = st.live.read();
    let c = live.find(&id)?;
    Ok(Json(ContainerDetail {
        view: view(c, live.source),
        events: c.events.iter().map(event_view).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub seconds: Option<u64>,
}

#[derive(Serialize)]
pub struct HistoryView {
    pub id: String,
    pub name: String,
    pub simulated: bool,
    pub seconds: u64,
    pub points: Vec<HistoryPoint>,
}

pub async fn history(
    State(st): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<HistoryView>, ApiError> {
    let Query(q) = query?;
    let max = st.cfg.history.as_secs();
    let seconds = q.seconds.unwrap_or(300);
    if seconds == 0 || seconds > max {
        return Err(ApiError::BadRequest(format!(
            "seconds must be between 1 and {max} (the history kept), got {seconds}"
        )));
    }
    let live = st.live.read();
    let c = live.find(&id)?;
    let since = live.ts_ms - i64::try_from(seconds).unwrap_or(i64::MAX / 2) * 1000;
    Ok(Json(HistoryView {
        id: c.info.id.clone(),
        name: c.info.name.clone(),
        simulated: live.source.is_simulated(),
        seconds,
        points: c.since(since).collect(),
    }))
}
