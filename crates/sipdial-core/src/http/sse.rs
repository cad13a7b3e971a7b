//! Server-Sent Events of call changes, per session: the frames and the subscriber's
//! stream with heartbeats, read from the [`EventLog`].
//!
//! A subscriber remembers the id of the last frame it sent and, whenever the log says
//! its session changed, reads the entries after it; one that fell behind what the log
//! keeps gets a fresh snapshot instead. The SSE side knows the log and the store only
//! (never the lifecycle engine), so changes flow one way: lifecycle → log → streams.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{Either, select};

use crate::SessionId;
use crate::backend::event_log::{EventId, EventListener, EventLog, Since};
use crate::backend::store::{CallStore, StoreError};
use crate::body::ResponseBody;
use crate::call::CallRecord;
use crate::engine::metrics::SubscriberCount;

/// Default interval of silence after which a `: heartbeat` comment is sent.
pub const DEFAULT_SSE_HEARTBEAT: Duration = Duration::from_secs(15);
pub use crate::backend::event_log::DEFAULT_SSE_REPLAY;

const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// One SSE frame.
fn frame(event: &str, id: &EventId, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 40);
    out.extend_from_slice(format!("event: {event}\nid: {id}\ndata: ").as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The `snapshot` frame: `{"calls":[...]}`.
fn snapshot_frame(id: &EventId, calls: &[CallRecord]) -> Bytes {
    let data = serde_json::to_vec(&serde_json::json!({ "calls": calls }))
        .unwrap_or_else(|_| br#"{"calls":[]}"#.to_vec());
    frame("snapshot", id, &data)
}

/// Event streams one session may have open in this process at once: every page of a
/// room holds one, and beyond this a client is told to come back (429) rather than make
/// the process hold a task, a socket and a listener per request.
pub const MAX_STREAMS_PER_SESSION: usize = 64;
/// Event streams this process holds open at once, all sessions together.
pub const MAX_STREAMS_TOTAL: usize = 4096;
/// How long one stream lasts: then its body ends and the client (`EventSource`)
/// reconnects with `Last-Event-ID`, resuming where it was. A stream cannot be held
/// forever, and a reconnect goes through the authorizer and the limits again.
pub const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The open streams, counted per session and in total.
#[derive(Debug, Default)]
struct OpenStreams {
    total: usize,
    per_session: std::collections::HashMap<SessionId, usize>,
}

/// Bounds on the streams ([`MAX_STREAMS_PER_SESSION`], [`MAX_STREAMS_TOTAL`],
/// [`MAX_STREAM_LIFETIME`]); smaller in tests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    pub(crate) per_session: usize,
    pub(crate) total: usize,
    pub(crate) lifetime: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_session: MAX_STREAMS_PER_SESSION,
            total: MAX_STREAMS_TOTAL,
            lifetime: MAX_STREAM_LIFETIME,
        }
    }
}

/// One stream's place in the count, given back when its body is dropped.
pub(crate) struct StreamSlot {
    open: Arc<std::sync::Mutex<OpenStreams>>,
    session: SessionId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = crate::sync::lock(&self.open);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_session.get_mut(&self.session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_session.remove(&self.session);
                crate::shrink::hash_map(&mut open.per_session);
            }
        }
    }
}

/// Opens the event streams of the API.
pub(crate) struct Streams {
    log: Arc<dyn EventLog>,
    store: Arc<dyn CallStore>,
    heartbeat: Duration,
    limits: StreamLimits,
    open: Arc<std::sync::Mutex<OpenStreams>>,
}

impl Streams {
    pub(crate) fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn CallStore>,
        heartbeat: Duration,
    ) -> Self {
        Self {
            log,
            store,
            heartbeat,
            limits: StreamLimits::default(),
            open: Arc::default(),
        }
    }

    #[cfg(test)]
    pub(crate) fn with_limits(mut self, limits: StreamLimits) -> Self {
        self.limits = limits;
        self
    }

    /// A place for one more stream of `session`, or `None` when the session or the
    /// process holds as many as it may.
    pub(crate) fn reserve(&self, session: &SessionId) -> Option<StreamSlot> {
        let mut open = crate::sync::lock(&self.open);
        let mine = open.per_session.get(session).copied().unwrap_or(0);
        if mine >= self.limits.per_session || open.total >= self.limits.total {
            return None;
        }
        open.total += 1;
        *open.per_session.entry(session.clone()).or_default() += 1;
        Some(StreamSlot {
            open: Arc::clone(&self.open),
            session: session.clone(),
        })
    }

    /// Open streams of `session` in this process.
    pub(crate) fn subscribers(&self, session: &SessionId) -> usize {
        self.log.listeners(session)
    }

    /// Opens a stream of `session`: a replay after `last_event_id` when the log still
    /// holds it, a snapshot otherwise, then live changes.
    pub(crate) async fn subscribe(
        &self,
        session: &SessionId,
        last_event_id: Option<EventId>,
        slot: StreamSlot,
    ) -> Result<ResponseBody, StoreError> {
        let mut sub = Subscriber {
            log: Arc::clone(&self.log),
            store: Arc::clone(&self.store),
            session: session.clone(),
            listener: self.log.listen(session),
            last: EventId::new("0").unwrap_or_else(|| unreachable!("a valid id")),
            pending: VecDeque::new(),
            heartbeat: self.heartbeat,
            ends_at: tokio::time::Instant::now() + self.limits.lifetime,
            _counted: SubscriberCount::open(),
            _slot: slot,
        };
        sub.listener.mark_seen();
        let resumed = match &last_event_id {
            Some(id) => match self.log.since(session, id).await? {
                Since::Entries(entries, last) => Some((entries, last)),
                Since::Lagged => None,
            },
            None => None,
        };
        match resumed {
            Some((entries, last)) => {
                sub.pending
                    .extend(entries.iter().map(|e| frame("call", &e.id, &e.data)));
                sub.last = last;
            }
            None => sub.snapshot().await?,
        }
        Ok(ResponseBody::stream(futures_util::stream::unfold(
            sub,
            |mut sub| async move { sub.next().await.map(|chunk| (chunk, sub)) },
        )))
    }
}

/// A subscriber's position.
struct Subscriber {
    log: Arc<dyn EventLog>,
    store: Arc<dyn CallStore>,
    session: SessionId,
    listener: EventListener,
    last: EventId,
    pending: VecDeque<Bytes>,
    heartbeat: Duration,
    /// When the body ends, so that the client reconnects ([`MAX_STREAM_LIFETIME`]).
    ends_at: tokio::time::Instant,
    /// Counts the stream in the subscribers gauge until its body is dropped.
    _counted: SubscriberCount,
    /// Its place among the open streams, given back with the body.
    _slot: StreamSlot,
}

impl Subscriber {
    /// Queues a snapshot. The position is read before the calls, so a change racing
    /// the snapshot is sent again rather than lost.
    async fn snapshot(&mut self) -> Result<(), StoreError> {
        let position = self.log.position(&self.session).await?;
        let calls = self.store.session_calls(&self.session, true).await?;
        self.pending.push_back(snapshot_frame(&position, &calls));
        self.last = position;
        Ok(())
    }

    /// The next chunk: a queued frame, new frames, a snapshot after falling behind, or
    /// a heartbeat after `heartbeat` of silence. `None` ends the body (the client
    /// reconnects and resumes).
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Some(f);
            }
            if tokio::time::Instant::now() >= self.ends_at {
                return None;
            }
            self.listener.mark_seen();
            let read = match self.log.since(&self.session, &self.last).await {
                Ok(Since::Entries(entries, last)) => {
                    self.pending
                        .extend(entries.iter().map(|e| frame("call", &e.id, &e.data)));
                    self.last = last;
                    Ok(())
                }
                Ok(Since::Lagged) => self.snapshot().await,
                Err(e) => Err(e),
            };
            if let Err(e) = read {
                tracing::warn!(error = %e, "SSE read failed; closing the stream");
                return None;
            }
            if !self.pending.is_empty() {
                continue;
            }
            let changed = std::pin::pin!(self.listener.changed());
            let wake = (tokio::time::Instant::now() + self.heartbeat).min(self.ends_at);
            let silence = std::pin::pin!(tokio::time::sleep_until(wake));
            match select(changed, silence).await {
                Either::Left((true, _)) => continue,
                // The log is gone: end the body, the client reconnects.
                Either::Left((false, _)) => return None,
                // The stream's lifetime is over: end the body, the client resumes.
                Either::Right(_) if wake == self.ends_at => return None,
                Either::Right(_) => return Some(Bytes::from_static(HEARTBEAT)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_opaque_id() {
        let id = EventId::new("1700000000000-3").unwrap();
        let f = frame("call", &id, b"{}");
        assert_eq!(&f[..], b"event: call\nid: 1700000000000-3\ndata: {}\n\n");
        let s = snapshot_frame(&id, &[]);
        assert!(s.starts_with(b"event: snapshot\nid: 1700000000000-3\ndata: {\"calls\":[]}"));
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use crate::backend::memory::{InMemoryCallStore, InMemoryEventLog};
    use futures_util::StreamExt as _;
    use http_body_util::BodyExt as _;

    fn streams(limits: StreamLimits) -> Streams {
        Streams::new(
            Arc::new(InMemoryEventLog::new(16)),
            Arc::new(InMemoryCallStore::new()),
            Duration::from_secs(60),
        )
        .with_limits(limits)
    }

    fn session(s: &str) -> SessionId {
        SessionId::new(s).unwrap()
    }

    /// Streams are counted per session and in total; a closed one gives its place back.
    #[test]
    fn streams_are_bounded_per_session_and_in_total() {
        let s = streams(StreamLimits {
            per_session: 2,
            total: 3,
            lifetime: MAX_STREAM_LIFETIME,
        });
        let (a, b) = (session("a"), session("b"));
        let a1 = s.reserve(&a).expect("first of a");
        let _a2 = s.reserve(&a).expect("second of a");
        assert!(s.reserve(&a).is_none(), "a third stream of one session");
        let _b1 = s.reserve(&b).expect("first of b");
        assert!(s.reserve(&b).is_none(), "a fourth stream in all");
        drop(a1);
        assert!(
            s.reserve(&b).is_some(),
            "a closed stream gives its place back"
        );
    }

    /// After its lifetime the body ends (the client reconnects with `Last-Event-ID`),
    /// even while nothing happens and heartbeats are far off.
    #[tokio::test]
    async fn a_stream_ends_after_its_lifetime() {
        let s = streams(StreamLimits {
            per_session: 2,
            total: 2,
            lifetime: Duration::from_millis(200),
        });
        let a = session("a");
        let slot = s.reserve(&a).unwrap();
        let body = s.subscribe(&a, None, slot).await.unwrap();
        let started = std::time::Instant::now();
        let mut frames = body.into_data_stream();
        let first = frames.next().await.unwrap().unwrap();
        assert!(first.starts_with(b"event: snapshot\n"));
        let ended = tokio::time::timeout(Duration::from_secs(5), frames.next()).await;
        assert!(matches!(ended, Ok(None)), "the body did not end: {ended:?}");
        assert!(started.elapsed() >= Duration::from_millis(150));
        // Its place is free again once the body is gone.
        drop(frames);
        assert!(s.reserve(&a).is_some() && s.reserve(&a).is_some());
    }
}
