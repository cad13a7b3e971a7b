//! Reading Server-Sent Events as a client does, for the streaming cases: an open stream
//! ([`TestStream`]) fed by any body (the socket client is in `http1.rs`), parsed by
//! `eventsource-stream`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use eventsource_stream::EventStream;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// One event of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent).
    pub event: String,
    /// The `id:` field, or the last one the stream sent (the page's `EventSource`
    /// keeps it the same way).
    pub id: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.data).map_err(|e| {
            format!(
                "event `{}` data is not JSON ({e}): {:?}",
                self.event, self.data
            )
        })
    }

    /// The id's place in its stream, for comparing two ids: ids are opaque, but every
    /// log this crate ships writes them as `N` (in memory) or `N-M` (a Redis stream
    /// entry), both ordered by the numbers.
    pub fn id_order(&self) -> Result<(u64, u64), String> {
        let id = self.id.as_deref().unwrap_or("");
        let (a, b) = id.split_once('-').unwrap_or((id, "0"));
        match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            _ => Err(format!(
                "event `{}` has no ordered id: {:?}",
                self.event, self.id
            )),
        }
    }

    /// The id as a number (the in-memory log's ids).
    pub fn id_number(&self) -> Result<u64, String> {
        self.id
            .as_deref()
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| format!("event `{}` has no numeric id: {:?}", self.event, self.id))
    }
}

/// What one read of a stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// An event.
    Event(SseEvent),
    /// Bytes that ended a block (a blank line) without completing an event, verbatim:
    /// a comment such as the heartbeat (`": heartbeat\n\n"`), which the parser skips.
    /// Seen when the stream pauses after it; one read holding a comment and a later
    /// event yields only the event.
    Other(String),
}

impl From<eventsource_stream::Event> for SseEvent {
    fn from(e: eventsource_stream::Event) -> Self {
        Self {
            event: e.event,
            id: Some(e.id).filter(|id| !id.is_empty()),
            data: e.data,
        }
    }
}

type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, String>>>>;

/// An open event stream: the answer's head and its body, read item by item. Dropping
/// it is the client going away.
pub struct TestStream {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    events: EventStream<Chunks>,
    /// The bytes received since the last item, to see a block that held no event.
    unclaimed: Rc<RefCell<BytesMut>>,
}

impl std::fmt::Debug for TestStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStream")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl TestStream {
    /// A stream over `chunks` (no `Send` needed: Actix bodies are not).
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        chunks: impl Stream<Item = Result<Bytes, String>> + 'static,
    ) -> Self {
        let unclaimed = Rc::new(RefCell::new(BytesMut::new()));
        let seen = Rc::clone(&unclaimed);
        let chunks = chunks.inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                seen.borrow_mut().extend_from_slice(bytes);
            }
        });
        Self {
            status,
            headers,
            events: EventStream::new(Box::pin(chunks)),
            unclaimed,
        }
    }

    /// A stream over an `http` 1.x response, read frame by frame (never collected).
    pub fn from_http<B>(response: http::Response<B>) -> Self
    where
        B: http_body::Body<Data = Bytes> + 'static,
        B::Error: std::fmt::Display,
    {
        let (parts, body) = response.into_parts();
        let chunks = http_body_util::BodyStream::new(body).filter_map(|frame| async move {
            match frame {
                Ok(f) => f.into_data().ok().map(Ok),
                Err(e) => Some(Err(e.to_string())),
            }
        });
        Self::new(parts.status, parts.headers, chunks)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next event or comment, waiting at most `within`.
    pub async fn next_item(&mut self, within: Duration) -> Result<SseItem, String> {
        let item = poll_fn(|cx| match self.events.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(event))) => {
                // The event is claimed with every block before it; a block begun after
                // it stays (a comment split across reads is still seen whole).
                let mut unclaimed = self.unclaimed.borrow_mut();
                let ended = unclaimed.windows(2).rposition(|w| w == b"\n\n");
                drop(unclaimed.split_to(ended.map_or(0, |i| i + 2)));
                Poll::Ready(Ok(SseItem::Event(event.into())))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(format!("the event stream failed: {e}"))),
            Poll::Ready(None) => Poll::Ready(Err("the event stream ended".to_owned())),
            Poll::Pending => {
                let mut unclaimed = self.unclaimed.borrow_mut();
                if unclaimed.ends_with(b"\n\n") || unclaimed.ends_with(b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&unclaimed.split()).into_owned();
                    Poll::Ready(Ok(SseItem::Other(text)))
                } else {
                    Poll::Pending
                }
            }
        });
        tokio::time::timeout(within, item)
            .await
            .map_err(|_| format!("no complete event within {within:?}"))?
    }

    /// The next event (heartbeats skipped), waiting at most `within`.
    pub async fn next_event(&mut self, within: Duration) -> Result<SseEvent, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let SseItem::Event(e) = self.next_item(left).await? {
                return Ok(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_events_comments_and_split_chunks() {
        let chunks: [&'static [u8]; 4] = [
            b"event: snapshot\nid: 7\ndata: {\"calls\":[]}\n\n: heart",
            b"beat\n\n",
            b"data: a\r\ndata: b\r\n",
            b"\r\n",
        ];
        // Each chunk after a pause, as a socket delivers them.
        let body = futures_util::stream::iter(chunks).then(|c| async move {
            tokio::task::yield_now().await;
            Ok(Bytes::from_static(c))
        });
        let mut s = TestStream::new(StatusCode::OK, HeaderMap::new(), body);
        let within = Duration::from_secs(1);
        assert_eq!(
            s.next_item(within).await,
            Ok(SseItem::Event(SseEvent {
                event: "snapshot".into(),
                id: Some("7".into()),
                data: "{\"calls\":[]}".into()
            }))
        );
        assert_eq!(
            s.next_item(within).await,
            Ok(SseItem::Other(": heartbeat\n\n".into()))
        );
        match s.next_item(within).await {
            Ok(SseItem::Event(e)) => {
                assert_eq!(e.event, "message");
                assert_eq!(e.data, "a\nb");
            }
            other => panic!("{other:?}"),
        }
        assert!(s.next_item(within).await.is_err());
    }
}
