//! The core's error as an Actix response.

use actix_web::{HttpResponse, ResponseError};

use crate::convert;

sipdial_core::adapter_error_response! {
    /// The core [`ApiError`](sipdial_core::api::ApiError) as an Actix error, so a host
    /// handler that calls the dialer itself answers failures with the same status,
    /// headers and `{"error":{"code":"…","message":"…"}}` body as the API's own routes.
    ///
    /// A newtype because the orphan rule forbids implementing Actix's trait for the
    /// core's type here. `?` converts a [`DialError`](sipdial_core::DialError) or a core
    /// `ApiError` into it.
    pub struct ApiErrorResponse;
}

impl ResponseError for ApiErrorResponse {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.0.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        convert::response(self.0.clone().into_response())
    }
}
