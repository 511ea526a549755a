//! The `Admin` extractor: handlers that take it only run with the right bearer token.

use super::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if header.is_none() {
            return Err(ApiError::Unauthorized(
                "this action needs the admin token: Authorization: Bearer <token>".into(),
            ));
        }
        if !st.admin.accepts(header) {
            return Err(ApiError::Unauthorized("the admin token is wrong".into()));
        }
        Ok(Admin)
    }
}
