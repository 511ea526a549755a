//! Actions (admin only): `POST /api/containers/{id}/{restart|pause|unpause|isolate|throttle}`,
//! `POST /api/containers/{id}/breaker/reset`, `POST /api/services/{service}/restart` (a
//! service-wide restart through Swarm), and `GET`/`PUT /api/healing`.

use super::admin::Admin;
use super::error::ApiError;
use crate::pipeline::commands::Command;
use crate::state::AppState;
use app::wire::{HealAction, HealMode, HealingStatus, Intervention, Outcome};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::oneshot;

/// Sends a command to the pipeline and waits for its answer.
async fn ask<T, E: Into<ApiError>>(
    st: &AppState,
    make: impl FnOnce(oneshot::Sender<Result<T, E>>) -> Command,
    timeout: Duration,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    st.commands
        .send(make(tx))
        .await
        .map_err(|_| ApiError::Unavailable("DockerPulse is shutting down".into()))?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(answer)) => answer.map_err(Into::into),
        Ok(Err(_)) => Err(ApiError::Internal(
            "the pipeline dropped the request".into(),
        )),
        Err(_) => Err(ApiError::Unavailable(
            "no answer in time; see /api/interventions".into(),
        )),
    }
}

pub async fn act(
    _admin: Admin,
    State(st): State<AppState>,
    Path((container, action)): Path<(String, String)>,
) -> Result<Json<Intervention>, ApiError> {
    let action = HealAction::parse(&action)
        .filter(|a| *a != HealAction::Escalate)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no action {action:?}: use restart, pause, unpause, isolate or throttle"
            ))
        })?;
    // Another node's container: its agent acts, under its own guard rails.
    let remote = st
        .live
        .read()
        .find(&container)
        .ok()
        .and_then(|c| c.info.node.clone().map(|n| (n, c.info.id.clone())));
    let done = match remote {
        Some((node, id)) => {
            let answer = st
                .agents
                .command(&node, id, action)
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            Result::<Intervention, _>::from(answer).map_err(ApiError::from)?
        }
        None => {
            ask(
                &st,
                |reply| Command::Manual {
                    container,
                    action,
                    reply,
                },
                Duration::from_secs(60),
            )
            .await?
        }
    };
    answered(done)
}

/// `POST /api/services/{service}/restart`: every task of the service replaced through Swarm
/// (`service update --force`), when the engine is a Swarm manager and the service opted in.
pub async fn restart_service(
    _admin: Admin,
    State(st): State<AppState>,
    Path(service): Path<String>,
) -> Result<Json<Intervention>, ApiError> {
    let done = ask(
        &st,
        |reply| Command::RestartService { service, reply },
        Duration::from_secs(60),
    )
    .await?;
    answered(done)
}

/// An action's record as the answer: 502 when the engine refused it, 503 when it could not be
/// recorded (and so was not carried out).
fn answered(done: Intervention) -> Result<Json<Intervention>, ApiError> {
    match done.outcome {
        Outcome::Failed => Err(ApiError::BadGateway(done.detail.unwrap_or_default())),
        // The store could not record it, so it was not carried out.
        Outcome::Blocked => Err(ApiError::Unavailable(done.reason)),
        _ => Ok(Json(done)),
    }
}

pub async fn reset_breaker(
    _admin: Admin,
    State(st): State<AppState>,
    Path(container): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    ask(
        &st,
        |reply| Command::ResetBreaker { container, reply },
        Duration::from_secs(5),
    )
    .await?;
    Ok(Json(serde_json::json!({ "breaker": "closed" })))
}

pub async fn get_healing(State(st): State<AppState>) -> Json<HealingStatus> {
    Json(st.live.read().healing.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealingUpdate {
    pub mode: Option<HealMode>,
    pub threshold_pct: Option<f64>,
}

pub async fn put_healing(
    _admin: Admin,
    State(st): State<AppState>,
    body: Result<Json<HealingUpdate>, JsonRejection>,
) -> Result<Json<HealingStatus>, ApiError> {
    let Json(u) = body?;
    if let Some(t) = u.threshold_pct {
        crate::heal::policy::HealConfig::check_threshold(t).map_err(ApiError::BadRequest)?;
    }
    if u.mode.is_none() && u.threshold_pct.is_none() {
        return Err(ApiError::BadRequest(
            "nothing to change: give mode (\"dry_run\" or \"enforce\") and/or threshold_pct".into(),
        ));
    }
    let status = ask(
        &st,
        |reply| Command::SetHealing {
            mode: u.mode,
            threshold_pct: u.threshold_pct,
            reply,
        },
        Duration::from_secs(5),
    )
    .await?;
    Ok(Json(status))
}
