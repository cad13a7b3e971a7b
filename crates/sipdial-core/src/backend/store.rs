//! Where the API remembers rooms and calls: the [`CallStore`] plugin (the in-memory
//! default is in `memory/store.rs`, a shared one in the `sipdial-redis` crate).
//!
//! The trait is async and speaks in plain records so that a shared store (Redis, SQL)
//! can back several instances of one app later. Its operations are the ones the routes
//! need, each answerable from an index: a session's calls are found through the
//! session, never by scanning every call.

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::change_record::{ChangeRecorded, ChangeRecording, record_change_separately};
use crate::backend::dial_record::{DialRecorded, DialRecording, record_dialed_separately};
pub use crate::backend::error::StoreError;
use crate::call::event::{CallEvent, CallEventCause};
use crate::call::outcome::CallOutcome;
use crate::call::ticket::DialTicket;
use crate::call::transition::{CallChange, CallUpdate};
use crate::call::{CallRecord, CallState};
use crate::{CallId, ConnectionId, Room, SessionId, Timestamp};

/// Rooms, the sessions they map to, and calls.
///
/// Exactly-once session creation per room inside one process is the API's job (it
/// single-flights concurrent first requests); across processes
/// [`CallStore::insert_room_session`] must be an atomic insert-if-absent so that every
/// instance settles on one session.
#[async_trait]
pub trait CallStore: Send + Sync + 'static {
    /// The session of `room`, if it has one.
    async fn room_session(&self, room: &Room) -> Result<Option<SessionId>, StoreError>;

    /// Maps `room` to `session` unless it is mapped already; returns the mapping that
    /// holds afterwards (the earlier one wins).
    async fn insert_room_session(
        &self,
        room: &Room,
        session: &SessionId,
    ) -> Result<SessionId, StoreError>;

    /// Claims, for at most `ttl`, the right to create the platform session of `room`,
    /// so that replicas sharing the store create one session per room instead of one
    /// each. True when `owner` holds the claim now. A store serving one process needs
    /// none (the API single-flights in process): the default always grants it.
    async fn claim_room(
        &self,
        room: &Room,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let _ = (room, owner, ttl);
        Ok(true)
    }

    /// Gives up a claim of `owner` (another owner's claim stays).
    async fn release_room(&self, room: &Room, owner: &str) -> Result<(), StoreError> {
        let _ = (room, owner);
        Ok(())
    }

    /// Whether `session` was created (or registered) through this store.
    async fn is_known_session(&self, session: &SessionId) -> Result<bool, StoreError>;

    /// The room `session` was created for (the reverse of
    /// [`CallStore::room_session`]), so that whatever authorizes a request sees the room
    /// of the session or call it touches. `None` for a session registered without a
    /// room or unknown. Kept as long as the room's mapping. The default knows no room:
    /// a store that keeps the mapping should answer it, or an authorizer scoped to rooms
    /// refuses every action on an existing session.
    async fn session_room(&self, session: &SessionId) -> Result<Option<Room>, StoreError> {
        let _ = session;
        Ok(None)
    }

    /// Records a new call.
    async fn insert_call(&self, call: CallRecord) -> Result<(), StoreError>;

    /// Records a call dial just placed under the dial slot `ticket` (from
    /// [`crate::api::DialLimits::admit`]). A store that also keeps the dial limits (a
    /// shared one) frees the slot in the same atomic step, so the call is never
    /// counted twice against the active-call limit, live and in flight at once. The
    /// default records it and answers false: the API then frees the slot itself (one
    /// more round trip a store that answers true saves).
    async fn insert_dialed_call(
        &self,
        call: CallRecord,
        ticket: &DialTicket,
    ) -> Result<bool, StoreError> {
        let _ = ticket;
        self.insert_call(call).await?;
        Ok(false)
    }

    /// Records a call dial just placed, as [`crate::backend::dial_record`] describes: the
    /// call (over an earlier record of it, see
    /// [`crate::backend::dial_record::keep_earlier_progress`]) under its dial slot, and the
    /// events parked for it taken. A store that also holds the API's event log and
    /// parked events (the `dial.events`/`dial.parked` it was built with, never others)
    /// may do it all, the log entry included, in one atomic step. The default composes
    /// [`CallStore::call`], [`CallStore::insert_dialed_call`] and
    /// [`ParkedEvents::take`](crate::api::ParkedEvents::take).
    async fn record_dialed(&self, dial: DialRecording<'_>) -> Result<DialRecorded, StoreError> {
        record_dialed_separately(self, dial).await
    }

    /// Registers `session` as known without a room: the API does so for a session a
    /// verified platform event reports a call in, when the host records unknown calls
    /// (a store that lost its state, e.g. Redis restarted empty, learns its sessions
    /// back). True when the session is known afterwards; the default cannot register
    /// and answers whether it was known already.
    async fn register_session(&self, session: &SessionId) -> Result<bool, StoreError> {
        self.is_known_session(session).await
    }

    /// One call.
    async fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError>;

    /// A session's calls in the order they were placed; ended ones only when asked.
    async fn session_calls(
        &self,
        session: &SessionId,
        include_ended: bool,
    ) -> Result<Vec<CallRecord>, StoreError>;

    /// How many of a session's calls have not ended (what the active-call limit
    /// counts). The default reads [`CallStore::session_calls`]; stores that can count
    /// without reading the records should.
    async fn active_call_count(&self, session: &SessionId) -> Result<usize, StoreError> {
        Ok(self.session_calls(session, false).await?.len())
    }

    /// The call whose SIP leg is `connection` (what `connectionDestroyed` and calls
    /// reported by connection only are matched by).
    async fn call_by_connection(
        &self,
        connection: &ConnectionId,
    ) -> Result<Option<CallRecord>, StoreError>;

    /// Applies `update` to a call atomically: reads the call, computes
    /// [`CallUpdate::apply_to`] and writes the result if it changed anything, with no
    /// other update of that call in between (a transaction or compare-and-set in a
    /// shared store). `None` for an unknown call.
    async fn update_call(
        &self,
        id: &CallId,
        update: &CallUpdate,
    ) -> Result<Option<Updated>, StoreError>;

    /// Applies a change as [`crate::backend::change_record`] describes: the update of
    /// [`CallStore::update_call`], and, for a store that also holds the API's event log
    /// and timers (the `change.events`/`change.timers` it was built with, never
    /// others), the change's log entry and planned timer changes in the same atomic
    /// step. The default is the update alone.
    async fn record_change(
        &self,
        change: ChangeRecording<'_>,
    ) -> Result<Option<ChangeRecorded>, StoreError> {
        record_change_separately(self, change).await
    }

    /// Moves a call to `state` at `at` and returns it; `None` for an unknown call. Goes
    /// through the state machine, so the call never moves backwards and
    /// [`CallState::Ended`] is terminal.
    async fn update_state(
        &self,
        id: &CallId,
        state: CallState,
        at: Timestamp,
    ) -> Result<Option<CallRecord>, StoreError> {
        let update = CallUpdate::new(CallChange::State(state), at);
        Ok(self.update_call(id, &update).await?.map(|u| u.call))
    }
}

/// The outcome of [`CallStore::update_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The call as it is now.
    pub call: CallRecord,
    /// Its state before the update.
    pub previous: CallState,
    /// Its outcome before the update (what a refined end replaced).
    pub previous_outcome: Option<CallOutcome>,
    /// Whether the update changed it.
    pub changed: bool,
}

impl Updated {
    /// The change, as the engine hands it on.
    pub(crate) fn into_event(self, cause: CallEventCause) -> CallEvent {
        CallEvent {
            call: self.call,
            previous: Some(self.previous),
            previous_outcome: self.previous_outcome,
            cause,
        }
    }
}
