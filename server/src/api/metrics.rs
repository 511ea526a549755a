//! `GET /metrics` (OpenMetrics, for Prometheus) and `GET /api/notify` (alert and webhook
//! deliveries). Both are reads: open like the other read endpoints.

use super::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub async fn metrics(State(st): State<AppState>) -> Result<Response, ApiError> {
    // Encoding reads the live store under its lock and may read SQLite (rarely): off the
    // async workers.
    let m = st.metrics.clone();
    let body = tokio::task::spawn_blocking(move || m.encode())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, crate::export::CONTENT_TYPE)], body).into_response())
}

pub async fn deliveries(State(st): State<AppState>) -> Json<app::wire::NotifyStatus> {
    Json(st.notify.status())
}
