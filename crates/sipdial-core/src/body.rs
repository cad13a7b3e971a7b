//! The response body of the HTTP API.
//!
//! One concrete type, so every adapter converts the same thing: a buffered JSON body
//! for every route but one, and a never-ending stream for the Server-Sent Events of
//! `GET {prefix}/events`. Adapters use the [`http_body::Body`] impl, and the buffered
//! fast path [`ResponseBody::try_into_bytes`], which hands a streaming body back so it
//! is streamed rather than buffered.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};

/// A boxed stream of body chunks. In a `Mutex` only so that the body stays `Sync`
/// (it is reached through `&mut` alone, so the lock is never taken).
type ChunkStream = Mutex<Pin<Box<dyn Stream<Item = Bytes> + Send>>>;

/// Body of every response the API produces.
#[derive(Default)]
pub struct ResponseBody {
    kind: BodyKind,
}

enum BodyKind {
    Full(Option<Bytes>),
    Stream(ChunkStream),
}

impl Default for BodyKind {
    fn default() -> Self {
        BodyKind::Full(None)
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            BodyKind::Full(data) => f
                .debug_struct("ResponseBody")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
            BodyKind::Stream(_) => f.write_str("ResponseBody::Stream"),
        }
    }
}

impl ResponseBody {
    /// A buffered body.
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Self {
            kind: BodyKind::Full((!data.is_empty()).then_some(data)),
        }
    }

    /// An empty body (204, 405, ...).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A streaming body: each item is sent as one chunk as soon as it is produced; the
    /// body ends when the stream does.
    pub fn stream<S>(chunks: S) -> Self
    where
        S: Stream<Item = Bytes> + Send + 'static,
    {
        Self {
            kind: BodyKind::Stream(Mutex::new(Box::pin(chunks))),
        }
    }

    /// Whether the body is a stream (Server-Sent Events) rather than buffered bytes.
    pub fn is_streaming(&self) -> bool {
        matches!(self.kind, BodyKind::Stream(_))
    }

    /// The whole body when it is buffered; the body back when it streams.
    ///
    /// Adapters use this to answer with a plain `Content-Length` body instead of
    /// streaming, and must stream what it hands back.
    pub fn try_into_bytes(self) -> Result<Bytes, Self> {
        match self.kind {
            BodyKind::Full(data) => Ok(data.unwrap_or_default()),
            BodyKind::Stream(_) => Err(self),
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().kind {
            BodyKind::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            BodyKind::Stream(stream) => {
                let stream = stream.get_mut().unwrap_or_else(|p| p.into_inner());
                stream
                    .as_mut()
                    .poll_next(cx)
                    .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Full(data) => data.is_none(),
            BodyKind::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            BodyKind::Stream(_) => SizeHint::default(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use http_body_util::BodyExt;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_streaming_body_is_never_handed_out_as_bytes() {
        assert_send_sync::<ResponseBody>();
        let body = ResponseBody::stream(futures_util::stream::iter([Bytes::from_static(b"a")]));
        assert!(body.is_streaming());
        let back = body.try_into_bytes().unwrap_err();
        assert!(back.is_streaming());
        assert!(!back.is_end_stream());
        assert_eq!(back.size_hint().exact(), None);
        assert_eq!(
            ResponseBody::full("xy").try_into_bytes().unwrap(),
            Bytes::from_static(b"xy")
        );
    }

    #[test]
    fn a_streaming_body_yields_each_chunk() {
        let chunks = [Bytes::from_static(b"one"), Bytes::from_static(b"two")];
        let body = ResponseBody::stream(futures_util::stream::iter(chunks));
        let collected = futures_util::FutureExt::now_or_never(body.collect())
            .unwrap()
            .unwrap()
            .to_bytes();
        assert_eq!(collected, Bytes::from_static(b"onetwo"));
    }
}
