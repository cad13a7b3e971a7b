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

/// Opens the event streams of the API.
pub(crate) struct Streams {
    log: Arc<dyn EventLog>,
    store: Arc<dyn CallStore>,
    heartbeat: Duration,
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
        }
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
    ) -> Result<ResponseBody, StoreError> {
        let mut sub = Subscriber {
            log: Arc::clone(&self.log),
            store: Arc::clone(&self.store),
            session: session.clone(),
            listener: self.log.listen(session),
            last: EventId::new("0").unwrap_or_else(|| unreachable!("a valid id")),
            pending: VecDeque::new(),
            heartbeat: self.heartbeat,
            _counted: SubscriberCount::open(),
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
    /// Counts the stream in the subscribers gauge until its body is dropped.
    _counted: SubscriberCount,
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
            let silence = std::pin::pin!(tokio::time::sleep(self.heartbeat));
            match select(changed, silence).await {
                Either::Left((true, _)) => continue,
                // The log is gone: end the body, the client reconnects.
                Either::Left((false, _)) => return None,
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
