//! The core's error as an Axum response.

use axum::response::{IntoResponse, Response};
use sipdial_core::DialError;
use sipdial_core::api::ApiError as CoreApiError;

/// The core [`ApiError`](sipdial_core::api::ApiError) as an Axum response, so a host
/// handler that calls the dialer itself answers failures with the same status and
/// `{"error":{"code":"…","message":"…"}}` body as the API's own routes.
///
/// A newtype because the orphan rule forbids implementing Axum's trait for the core's
/// type here. `?` converts a [`DialError`] or a core `ApiError` into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub CoreApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response().map(axum::body::Body::new)
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
