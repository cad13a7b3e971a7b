//! The core's error as an Actix response.

use actix_web::{HttpResponse, ResponseError};
use sipdial_core::DialError;
use sipdial_core::api::ApiError as CoreApiError;

use crate::convert;

/// The core [`ApiError`](sipdial_core::api::ApiError) as an Actix error, so a host
/// handler that calls the dialer itself answers failures with the same status, headers
/// and `{"error":{"code":"…","message":"…"}}` body as the API's own routes.
///
/// A newtype because the orphan rule forbids implementing Actix's trait for the core's
/// type here. `?` converts a [`DialError`] or a core `ApiError` into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub CoreApiError);

impl ResponseError for ApiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.0.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        convert::response(self.0.clone().into_response())
    }
}

impl From<CoreApiError> for ApiError {
    fn from(e: CoreApiError) -> Self {
        Self(e)
    }
}

impl From<DialError> for ApiError {
    fn from(e: DialError) -> Self {
        Self(CoreApiError::from(e))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
