//! The response body of the HTTP API.
//!
//! One concrete type, so every adapter converts the same thing: today a buffered JSON
//! body; a streaming variant (Server-Sent Events) can be added without touching the
//! adapters, which only use the [`http_body::Body`] impl and the buffered fast path
//! [`ResponseBody::try_into_bytes`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// Body of every response the API produces.
#[derive(Debug, Default)]
pub struct ResponseBody {
    data: Option<Bytes>,
}

impl ResponseBody {
    /// A buffered body.
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Self {
            data: (!data.is_empty()).then_some(data),
        }
    }

    /// An empty body (204, 405, ...).
    pub fn empty() -> Self {
        Self { data: None }
    }

    /// The whole body when it is buffered; the body back otherwise.
    ///
    /// Adapters use this to answer with a plain `Content-Length` body instead of
    /// streaming.
    pub fn try_into_bytes(self) -> Result<Bytes, Self> {
        Ok(self.data.unwrap_or_default())
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

pin_project_lite::pin_project! {
    /// Body of the responses of [`crate::SipDialLayer`]: the API's own body for the
    /// requests it serves, the inner service's body, untouched, for every other request.
    ///
    /// Its error type is the inner body's, so wrapping a service changes nothing for
    /// the responses that pass through.
    #[derive(Debug)]
    pub struct LayerBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Api { #[pin] body: ResponseBody },
        Inner { #[pin] body: B },
    }
}

impl<B> LayerBody<B> {
    /// Wraps the API's body.
    pub fn api(body: ResponseBody) -> Self {
        Self {
            kind: Kind::Api { body },
        }
    }

    /// Wraps the inner service's body.
    pub fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// Whether the API answered (rather than the inner service).
    pub fn is_api(&self) -> bool {
        matches!(self.kind, Kind::Api { .. })
    }

    /// The inner service's body, when it answered.
    pub fn into_inner(self) -> Result<B, ResponseBody> {
        match self.kind {
            Kind::Api { body } => Err(body),
            Kind::Inner { body } => Ok(body),
        }
    }
}

impl<B> http_body::Body for LayerBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Api { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            KindProj::Inner { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Api { body } => body.is_end_stream(),
            Kind::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Api { body } => body.size_hint(),
            Kind::Inner { body } => body.size_hint(),
        }
    }
}
