//! The call lifecycle engine: every source of call changes (platform callbacks,
//! in-process dialer events, our own dial and hang-up) goes through here, in one
//! order, to the store, the SSE subscribers and the host's hook.
//!
//! - **Matching**: a SIP event names the call by id and/or connection id; a session
//!   event (`connectionDestroyed`, `streamCreated`) by connection. Both are looked up
//!   in the store.
//! - **Dedupe**: the platform delivers at least once. A delivery with the same subject,
//!   event, state (or reason) and timestamp as one already applied is a duplicate; the
//!   last [`DEDUPE_CAPACITY`] keys are remembered.
//! - **Order**: changes are applied one at a time (an async gate), and the state
//!   machine ([`super::transition`]) never moves a call backwards, so a late delivery
//!   cannot undo a newer one. Events for a call dial has not recorded yet (the platform
//!   can call back before its dial response arrives) are parked briefly and applied
//!   when dial records the call.
//! - **Unknown calls**: calls this server did not place are recorded only when the host
//!   opted in, and only in sessions the store knows.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::sse::{self, Hub};
use super::store::{CallRecord, CallState, CallStore, StoreError};
use super::transition::{CallChange, CallUpdate, reason_for_disconnect};
use crate::body::ResponseBody;
use crate::events::{CallRef, EventSink, PlatformCallState, PlatformEvent, PlatformEventKind};
use crate::sync::lock;
use crate::{SessionId, Timestamp};

/// Delivery keys remembered for deduplication.
pub const DEDUPE_CAPACITY: usize = 4096;
/// Events for not-yet-recorded calls kept at most, and for how long.
const PARKED_CAPACITY: usize = 256;
const PARKED_TTL: Duration = Duration::from_secs(60);
/// In-process events queued at most before new ones are dropped (with a warning).
const QUEUE_CAPACITY: usize = 1024;

/// The host's hook, called once per call change, in order, after the store and the
/// SSE subscribers have it. It runs inline: keep it quick and non-blocking (hand work
/// to a channel or a task), and do not panic.
pub type CallEventHook = Arc<dyn Fn(&CallEvent) + Send + Sync>;

/// One change of one call, as the host's hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallEvent {
    /// The call after the change.
    pub call: CallRecord,
    /// Its state before; `None` when the call was just recorded.
    pub previous: Option<CallState>,
    /// What caused it.
    pub cause: CallEventCause,
}

/// What changed a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEventCause {
    /// `POST /dial` placed it.
    Dialed,
    /// `DELETE /calls/{id}` hung it up.
    HungUp,
    /// The platform no longer knew its connection when we asked.
    Gone,
    /// A platform event (callback or in-process).
    Platform(PlatformEvent),
}

/// What applying one platform event did; `POST /callbacks` answers it as `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplyOutcome {
    /// A call changed (or was recorded).
    Applied,
    /// The event is about a known call but changes nothing (late, repeated, or a kind
    /// that carries no state).
    Unchanged,
    /// The same delivery was applied before.
    Duplicate,
    /// Not about any call this server tracks (an unknown event or call, a browser's
    /// connection).
    Ignored,
}

impl ApplyOutcome {
    /// `applied`, `unchanged`, `duplicate` or `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyOutcome::Applied => "applied",
            ApplyOutcome::Unchanged => "unchanged",
            ApplyOutcome::Duplicate => "duplicate",
            ApplyOutcome::Ignored => "ignored",
        }
    }
}

/// The last delivery keys, oldest first.
#[derive(Debug, Default)]
struct Dedupe {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Dedupe {
    /// Records `key`; false when it was already there.
    fn insert(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        self.set.insert(key.to_owned());
        self.order.push_back(key.to_owned());
        while self.order.len() > DEDUPE_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn remove(&mut self, key: &str) {
        if self.set.remove(key) {
            self.order.retain(|k| k != key);
        }
    }
}

/// What identifies a delivery: subject, event, state or reason, and timestamp.
fn dedupe_key(event: &PlatformEvent) -> Option<String> {
    let ts = event
        .timestamp
        .map_or_else(|| "-".to_owned(), |t| t.as_millis().to_string());
    let call_subject = |c: &CallRef| {
        c.id.as_ref()
            .map(|i| format!("call:{i}"))
            .or_else(|| c.connection_id.as_ref().map(|k| format!("conn:{k}")))
    };
    let (subject, detail) = match &event.kind {
        PlatformEventKind::CallCreated { call } | PlatformEventKind::MuteForced { call } => {
            (call_subject(call)?, String::new())
        }
        PlatformEventKind::CallUpdated { call, state } => {
            (call_subject(call)?, state.as_str().to_owned())
        }
        PlatformEventKind::CallDestroyed {
            call, reason_code, ..
        } => (call_subject(call)?, reason_code.clone().unwrap_or_default()),
        PlatformEventKind::ConnectionCreated { connection_id } => {
            (format!("conn:{connection_id}"), String::new())
        }
        PlatformEventKind::ConnectionDestroyed {
            connection_id,
            reason,
        } => (
            format!("conn:{connection_id}"),
            reason.clone().unwrap_or_default(),
        ),
        PlatformEventKind::StreamCreated { stream_id, .. }
        | PlatformEventKind::StreamDestroyed { stream_id, .. } => {
            (format!("stream:{stream_id}"), String::new())
        }
        PlatformEventKind::Other { .. } => return None,
    };
    Some(format!("{subject}|{}|{detail}|{ts}", event.name()))
}

/// The engine. Shared by the API (`Arc`), the SSE streams and the in-process queue.
pub(crate) struct Lifecycle {
    store: Arc<dyn CallStore>,
    hub: Hub,
    /// Serialises every change and snapshot, so SSE ids, the store and the hook agree
    /// on one order.
    gate: tokio::sync::Mutex<()>,
    seen: Mutex<Dedupe>,
    parked: Mutex<VecDeque<(Instant, PlatformEvent)>>,
    hook: Option<CallEventHook>,
    record_unknown: bool,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("record_unknown", &self.record_unknown)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    pub(crate) fn new(
        store: Arc<dyn CallStore>,
        hub: Hub,
        hook: Option<CallEventHook>,
        record_unknown: bool,
    ) -> Self {
        Self {
            store,
            hub,
            gate: tokio::sync::Mutex::new(()),
            seen: Mutex::new(Dedupe::default()),
            parked: Mutex::new(VecDeque::new()),
            hook,
            record_unknown,
        }
    }

    pub(crate) fn heartbeat(&self) -> Duration {
        self.hub.heartbeat
    }

    pub(crate) fn subscribers(&self, session: &SessionId) -> usize {
        self.hub.subscribers(session)
    }

    /// Tells the subscribers and the hook. Called with the gate held.
    fn emit(&self, call: CallRecord, previous: Option<CallState>, cause: CallEventCause) {
        self.hub.publish(&call);
        tracing::info!(
            call_id = %call.id,
            state = call.state.as_str(),
            previous = previous.map(CallState::as_str),
            "call changed"
        );
        if let Some(hook) = &self.hook {
            hook(&CallEvent {
                call,
                previous,
                cause,
            });
        }
    }

    /// Applies one platform event (deduplicated, in order).
    pub(crate) async fn apply(&self, event: PlatformEvent) -> Result<ApplyOutcome, StoreError> {
        let key = dedupe_key(&event);
        if let Some(k) = &key
            && !lock(&self.seen).insert(k)
        {
            tracing::debug!(event = event.name(), "duplicate platform event");
            return Ok(ApplyOutcome::Duplicate);
        }
        let _gate = self.gate.lock().await;
        let result = self.apply_locked(&event).await;
        if result.is_err()
            && let Some(k) = &key
        {
            // Not applied: a redelivery must be able to try again.
            lock(&self.seen).remove(k);
        }
        result
    }

    async fn find(&self, call: &CallRef) -> Result<Option<CallRecord>, StoreError> {
        if let Some(id) = &call.id
            && let Some(found) = self.store.call(id).await?
        {
            return Ok(Some(found));
        }
        match &call.connection_id {
            Some(c) => self.store.call_by_connection(c).await,
            None => Ok(None),
        }
    }

    async fn apply_locked(&self, event: &PlatformEvent) -> Result<ApplyOutcome, StoreError> {
        let at = event.timestamp.unwrap_or_else(Timestamp::now);
        let change = match &event.kind {
            PlatformEventKind::CallCreated { call } | PlatformEventKind::MuteForced { call } => {
                return match self.find(call).await? {
                    Some(_) => Ok(ApplyOutcome::Unchanged),
                    None => self.unknown_call(event, call, None, at).await,
                };
            }
            PlatformEventKind::CallUpdated { call, state } => {
                let change = match state {
                    PlatformCallState::Dialing => CallChange::State(CallState::Dialing),
                    PlatformCallState::Ringing => CallChange::State(CallState::Ringing),
                    PlatformCallState::Active => CallChange::State(CallState::Active),
                    PlatformCallState::OnHold => CallChange::State(CallState::OnHold),
                    PlatformCallState::Hangup => CallChange::Ended {
                        reason: Some("Hung up".to_owned()),
                        sip_code: None,
                        authoritative: false,
                    },
                    _ => return Ok(ApplyOutcome::Ignored),
                };
                (call, change)
            }
            PlatformEventKind::CallDestroyed {
                call,
                reason_code,
                reason_message,
            } => {
                let change = CallChange::Ended {
                    reason: reason_message.clone().filter(|m| !m.trim().is_empty()),
                    sip_code: reason_code.as_deref().and_then(|c| c.parse::<u16>().ok()),
                    authoritative: true,
                };
                (call, change)
            }
            PlatformEventKind::ConnectionDestroyed {
                connection_id,
                reason,
            } => {
                let Some(found) = self.store.call_by_connection(connection_id).await? else {
                    return Ok(ApplyOutcome::Ignored);
                };
                let change = CallChange::Ended {
                    reason: Some(reason_for_disconnect(reason.as_deref()).to_owned()),
                    sip_code: None,
                    authoritative: false,
                };
                return self.update(&found, change, at, event).await;
            }
            PlatformEventKind::StreamCreated {
                stream_id,
                connection_id: Some(connection_id),
            } => {
                let Some(found) = self.store.call_by_connection(connection_id).await? else {
                    return Ok(ApplyOutcome::Ignored);
                };
                return self
                    .update(&found, CallChange::Stream(stream_id.clone()), at, event)
                    .await;
            }
            _ => return Ok(ApplyOutcome::Ignored),
        };
        let (call, change) = change;
        match self.find(call).await? {
            Some(found) => self.update(&found, change, at, event).await,
            None => self.unknown_call(event, call, Some(change), at).await,
        }
    }

    async fn update(
        &self,
        call: &CallRecord,
        change: CallChange,
        at: Timestamp,
        event: &PlatformEvent,
    ) -> Result<ApplyOutcome, StoreError> {
        match self
            .store
            .update_call(&call.id, &CallUpdate::new(change, at))
            .await?
        {
            Some(u) if u.changed => {
                self.emit(
                    u.call,
                    Some(u.previous),
                    CallEventCause::Platform(event.clone()),
                );
                Ok(ApplyOutcome::Applied)
            }
            Some(_) => Ok(ApplyOutcome::Unchanged),
            None => Ok(ApplyOutcome::Ignored),
        }
    }

    /// A SIP event about a call the store does not have.
    async fn unknown_call(
        &self,
        event: &PlatformEvent,
        call: &CallRef,
        change: Option<CallChange>,
        at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        if self.record_unknown
            && let (Some(id), Some(connection_id), Some(session)) =
                (&call.id, &call.connection_id, &event.session_id)
            && self.store.is_known_session(session).await?
        {
            let created = call.created_at.unwrap_or(at);
            let record = CallRecord {
                id: id.clone(),
                session_id: session.clone(),
                target: None,
                connection_id: connection_id.clone(),
                stream_id: None,
                state: CallState::Dialing,
                created_at: created,
                updated_at: created,
                ended_at: None,
                end_reason: None,
                sip_code: None,
            };
            self.store.insert_call(record.clone()).await?;
            self.emit(
                record.clone(),
                None,
                CallEventCause::Platform(event.clone()),
            );
            if let Some(change) = change {
                self.update(&record, change, at, event).await?;
            }
            return Ok(ApplyOutcome::Applied);
        }
        // Perhaps our own call, whose dial answer has not been recorded yet.
        let mut parked = lock(&self.parked);
        let now = Instant::now();
        while parked
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > PARKED_TTL)
        {
            parked.pop_front();
        }
        if parked.len() >= PARKED_CAPACITY {
            parked.pop_front();
        }
        parked.push_back((now, event.clone()));
        tracing::debug!(event = event.name(), "event for an unknown call");
        Ok(ApplyOutcome::Ignored)
    }

    /// Records a call dial just placed, merged with what early callbacks already
    /// recorded of it, then applies the events parked for it.
    pub(crate) async fn insert_dialed(&self, record: CallRecord) -> Result<CallRecord, StoreError> {
        let _gate = self.gate.lock().await;
        let record = match self.store.call(&record.id).await? {
            // Recorded from an early callback (record_unknown): keep how far it got.
            Some(early) => CallRecord {
                state: early.state,
                updated_at: early.updated_at,
                ended_at: early.ended_at,
                end_reason: early.end_reason,
                sip_code: early.sip_code,
                ..record
            },
            None => record,
        };
        self.store.insert_call(record.clone()).await?;
        self.emit(record.clone(), None, CallEventCause::Dialed);
        let mine: Vec<PlatformEvent> = {
            let mut parked = lock(&self.parked);
            let (mine, rest): (Vec<_>, Vec<_>) = parked.drain(..).partition(|(_, e)| {
                e.call().is_some_and(|c| {
                    c.id.as_ref() == Some(&record.id)
                        || c.connection_id.as_ref() == Some(&record.connection_id)
                })
            });
            parked.extend(rest);
            mine.into_iter().map(|(_, e)| e).collect()
        };
        for event in mine {
            if let Err(e) = self.apply_locked(&event).await {
                tracing::warn!(error = %e, "a parked event could not be applied");
            }
        }
        Ok(self.store.call(&record.id).await?.unwrap_or(record))
    }

    /// Ends a call from our side (hang-up, or the platform no longer knowing it).
    pub(crate) async fn end_locally(
        &self,
        call: &CallRecord,
        reason: &str,
        cause: CallEventCause,
    ) -> Result<(), StoreError> {
        let _gate = self.gate.lock().await;
        let change = CallChange::Ended {
            reason: Some(reason.to_owned()),
            sip_code: None,
            authoritative: false,
        };
        if let Some(u) = self
            .store
            .update_call(&call.id, &CallUpdate::new(change, Timestamp::now()))
            .await?
            && u.changed
        {
            self.emit(u.call, Some(u.previous), cause);
        }
        Ok(())
    }

    /// A snapshot frame of `session` and the id it stands at.
    pub(crate) async fn snapshot(&self, session: &SessionId) -> Result<(Bytes, u64), StoreError> {
        let _gate = self.gate.lock().await;
        let calls = self.store.session_calls(session, true).await?;
        let seq = self.hub.channel(session).seq();
        Ok((sse::snapshot_frame(seq, &calls), seq))
    }

    /// Opens an SSE stream of `session`: a replay after `last_event_id` when the
    /// buffer still holds it, a snapshot otherwise, then live changes.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        session: &SessionId,
        last_event_id: Option<u64>,
    ) -> Result<ResponseBody, StoreError> {
        let _gate = self.gate.lock().await;
        let channel = self.hub.channel(session);
        let rx = channel.subscribe();
        let (initial, last) = match last_event_id.map(|n| channel.frames_after(n)) {
            Some(Ok((frames, seq))) => (frames, seq),
            _ => {
                let calls = self.store.session_calls(session, true).await?;
                let seq = channel.seq();
                (vec![sse::snapshot_frame(seq, &calls)], seq)
            }
        };
        drop(_gate);
        Ok(sse::stream_body(
            Arc::clone(self),
            session.clone(),
            channel,
            rx,
            initial,
            last,
        ))
    }
}

/// Queues in-process events and applies them in order on one task, started on the
/// first event (so building the API needs no runtime).
pub(crate) struct EventQueue {
    tx: Mutex<Option<mpsc::Sender<PlatformEvent>>>,
    lifecycle: Weak<Lifecycle>,
}

impl EventQueue {
    /// The sink handed to the dialer.
    pub(crate) fn sink(lifecycle: &Arc<Lifecycle>) -> EventSink {
        let queue = EventQueue {
            tx: Mutex::new(None),
            lifecycle: Arc::downgrade(lifecycle),
        };
        Arc::new(move |event| queue.push(event))
    }

    fn push(&self, event: PlatformEvent) {
        let mut tx = lock(&self.tx);
        let event = match tx.as_ref() {
            Some(t) => match t.try_send(event) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(e)) => {
                    tracing::warn!(
                        event = e.name(),
                        "in-process event queue full; event dropped"
                    );
                    return;
                }
                // The task ended with its runtime: start another one below.
                Err(mpsc::error::TrySendError::Closed(e)) => e,
            },
            None => event,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                event = event.name(),
                "an in-process platform event arrived outside a Tokio runtime; dropped"
            );
            return;
        };
        let (sender, mut rx) = mpsc::channel(QUEUE_CAPACITY);
        // A fresh channel has room for the first event.
        let _ = sender.try_send(event);
        let lifecycle = self.lifecycle.clone();
        runtime.spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(lifecycle) = lifecycle.upgrade() else {
                    break;
                };
                if let Err(e) = lifecycle.apply(event).await {
                    tracing::error!(error = %e, "an in-process platform event was not applied");
                }
            }
        });
        *tx = Some(sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_forgets_the_oldest_keys() {
        let mut d = Dedupe::default();
        assert!(d.insert("a"));
        assert!(!d.insert("a"));
        for i in 0..DEDUPE_CAPACITY {
            d.insert(&format!("k{i}"));
        }
        assert!(d.set.len() <= DEDUPE_CAPACITY && d.order.len() <= DEDUPE_CAPACITY);
        assert!(d.insert("a"), "the oldest key is forgotten");
        d.remove("a");
        assert!(d.insert("a"));
    }

    #[test]
    fn keys_tell_states_and_times_apart() {
        use crate::{CallId, ConnectionId};
        let s = SessionId::new("1_s").unwrap();
        let call = CallRef::new(CallId::new("c").unwrap(), ConnectionId::new("k").unwrap());
        let upd = |state, ms| {
            PlatformEvent::new(
                s.clone(),
                PlatformEventKind::CallUpdated {
                    call: call.clone(),
                    state,
                },
            )
            .at(Timestamp::from_millis(ms))
        };
        let a = dedupe_key(&upd(PlatformCallState::Active, 1));
        assert_eq!(a, dedupe_key(&upd(PlatformCallState::Active, 1)));
        assert_ne!(a, dedupe_key(&upd(PlatformCallState::Active, 2)));
        assert_ne!(a, dedupe_key(&upd(PlatformCallState::OnHold, 1)));
        let other = PlatformEvent::new(s, PlatformEventKind::Other { event: "x".into() });
        assert_eq!(dedupe_key(&other), None);
    }
}
