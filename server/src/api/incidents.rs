//! `GET /api/incidents`, `/api/incidents/{id}` and `/api/interventions`.

use super::error::ApiError;
use crate::state::AppState;
use crate::store::db::{IncidentFilter, InterventionFilter};
use crate::store::live::HistoryPoint;
use app::wire::{Diagnosis, Incident, IncidentState, Intervention, Page};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

const MAX_LIMIT: u64 = 500;

fn limit(l: Option<u64>) -> Result<u64, ApiError> {
    match l.unwrap_or(50) {
        0 => Err(ApiError::BadRequest("limit must be at least 1".into())),
        n if n > MAX_LIMIT => Err(ApiError::BadRequest(format!(
            "limit must be at most {MAX_LIMIT}"
        ))),
        n => Ok(n),
    }
}

/// Runs a store query off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::db::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    pub container: Option<String>,
    pub state: Option<IncidentState>,
    /// Opened at or after (ms since the epoch).
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

pub async fn list(
    State(st): State<AppState>,
    q: Result<Query<IncidentQuery>, QueryRejection>,
) -> Result<Json<Page<Incident>>, ApiError> {
    let Query(q) = q?;
    let f = IncidentFilter {
        container: q.container,
        state: q.state,
        since_ms: q.since,
        until_ms: q.until,
        limit: limit(q.limit)?,
        offset: q.offset.unwrap_or(0),
    };
    let db = st.db.clone();
    Ok(Json(blocking(move || db.incidents(&f)).await?))
}

#[derive(Serialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub interventions: Vec<Intervention>,
    pub samples: Vec<HistoryPoint>,
    /// Root-cause hints gathered for it, newest first.
    pub diagnoses: Vec<Diagnosis>,
}

pub async fn detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let db = st.db.clone();
    let key = id.clone();
    let found = blocking(move || {
        let Some(inc) = db.incident(&key)? else {
            return Ok(None);
        };
        let interventions = db
            .interventions(&InterventionFilter {
                incident: Some(key.clone()),
                limit: 10_000,
                ..InterventionFilter::default()
            })?
            .items;
        let samples = db.samples(&key)?;
        let diagnoses = db.diagnoses_of(&key)?;
        Ok(Some(IncidentDetail {
            incident: inc.incident,
            interventions,
            samples,
            diagnoses,
        }))
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no incident {id:?}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterventionQuery {
    pub container: Option<String>,
    pub incident: Option<String>,
    pub since: Option<i64>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

pub async fn interventions(
    State(st): State<AppState>,
    q: Result<Query<InterventionQuery>, QueryRejection>,
) -> Result<Json<Page<Intervention>>, ApiError> {
    let Query(q) = q?;
    let f = InterventionFilter {
        container: q.container,
        incident: q.incident,
        since_ms: q.since,
        limit: limit(q.limit)?,
        offset: q.offset.unwrap_or(0),
    };
    let db = st.db.clone();
    Ok(Json(blocking(move || db.interventions(&f)).await?))
}
