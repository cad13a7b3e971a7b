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
