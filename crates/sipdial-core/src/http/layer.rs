//! [`SipDialLayer`]: wraps a host's whole app, answers the requests under the API's
//! prefix and passes every other request to the app untouched (status, headers and
//! body, including the body's error type).
//!
//! The layer must see the original path: put it around the app, not inside a nested
//! router that strips a prefix.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::body::LayerBody;
use crate::http::service::ResponseFuture as ApiFuture;
use crate::http::{BoxError, SipDialApi};

/// Layer that mounts a [`SipDialApi`] in front of an inner service.
#[derive(Debug, Clone)]
#[must_use]
pub struct SipDialLayer {
    api: SipDialApi,
}

impl SipDialLayer {
    /// Mounts `api` at its prefix.
    pub fn new(api: SipDialApi) -> Self {
        Self { api }
    }
}

impl<S> tower_layer::Layer<S> for SipDialLayer {
    type Service = SipDialMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SipDialMiddleware {
            api: self.api.clone(),
            inner,
        }
    }
}

/// The service [`SipDialLayer`] produces.
#[derive(Debug, Clone)]
#[must_use]
pub struct SipDialMiddleware<S> {
    api: SipDialApi,
    inner: S,
}

impl<S> SipDialMiddleware<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqB, ResB> tower_service::Service<http::Request<ReqB>> for SipDialMiddleware<S>
where
    S: tower_service::Service<http::Request<ReqB>, Response = http::Response<ResB>> + Clone,
    ReqB: http_body::Body<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
    ResB: http_body::Body<Data = Bytes>,
{
    type Response = http::Response<LayerBody<ResB>>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqB>) -> Self::Future {
        if self.api.serves(req.uri().path()) {
            let api = self.api.clone();
            return LayerFuture {
                kind: FutureKind::Api {
                    fut: Box::pin(async move { Ok(api.handle(req).await) }),
                },
            };
        }
        // The instance that was polled ready serves this call; a fresh clone takes its
        // place for the next poll_ready (the tower readiness contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        LayerFuture {
            kind: FutureKind::Inner {
                fut: inner.call(req),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`SipDialMiddleware`].
    pub struct LayerFuture<F> {
        #[pin]
        kind: FutureKind<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = FutureKindProj]
    enum FutureKind<F> {
        Api { fut: ApiFuture },
        Inner { #[pin] fut: F },
    }
}

impl<F> std::fmt::Debug for LayerFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            FutureKind::Api { .. } => "LayerFuture::Api",
            FutureKind::Inner { .. } => "LayerFuture::Inner",
        })
    }
}

impl<F, ResB, E> Future for LayerFuture<F>
where
    F: Future<Output = Result<http::Response<ResB>, E>>,
{
    type Output = Result<http::Response<LayerBody<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            FutureKindProj::Api { fut } => match fut.as_mut().poll(cx) {
                Poll::Ready(Ok(res)) => Poll::Ready(Ok(res.map(LayerBody::api))),
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => Poll::Pending,
            },
            FutureKindProj::Inner { fut } => match fut.poll(cx) {
                Poll::Ready(res) => Poll::Ready(res.map(|r| r.map(LayerBody::inner))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
