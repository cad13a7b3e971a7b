//! `GET /openapi.json`: the OpenAPI document, its server URL being where this client
//! reached the API, so a client generated from it works behind any mount.

use http::StatusCode;

use super::{Answer, Handlers};
use crate::http::json_response;
use crate::http::openapi::document_for;

impl Handlers<'_> {
    /// `GET /openapi.json`: public like any API description; it names no target,
    /// credential or session.
    pub(crate) async fn openapi(&self) -> Answer {
        json_response(StatusCode::OK, &document_for(&self.base()))
    }
}
