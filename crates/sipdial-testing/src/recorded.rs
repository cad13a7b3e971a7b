//! What the fake received, for tests to assert on.

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::AuthKind;

/// One request as the fake received it.
///
/// The fields hold everything, secrets included, because asserting on them is the
/// point; `Debug` leaves out the auth headers and the body (which carries the client
/// token and any SIP password), so a failing assertion does not print them.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The claims of the REST JWT, when it verified.
    pub auth_claims: Option<serde_json::Value>,
    /// Which credentials signed it, when it verified.
    pub auth_kind: Option<AuthKind>,
    /// The status answered; `None` while in flight or when the connection was dropped.
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// The body parsed as JSON (`None` if it is not JSON).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body parsed as a form, in order (`None` if it is not a form).
    pub fn form(&self) -> Option<Vec<(String, String)>> {
        serde_urlencoded::from_bytes(&self.body).ok()
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.keys().map(http::HeaderName::as_str).collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &header_names)
            .field("body_len", &self.body.len())
            .field("auth_kind", &self.auth_kind)
            .field("auth_claims", &self.auth_claims)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
