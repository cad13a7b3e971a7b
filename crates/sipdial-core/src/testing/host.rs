//! The host app that layer and mounted forms wrap: it answers every path the API does
//! not serve with a recognisable marker, so the suite can tell that a foreign request
//! reached the host untouched (method, path and body) and that the host's answer came
//! back untouched (status, headers and body).

use http::{HeaderValue, Method, StatusCode};

/// The host's status: unusual on purpose, so a rewritten status shows.
pub const STATUS: StatusCode = StatusCode::NON_AUTHORITATIVE_INFORMATION;
/// A header only the host sets.
pub const HEADER: &str = "x-host-app";
/// The value of [`HEADER`].
pub const HEADER_VALUE: &str = "marker";

/// The host's body for a request: it repeats what the host saw.
pub fn body(method: &Method, path: &str, body_len: usize) -> String {
    format!("host app saw {method} {path} with {body_len} body bytes")
}

/// The host's whole answer, for hosts written against `http` 1.x (Tower, Axum).
pub fn response(method: &Method, path: &str, body_len: usize) -> http::Response<String> {
    let mut res = http::Response::new(body(method, path, body_len));
    *res.status_mut() = STATUS;
    res.headers_mut()
        .insert(HEADER, HeaderValue::from_static(HEADER_VALUE));
    res
}
