//! The framework-neutral request and response the suite speaks in.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// A request body as the client sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TestBody {
    /// No body.
    #[default]
    Empty,
    /// A body whose length is known up front (sent with `Content-Length`).
    Full(Bytes),
    /// A body sent in chunks without a declared length, like `Transfer-Encoding:
    /// chunked`: the server only learns it is too large while reading it.
    Chunked(Vec<Bytes>),
}

impl TestBody {
    /// The whole body, chunks joined.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            TestBody::Empty => Bytes::new(),
            TestBody::Full(b) => b.clone(),
            TestBody::Chunked(chunks) => {
                let mut all = BytesMut::new();
                for c in chunks {
                    all.extend_from_slice(c);
                }
                all.freeze()
            }
        }
    }

    /// The chunks in the order they are sent (one chunk for a full body).
    pub fn chunks(&self) -> Vec<Bytes> {
        match self {
            TestBody::Empty => Vec::new(),
            TestBody::Full(b) => vec![b.clone()],
            TestBody::Chunked(chunks) => chunks.clone(),
        }
    }

    /// Whether the body is sent without a declared length.
    pub fn is_chunked(&self) -> bool {
        matches!(self, TestBody::Chunked(_))
    }
}

/// One request of a case: method, path with query, headers and body.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// The method.
    pub method: Method,
    /// The path and query (`/sip/calls?sessionId=...`), as a browser sends it.
    pub uri: String,
    /// The headers; `Content-Length` or `Transfer-Encoding` match the body.
    pub headers: HeaderMap,
    /// The body.
    pub body: TestBody,
}

impl TestRequest {
    /// A request without headers or body.
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Self {
            method,
            uri: uri.into(),
            headers: HeaderMap::new(),
            body: TestBody::Empty,
        }
    }

    /// A `GET`.
    pub fn get(uri: impl Into<String>) -> Self {
        Self::new(Method::GET, uri)
    }

    /// A `POST` without a body.
    pub fn post(uri: impl Into<String>) -> Self {
        Self::new(Method::POST, uri)
    }

    /// A `DELETE`.
    pub fn delete(uri: impl Into<String>) -> Self {
        Self::new(Method::DELETE, uri)
    }

    /// Sets a header, replacing any previous value.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// A JSON body with `Content-Type: application/json` and a `Content-Length`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.content_type("application/json")
            .body(TestBody::Full(Bytes::from(value.to_string())))
    }

    /// Sets `Content-Type`.
    pub fn content_type(self, value: &'static str) -> Self {
        self.header(CONTENT_TYPE, HeaderValue::from_static(value))
    }

    /// Sets the body and the framing header that goes with it.
    pub fn body(mut self, body: TestBody) -> Self {
        self.headers.remove(CONTENT_LENGTH);
        self.headers.remove(TRANSFER_ENCODING);
        match &body {
            TestBody::Empty => {}
            TestBody::Full(b) => {
                self.headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(b.len()));
            }
            TestBody::Chunked(_) => {
                self.headers
                    .insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
            }
        }
        self.body = body;
        self
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    /// The request as an `http` 1.x request, for forms that take one directly (Tower,
    /// Axum). Chunked bodies arrive in separate frames with no size hint.
    ///
    /// # Panics
    /// When the case built an invalid URI: a bug of the suite, not of the form.
    pub fn into_http(self) -> http::Request<TestRequestBody> {
        let mut req = http::Request::new(TestRequestBody::new(self.body));
        *req.method_mut() = self.method;
        *req.uri_mut() = self
            .uri
            .parse()
            .unwrap_or_else(|e| panic!("suite built an invalid URI {:?}: {e}", self.uri));
        *req.headers_mut() = self.headers;
        req
    }
}

/// The [`http_body::Body`] of [`TestRequest::into_http`].
#[derive(Debug)]
pub struct TestRequestBody {
    chunks: VecDeque<Bytes>,
    exact_len: Option<u64>,
}

impl TestRequestBody {
    /// A body that yields `body` as the client would send it.
    pub fn new(body: TestBody) -> Self {
        let exact_len = (!body.is_chunked()).then(|| body.to_bytes().len() as u64);
        Self {
            chunks: body
                .chunks()
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect(),
            exact_len,
        }
    }
}

impl http_body::Body for TestRequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .chunks
                .pop_front()
                .map(|c| Ok(Frame::data(c))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// What the form answered.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestResponse {
    /// Collects an `http` 1.x response. A body that fails mid-way is recorded as a
    /// `599` status so that the case reports it instead of aborting the suite.
    pub async fn from_http<B>(response: http::Response<B>) -> Self
    where
        B: http_body::Body,
        B::Error: std::fmt::Display,
    {
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(collected) => Self {
                status: parts.status,
                headers: parts.headers,
                body: collected.to_bytes(),
            },
            Err(e) => Self {
                status: StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                headers: parts.headers,
                body: Bytes::from(format!("response body failed: {e}")),
            },
        }
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header, as text.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                truncate(&self.text())
            )
        })
    }
}

/// Shortens a body for a failure message.
pub(super) fn truncate(text: &str) -> String {
    const MAX: usize = 300;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}
