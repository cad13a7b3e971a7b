//! Reading Server-Sent Events as a client does, for the streaming cases: a parser and
//! an open stream ([`TestStream`]) fed by any body (the socket client is in
//! `http1.rs`).

use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// One event of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent).
    pub event: String,
    /// The `id:` field.
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

/// An event or a comment line (`: heartbeat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// An event.
    Event(SseEvent),
    /// A comment, without its leading `:` and space.
    Comment(String),
}

/// Splits a byte stream into [`SseItem`]s (the WHATWG rules the page's `EventSource`
/// follows, minus `retry`).
#[derive(Debug, Default)]
pub struct SseParser {
    buf: BytesMut,
}

impl SseParser {
    /// Adds received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete item, if the bytes so far hold one.
    pub fn next_item(&mut self) -> Option<SseItem> {
        loop {
            let text = std::str::from_utf8(&self.buf).ok()?;
            let text = text.replace("\r\n", "\n");
            let end = text.find("\n\n")?;
            let block = text[..end].to_owned();
            let rest = text.as_bytes()[end + 2..].to_vec();
            self.buf = BytesMut::from(&rest[..]);
            let mut event = SseEvent::default();
            let mut data: Vec<String> = Vec::new();
            let mut comment = None;
            for line in block.lines() {
                if let Some(c) = line.strip_prefix(':') {
                    comment = Some(c.strip_prefix(' ').unwrap_or(c).to_owned());
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event.event = value.to_owned(),
                    "id" => event.id = Some(value.to_owned()),
                    "data" => data.push(value.to_owned()),
                    _ => {}
                }
            }
            if !data.is_empty() || !event.event.is_empty() {
                if event.event.is_empty() {
                    event.event = "message".to_owned();
                }
                event.data = data.join("\n");
                return Some(SseItem::Event(event));
            }
            if let Some(c) = comment {
                return Some(SseItem::Comment(c));
            }
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
    chunks: Chunks,
    parser: SseParser,
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
        Self {
            status,
            headers,
            chunks: Box::pin(chunks),
            parser: SseParser::default(),
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
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(item) = self.parser.next_item() {
                return Ok(item);
            }
            match tokio::time::timeout_at(deadline, self.chunks.next()).await {
                Err(_) => return Err(format!("no complete event within {within:?}")),
                Ok(None) => return Err("the event stream ended".to_owned()),
                Ok(Some(Err(e))) => return Err(format!("the event stream failed: {e}")),
                Ok(Some(Ok(chunk))) => self.parser.push(&chunk),
            }
        }
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

    #[test]
    fn parses_events_comments_and_split_chunks() {
        let mut p = SseParser::default();
        p.push(b"event: snapshot\nid: 7\ndata: {\"calls\":[]}\n\n: heart");
        assert_eq!(
            p.next_item(),
            Some(SseItem::Event(SseEvent {
                event: "snapshot".into(),
                id: Some("7".into()),
                data: "{\"calls\":[]}".into()
            }))
        );
        assert_eq!(p.next_item(), None);
        p.push(b"beat\n\ndata: a\r\ndata: b\r\n\r\n");
        assert_eq!(p.next_item(), Some(SseItem::Comment("heartbeat".into())));
        match p.next_item() {
            Some(SseItem::Event(e)) => {
                assert_eq!(e.event, "message");
                assert_eq!(e.data, "a\nb");
            }
            other => panic!("{other:?}"),
        }
    }
}
