//! A hub's nodes: `GET /api/nodes` (each node's health), and each node's incidents and
//! interventions as its agent last sent them (`GET /api/nodes/{node}/incidents`,
//! `…/interventions`, newest first), and `GET /api/swarm`. On a single host the lists are empty.

use super::error::ApiError;
use crate::state::AppState;
use app::wire::{Incident, Intervention, NodeStatus};
use axum::extract::{Path, State};
use axum::Json;

/// `GET /api/swarm`: the swarm as the hub's engine (a manager) describes it; `manager: false`
/// with the engine's reason when it is not one.
pub async fn swarm(State(st): State<AppState>) -> Json<app::wire::SwarmView> {
    Json(
        st.swarm
            .lock()
            .map(|v| v.clone())
            .unwrap_or_else(|p| p.into_inner().clone()),
    )
}

pub async fn list(State(st): State<AppState>) -> Json<Vec<NodeStatus>> {
    Json(st.live.read().nodes.statuses(crate::clock::now_ms()))
}

fn known(st: &AppState, node: &str) -> Result<(), ApiError> {
    let listed = st.live.read().nodes.contains(node);
    if listed || st.agents.records.lock().is_ok_and(|r| r.knows(node)) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "no node {node:?} has connected to this hub"
        )))
    }
}

/// Reads `node`'s mirrored records with `read`, after checking the node is known.
fn records<T>(
    st: &AppState,
    node: &str,
    read: impl FnOnce(&crate::cluster::records::Mirror, &str) -> Vec<T>,
) -> Result<Json<Vec<T>>, ApiError> {
    known(st, node)?;
    let r = st
        .agents
        .records
        .lock()
        .map_err(|_| ApiError::Internal("records".into()))?;
    Ok(Json(read(&r, node)))
}

pub async fn incidents(
    State(st): State<AppState>,
    Path(node): Path<String>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    records(&st, &node, crate::cluster::records::Mirror::incidents)
}

pub async fn interventions(
    State(st): State<AppState>,
    Path(node): Path<String>,
) -> Result<Json<Vec<Intervention>>, ApiError> {
    records(&st, &node, crate::cluster::records::Mirror::interventions)
}
