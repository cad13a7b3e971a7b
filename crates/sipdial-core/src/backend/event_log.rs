//! The per-session log of call changes that SSE streams read: [`EventLog`], its ids
//! ([`EventId`], opaque to clients: they only echo them in `Last-Event-ID`), the
//! local wake-ups of open streams ([`Listeners`]) and the in-memory default.
//!
//! A log hands out ids in append order and keeps the last entries of each session, so
//! a client that reconnects (to any replica sharing the log) resumes after the last id
//! it saw, or gets a snapshot when the log no longer holds what it missed.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::watch;

use crate::SessionId;
use crate::backend::error::StoreError;
use crate::call::CallRecord;
use crate::sync::lock;

/// Default number of call events kept per session for `Last-Event-ID` resumption: the
/// in-memory log's size, which the SSE route (`sse`) re-exports as its replay default.
pub const DEFAULT_SSE_REPLAY: usize = 256;

/// Longest [`EventId`].
pub const MAX_EVENT_ID_LEN: usize = 64;
/// Session channels kept at most by [`InMemoryEventLog`](crate::backend::memory::InMemoryEventLog); idle ones beyond it are
/// forgotten, and their clients resume with a snapshot.
pub(crate) const MAX_CHANNELS: usize = 1024;

/// The id of one logged change, as the SSE `id:` field carries it: 1 to 64 of
/// `[0-9A-Za-z._:-]`, so an echoed `Last-Event-ID` can never inject a frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(pub(crate) String);

impl EventId {
    /// Validates an id (a log's own, or a client's `Last-Event-ID`).
    pub fn new(id: impl Into<String>) -> Option<Self> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= MAX_EVENT_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        ok.then_some(Self(id))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One logged change: its id and the call as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// The entry's id.
    pub id: EventId,
    /// The call after the change, as JSON.
    pub data: Bytes,
}

/// What a log holds after an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// Every entry after it (possibly none) and the id of the last one.
    Entries(Vec<LoggedEvent>, EventId),
    /// Some entries after it are gone (or the id was never issued here): start over
    /// with a snapshot.
    Lagged,
}

/// The per-session log of call changes.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends a change of `call` to its session's log and wakes the local listeners.
    async fn append(&self, call: &CallRecord) -> Result<EventId, StoreError>;

    /// The id a snapshot taken now stands at: entries after it are newer.
    async fn position(&self, session: &SessionId) -> Result<EventId, StoreError>;

    /// The entries after `after`, at most a replay buffer's worth.
    async fn since(&self, session: &SessionId, after: &EventId) -> Result<Since, StoreError>;

    /// Wakes the caller when `session` may have new entries (from any replica).
    fn listen(&self, session: &SessionId) -> EventListener;

    /// How many listeners of `session` are open in this process.
    fn listeners(&self, session: &SessionId) -> usize;
}

/// Wakes one open stream; dropping it unsubscribes.
#[derive(Debug)]
pub struct EventListener {
    rx: watch::Receiver<u64>,
}

impl EventListener {
    /// Marks every wake-up so far as seen; call before reading the log, so an entry
    /// appended meanwhile wakes [`Self::changed`] at once.
    pub fn mark_seen(&mut self) {
        self.rx.borrow_and_update();
    }

    /// Waits for a wake-up after the last [`Self::mark_seen`]; false when the log
    /// went away.
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }
}

/// The local listeners of every session, for [`EventLog`] implementations: a wake-up
/// per session and an exact count (a dropped stream drops its receiver).
#[derive(Debug, Default)]
pub struct Listeners {
    sessions: Mutex<HashMap<SessionId, watch::Sender<u64>>>,
}

impl Listeners {
    /// No listeners.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new listener of `session`.
    pub fn listen(&self, session: &SessionId) -> EventListener {
        let mut map = lock(&self.sessions);
        if map.len() >= MAX_CHANNELS {
            map.retain(|_, tx| tx.receiver_count() > 0);
        }
        let tx = map
            .entry(session.clone())
            .or_insert_with(|| watch::Sender::new(0));
        EventListener { rx: tx.subscribe() }
    }

    /// Wakes every listener of `session`.
    pub fn wake(&self, session: &SessionId) {
        if let Some(tx) = lock(&self.sessions).get(session) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Open listeners of `session`.
    pub fn count(&self, session: &SessionId) -> usize {
        lock(&self.sessions)
            .get(session)
            .map_or(0, watch::Sender::receiver_count)
    }

    /// The sessions with at least one open listener (idle ones are forgotten).
    pub fn watched(&self) -> Vec<SessionId> {
        let mut map = lock(&self.sessions);
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(EventId::new("1700000000000-0").is_some());
        for bad in ["", "a b", "1\n2", "x\r", &"9".repeat(65)] {
            assert!(EventId::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn listeners_count_exactly_and_idle_sessions_are_forgotten() {
        let l = Listeners::new();
        let watched = SessionId::new("1_watched").unwrap();
        let rx = l.listen(&watched);
        for i in 0..MAX_CHANNELS + 1 {
            drop(l.listen(&SessionId::new(format!("1_s{i}")).unwrap()));
        }
        assert!(lock(&l.sessions).len() <= MAX_CHANNELS);
        assert_eq!(l.count(&watched), 1);
        assert_eq!(l.watched(), vec![watched.clone()]);
        drop(rx);
        assert_eq!(l.count(&watched), 0);
    }
}
