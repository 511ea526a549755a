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
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("conflict")]
    Conflict(String),
    #[error("unauthorized")]
    Unauthorized(String),
    #[error("forbidden")]
    Forbidden(String),
    #[error("the engine refused the action")]
    BadGateway(String),
    #[error("unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> &str {
        match self {
            ApiError::NotFound(d)
            | ApiError::BadRequest(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::Conflict(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::BadGateway(d)
            | ApiError::Unavailable(d)
            | ApiError::Internal(d) => d,
        }
    }
}

impl From<crate::store::db::StoreError> for ApiError {
    fn from(e: crate::store::db::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::pipeline::commands::CommandError> for ApiError {
    fn from(e: crate::pipeline::commands::CommandError) -> Self {
        use crate::pipeline::commands::CommandError as C;
        match e {
            C::NotFound(d) => ApiError::NotFound(d),
            C::Refused(d) => ApiError::Forbidden(d),
            C::Invalid(d) => ApiError::BadRequest(d),
        }
    }
}

impl From<crate::heal::ServiceRefusal> for ApiError {
    fn from(r: crate::heal::ServiceRefusal) -> Self {
        use crate::heal::executor::ServiceError as E;
        use crate::heal::ServiceRefusal as R;
        match r {
            R::Lookup(e @ E::NotFound(_)) => ApiError::NotFound(e.to_string()),
            R::Lookup(e @ E::NotManager(_)) => ApiError::Conflict(e.to_string()),
            R::Lookup(e @ E::Engine(_)) => ApiError::Unavailable(e.to_string()),
            R::NotOptedIn(why) => ApiError::Forbidden(why),
            R::Dropped => ApiError::Internal(r.to_string()),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            ApiError::UnsupportedMediaType(e.body_text())
        } else {
            ApiError::BadRequest(e.body_text())
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
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
        let mut res = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// 405 in JSON for a known path with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let body = app::wire::ApiError {
        error: "method not allowed".into(),
        detail: format!("{method} is not supported on {}", uri.path()),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// 404 for any unknown `/api/...` path.
pub async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route {}", uri.path()))
}
