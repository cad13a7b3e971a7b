//! Reading the Actix payload for the core.
//!
//! The core reads request bodies as an `http_body::Body + Send`; Actix's payload is
//! neither, so it is read here first. It is read only up to one byte past the core's
//! limit: the core then refuses the over-limit body with its own 413, exactly as it does
//! in every other form, and no more of an oversized upload is buffered. The limit is
//! the core's [`body_limit`](sipdial_core::SipDialApi::body_limit), never a second
//! setting.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};

/// The payload could not be read (connection dropped, malformed chunked encoding). The
/// core decides what that answers; only the reason's text is kept.
#[derive(Debug)]
pub(crate) struct PayloadReadError(String);

impl std::fmt::Display for PayloadReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body could not be read: {}", self.0)
    }
}

impl std::error::Error for PayloadReadError {}

/// Reads `payload` until its end or until it is more than `limit` bytes long.
pub(crate) async fn read_limited(mut payload: Payload, limit: usize) -> RequestBody {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) => {
                let room = (limit + 1).saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if buf.len() > limit {
                    break;
                }
            }
            Err(e) => return RequestBody(Some(Err(PayloadReadError(e.to_string())))),
        }
    }
    RequestBody(Some(Ok(buf.freeze())))
}

/// The body handed to the core: the bytes read, or the read error.
#[derive(Debug)]
pub(crate) struct RequestBody(Option<Result<Bytes, PayloadReadError>>);

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = PayloadReadError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, PayloadReadError>>> {
        Poll::Ready(match self.get_mut().0.take() {
            Some(Ok(data)) if data.is_empty() => None,
            Some(Ok(data)) => Some(Ok(Frame::data(data))),
            Some(Err(e)) => Some(Err(e)),
            None => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            None => true,
            Some(Ok(data)) => data.is_empty(),
            Some(Err(_)) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Some(Ok(data)) => SizeHint::with_exact(data.len() as u64),
            Some(Err(_)) => SizeHint::default(),
            None => SizeHint::with_exact(0),
        }
    }
}
