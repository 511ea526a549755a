//! `GET /api/incidents/{id}/report.html` (a download), `/report.json` (the same facts) and
//! `GET /api/reports` (the files written so far).

use super::error::ApiError;
use crate::clock::now_ms;
use crate::report::facts::ReportFacts;
use crate::report::{ReportError, ReportFile};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::NotFound(id) => ApiError::NotFound(format!("no incident {id:?}")),
            other => {
                tracing::error!(error = %other, "report failed");
                ApiError::Internal(other.to_string())
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReportError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

pub async fn html(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let reporter = st.reporter.clone();
    let (html, name) = blocking(move || reporter.current(&id, now_ms())).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        html,
    )
        .into_response())
}

pub async fn json(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReportFacts>, ApiError> {
    let reporter = st.reporter.clone();
    Ok(Json(blocking(move || reporter.facts(&id, now_ms())).await?))
}

pub async fn list(State(st): State<AppState>) -> Result<Json<Vec<ReportFile>>, ApiError> {
    let reporter = st.reporter.clone();
    Ok(Json(blocking(move || reporter.list()).await?))
}
