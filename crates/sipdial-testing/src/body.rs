//! Response bodies: whole, empty, or dribbled out slowly for the `SlowBody` fault.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, Empty, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;

/// The body type of every response the fake sends.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub(crate) fn empty() -> Body {
    Empty::new().boxed()
}

/// A response with `bytes` as an `application/json` body.
pub(crate) fn raw_json_response(
    status: StatusCode,
    bytes: impl Into<Bytes>,
) -> http::Response<Body> {
    let mut resp = http::Response::new(full(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> http::Response<Body> {
    raw_json_response(status, value.to_string())
}

pub(crate) fn empty_response(status: StatusCode) -> http::Response<Body> {
    let mut resp = http::Response::new(empty());
    *resp.status_mut() = status;
    resp
}

/// Re-sends `resp` with its body split in two halves, `pause` apart: the head and the
/// first half arrive at once, the rest only after the pause, which is what exercises a
/// client's whole-request timeout rather than its connect timeout.
pub(crate) async fn slow(resp: http::Response<Body>, pause: Duration) -> http::Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    if bytes.is_empty() {
        // Nothing to dribble (a 204): hold the whole response back instead.
        tokio::time::sleep(pause).await;
        return http::Response::from_parts(parts, empty());
    }
    let mid = bytes.len() / 2;
    let first = bytes.slice(..mid);
    let second = bytes.slice(mid..);
    // The length is known, so announce it: the client then waits for the rest instead
    // of treating the pause as the end of a chunked body.
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let first = first.clone();
        let second = second.clone();
        async move {
            match step {
                0 => Some((Ok::<_, Infallible>(Frame::data(first)), 1)),
                1 => {
                    tokio::time::sleep(pause).await;
                    Some((Ok(Frame::data(second)), 2))
                }
                _ => None,
            }
        }
    });
    http::Response::from_parts(parts, StreamBody::new(stream).boxed())
}
