//! [`SipDialService`]: the API as a Tower `Service`, for hosts that route a path to a
//! service themselves.
//!
//! It expects the full request path (prefix included) and answers 404 JSON for
//! anything outside the prefix. It never fails (`Error = Infallible`) and is always
//! ready: backpressure belongs to the dialer's own HTTP client.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::body::ResponseBody;
use crate::http::{BoxError, SipDialApi};

/// The boxed, `Send` future of [`SipDialService`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody>, Infallible>> + Send>>;

/// The API as a `tower::Service<http::Request<B>>`.
#[derive(Debug, Clone)]
pub struct SipDialService {
    api: SipDialApi,
}

impl SipDialService {
    /// Serves `api`.
    pub fn new(api: SipDialApi) -> Self {
        Self { api }
    }

    /// The API served.
    pub fn api(&self) -> &SipDialApi {
        &self.api
    }
}

impl From<SipDialApi> for SipDialService {
    fn from(api: SipDialApi) -> Self {
        Self::new(api)
    }
}

impl<B> tower_service::Service<http::Request<B>> for SipDialService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let api = self.api.clone();
        Box::pin(async move { Ok(api.handle(req).await) })
    }
}
