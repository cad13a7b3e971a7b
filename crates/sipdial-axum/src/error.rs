//! The core's error as an Axum response.

use axum::response::{IntoResponse, Response};

sipdial_core::adapter_error_response! {
    /// The core [`ApiError`](sipdial_core::api::ApiError) as an Axum response, so a host
    /// handler that calls the dialer itself answers failures with the same status and
    /// `{"error":{"code":"…","message":"…"}}` body as the API's own routes.
    ///
    /// A newtype because the orphan rule forbids implementing Axum's trait for the
    /// core's type here. `?` converts a [`DialError`](sipdial_core::DialError) or a core
    /// `ApiError` into it.
    pub struct ApiErrorResponse;
}

impl IntoResponse for ApiErrorResponse {
    fn into_response(self) -> Response {
        self.0.into_response().map(axum::body::Body::new)
    }
}
