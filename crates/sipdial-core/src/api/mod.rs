//! The HTTP API (session, token, dial and call-control routes), written once and served
//! by the Tower service, the Tower layer and every framework adapter.
//!
//! SKELETON: the public signatures below are the contract the adapters build on; the
//! route table, validation, policy and error mapping are filled in by the HTTP API work.

use std::sync::Arc;

use bytes::Bytes;

use crate::SipDialer;
use crate::body::ResponseBody;

/// Boxed error of a request body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Default mount prefix.
pub const DEFAULT_PREFIX: &str = "/sip";
/// Default request body limit (16 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The configured API: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct SipDialApi {
    inner: Arc<Inner>,
}

struct Inner {
    #[allow(dead_code)]
    dialer: Arc<dyn SipDialer>,
    prefix: String,
    body_limit: usize,
}

impl std::fmt::Debug for SipDialApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipDialApi")
            .field("prefix", &self.inner.prefix)
            .field("body_limit", &self.inner.body_limit)
            .finish_non_exhaustive()
    }
}

impl SipDialApi {
    /// Starts configuring an API over `dialer`.
    pub fn builder(dialer: Arc<dyn SipDialer>) -> SipDialApiBuilder {
        SipDialApiBuilder {
            dialer,
            prefix: DEFAULT_PREFIX.to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// The mount prefix (`/sip` by default), without a trailing slash.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The largest request body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Whether `path` is served by this API (the prefix itself or below it).
    pub fn serves(&self, path: &str) -> bool {
        let p = self.prefix();
        path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
    }

    /// Answers one request. The path is the full request path (prefix included); the
    /// body is read up to [`Self::body_limit`] while streaming.
    pub async fn handle<B>(&self, _req: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        http::Response::builder()
            .status(http::StatusCode::NOT_IMPLEMENTED)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(ResponseBody::full(
                r#"{"error":{"code":"not_implemented","message":"not implemented yet"}}"#,
            ))
            .expect("static response")
    }
}

/// Builder of [`SipDialApi`]; `build()` validates the whole configuration.
pub struct SipDialApiBuilder {
    dialer: Arc<dyn SipDialer>,
    prefix: String,
    body_limit: usize,
}

impl SipDialApiBuilder {
    /// Mount prefix (default `/sip`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Request body limit in bytes (default 16 KiB).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Validates the configuration.
    pub fn build(self) -> Result<SipDialApi, crate::ValidationError> {
        Ok(SipDialApi {
            inner: Arc::new(Inner {
                dialer: self.dialer,
                prefix: self.prefix.trim_end_matches('/').to_owned(),
                body_limit: self.body_limit,
            }),
        })
    }
}
