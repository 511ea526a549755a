//! `GET /api/hints`: root-cause hints gathered when incidents opened or containers died,
//! newest first, by container (name, id or unique id prefix) or incident.

use super::error::ApiError;
use crate::state::AppState;
use crate::store::db::DiagnosisFilter;
use app::wire::{Diagnosis, Page};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

const MAX_LIMIT: u64 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintsQuery {
    pub container: Option<String>,
    pub incident: Option<String>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

pub async fn list(
    State(st): State<AppState>,
    q: Result<Query<HintsQuery>, QueryRejection>,
) -> Result<Json<Page<Diagnosis>>, ApiError> {
    let Query(q) = q?;
    let limit = match q.limit.unwrap_or(20) {
        n @ 1..=MAX_LIMIT => n,
        n => {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {n}"
            )))
        }
    };
    // A live container may be named by an id prefix; a gone one only by name or full id.
    let container = q.container.map(|c| match st.live.read().find(&c) {
        Ok(found) => found.info.id.clone(),
        Err(_) => c,
    });
    let f = DiagnosisFilter {
        container,
        incident: q.incident,
        limit,
        offset: q.offset.unwrap_or(0),
    };
    let db = st.db.clone();
    let page = tokio::task::spawn_blocking(move || db.diagnoses(&f))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(page))
}
