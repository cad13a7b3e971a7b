//! Response bodies: JSON, empty, or dribbled out slowly for the `SlowBody` fault.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream;
use http::{HeaderValue, StatusCode, header};

/// A response with `bytes` as an `application/json` body.
pub(crate) fn raw_json_response(status: StatusCode, bytes: impl Into<Bytes>) -> Response {
    let mut resp = Response::new(Body::from(bytes.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    raw_json_response(status, value.to_string())
}

pub(crate) fn empty_response(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// Re-sends `resp` with its body split in two halves, `pause` apart: the head and the
/// first half arrive at once, the rest only after the pause, which is what exercises a
/// client's whole-request timeout rather than its connect timeout.
pub(crate) async fn slow(resp: Response, pause: Duration) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if bytes.is_empty() {
        // Nothing to dribble (a 204): hold the whole response back instead.
        tokio::time::sleep(pause).await;
        return Response::from_parts(parts, Body::empty());
    }
    let mid = bytes.len() / 2;
    let first = bytes.slice(..mid);
    let second = bytes.slice(mid..);
    // The length is known, so announce it: the client then waits for the rest instead
    // of treating the pause as the end of a chunked body.
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let rest = async move {
        tokio::time::sleep(pause).await;
        second
    };
    let halves = stream::iter([first])
        .chain(stream::once(rest))
        .map(Ok::<_, Infallible>);
    Response::from_parts(parts, Body::from_stream(halves))
}
