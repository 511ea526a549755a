//! API errors: every failure answers with the right status and a JSON body
//! `{ "error": "...", "detail": "..." }`.

use crate::store::live::LookupError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound(String),
    #[error("bad request")]
    BadRequest(String),
    #[error("conflict")]
    Conflict(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
        }
    }

    fn detail(&self) -> &str {
        match self {
            ApiError::NotFound(d) | ApiError::BadRequest(d) | ApiError::Conflict(d) => d,
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NotFound(_) => ApiError::NotFound(e.to_string()),
            LookupError::Ambiguous(_) => ApiError::Conflict(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = app::wire::ApiError {
            error: self.to_string(),
            detail: self.detail().to_string(),
        };
        (self.status(), Json(body)).into_response()
    }
}

/// 404 for any unknown `/api/...` path.
pub async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route {}", uri.path()))
}
