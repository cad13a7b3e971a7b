//! `http` 0.2 (Actix) to `http` 1.x (core) and back, by value.
//!
//! Both versions share the same grammar for methods, URIs, header names and values, so
//! every conversion below succeeds for anything Actix accepted; the fallible paths exist
//! only so that a surprise becomes an answer instead of a panic.

use actix_web::body::BodyStream;
use actix_web::http::{StatusCode as ActixStatus, Version as ActixVersion};
use actix_web::{HttpRequest, HttpResponse};
use http::StatusCode;
use http_body_util::BodyDataStream;
use sipdial_core::ResponseBody;
use sipdial_core::api::{ApiError, ClientAddr, MountPath, Principal};

use crate::body::RequestBody;

/// The request head could not be expressed in `http` 1.x.
#[derive(Debug)]
pub(crate) struct UnreadableHead;

impl UnreadableHead {
    /// The core's own 400 for it.
    pub(crate) fn into_response(self) -> http::Response<ResponseBody> {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request head could not be read",
        )
        .into_response()
    }
}

/// The core's view of an Actix request served by a scope at `prefix`.
///
/// Inside parent scopes `req.uri()` is still the whole path; what our own scope left
/// unmatched (`match_info().unprocessed()`) is the route below the prefix. The core
/// gets `{prefix}{rest}` and, as a [`MountPath`], whatever the parent scopes matched in
/// front of it, so the URLs it emits lead back through them.
pub(crate) fn request(
    req: &HttpRequest,
    prefix: &str,
    body: RequestBody,
) -> Result<http::Request<RequestBody>, UnreadableHead> {
    let method =
        http::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|_| UnreadableHead)?;
    let (_, rest) = split_consumed(req);
    let path = match format!("{prefix}{rest}") {
        // The mount itself with an empty prefix: the API's root.
        root if root.is_empty() => "/".to_owned(),
        path => path,
    };
    // What the scopes consumed and `rest` split the raw path: together they are that
    // path, so it is handed over as is instead of joined again.
    let mount = MountPath::from_stripped(req.uri().path(), &path);
    let uri = match req.uri().query() {
        Some(query) => http::Uri::try_from(format!("{path}?{query}")),
        None => http::Uri::try_from(path),
    }
    .map_err(|_| UnreadableHead)?;
    let mut converted = http::Request::new(body);
    *converted.method_mut() = method;
    *converted.uri_mut() = uri;
    converted.extensions_mut().insert(mount);
    // The peer, for the per-client limits of anonymous requests, and the user a host's
    // middleware put in Actix's own extensions (they do not cross otherwise).
    if let Some(peer) = req.peer_addr() {
        converted.extensions_mut().insert(ClientAddr(peer));
    }
    if let Some(user) = actix_web::HttpMessage::extensions(req)
        .get::<Principal>()
        .cloned()
    {
        converted.extensions_mut().insert(user);
    }
    *converted.version_mut() = version(req.version());
    let headers = converted.headers_mut();
    headers.reserve(req.headers().len());
    for (name, value) in req.headers() {
        let name =
            http::HeaderName::from_bytes(name.as_str().as_bytes()).map_err(|_| UnreadableHead)?;
        let value = http::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| UnreadableHead)?;
        headers.append(name, value);
    }
    Ok(converted)
}

/// The raw request path split where the scopes stopped matching: what they consumed
/// (the host's mount and our prefix) and the rest.
///
/// Actix matches on a partly decoded copy of the path, so its `unprocessed()` part
/// cannot be cut from the raw path by length. Scopes consume whole segments, and the
/// decoding never produces a `/` (`%2F` stays encoded), so the split is made after the
/// same number of segments in the raw path, which keeps every byte the client sent.
fn split_consumed(req: &HttpRequest) -> (&str, &str) {
    let info = req.match_info();
    let decoded = info.as_str();
    let consumed = &decoded[..decoded.len() - info.unprocessed().len()];
    let segments = consumed.matches('/').count();
    let raw = req.uri().path();
    let at = raw
        .match_indices('/')
        .nth(segments)
        .map_or(raw.len(), |(i, _)| i);
    raw.split_at(at)
}

fn version(v: ActixVersion) -> http::Version {
    match v {
        ActixVersion::HTTP_09 => http::Version::HTTP_09,
        ActixVersion::HTTP_10 => http::Version::HTTP_10,
        ActixVersion::HTTP_2 => http::Version::HTTP_2,
        ActixVersion::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

/// The core's answer as an Actix response: buffered bodies go out with a
/// `Content-Length`, anything else is streamed.
pub(crate) fn response(res: http::Response<ResponseBody>) -> HttpResponse {
    let (parts, body) = res.into_parts();
    let status =
        ActixStatus::from_u16(parts.status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut out = match body.try_into_bytes() {
        Ok(bytes) => HttpResponse::build(status).body(bytes),
        Err(streaming) => {
            HttpResponse::build(status).body(BodyStream::new(BodyDataStream::new(streaming)))
        }
    };
    let headers = out.headers_mut();
    for (name, value) in &parts.headers {
        let name = actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = actix_web::http::header::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    out
}
