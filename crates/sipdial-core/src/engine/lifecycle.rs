//! The call lifecycle engine: every source of call changes (platform callbacks,
//! in-process dialer events, our own dial and hang-up) goes through here, in one
//! order, to the store, the SSE subscribers and the host's hook.
//!
//! - **Matching**: a SIP event names the call by id and/or connection id; a session
//!   event (`connectionDestroyed`, `streamCreated`) by connection. Both are looked up
//!   in the store.
//! - **Dedupe**: the platform delivers at least once; [`crate::backend::dedupe`] drops a
//!   delivery already applied.
//! - **Order**: each call's changes are applied one at a time (a gate per call, so
//!   different calls' changes run side by side: [`call_gate`]), and the state
//!   machine ([`crate::call::transition`]) never moves a call backwards, so a late delivery
//!   cannot undo a newer one; a shared store applies each update atomically, so
//!   replicas cannot interleave either. Events for a call dial has not recorded yet
//!   are parked ([`crate::backend::parked`]) and applied when dial records the call.
//! - **Unknown calls**: calls this server did not place are recorded only when the host
//!   opted in, and only in sessions the store knows, or in any session when the
//!   platform verifiably reported them (a signed callback): the store then learns the
//!   session back, which is how calls reappear after a shared store lost its state.
//! - **Recording a dial** (`dialed`): one store operation where the store allows it.

mod call_gate;
mod dialed;
mod provenance;
mod unknown;

use call_gate::CallGates;

use std::sync::{Arc, Weak};

use crate::call::event::{ApplyOutcome, CallEvent, CallEventCause, CallEventHook};
pub(crate) use dialed::Dialed;
pub(crate) use provenance::Provenance;

use crate::backend::change_record::{ChangeRecorded, ChangeRecording};
use crate::backend::dedupe::{DeliveryDedupe, dedupe_key};
use crate::backend::event_log::EventLog;
use crate::backend::limits::DialLimits;
use crate::backend::parked::ParkedEvents;
use crate::backend::store::{CallStore, StoreError};
use crate::call::outcome::LocalEnd;
use crate::call::transition::{CallChange, CallUpdate, reason_for_disconnect};
use crate::call::{CallRecord, CallState};
use crate::engine::call_timers::PolicyTimers;
use crate::engine::dtmf_at_answer::DtmfAtAnswer;
use crate::engine::timer_poller::{TimerOwner, TimerPoller};
use crate::engine::webhooks::Webhooks;
use crate::events::{CallRef, PlatformCallState, PlatformEvent, PlatformEventKind};
use crate::{CallId, Timestamp};

/// The engine. Shared by the API (`Arc`) and the in-process queue.
pub(crate) struct Lifecycle {
    store: Arc<dyn CallStore>,
    events: Arc<dyn EventLog>,
    dedupe: Arc<dyn DeliveryDedupe>,
    parked: Arc<dyn ParkedEvents>,
    /// Told of ends, so live-call slots free (under the call's gate, in the order of
    /// changes).
    limits: Arc<dyn DialLimits>,
    /// Orders each call's changes in this process, so its log entries, the store and
    /// the hook agree on one order per call; different calls' changes run side by side.
    gates: CallGates,
    hook: Option<CallEventHook>,
    record_unknown: bool,
    dtmf_at_answer: Arc<DtmfAtAnswer>,
    timers: PolicyTimers,
    /// This engine, for the tasks it starts (which must not keep it alive).
    me: Weak<Lifecycle>,
    webhooks: Option<Arc<Webhooks>>,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("record_unknown", &self.record_unknown)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

/// The shared parts the engine works on.
pub(crate) struct Parts {
    pub(crate) store: Arc<dyn CallStore>,
    pub(crate) events: Arc<dyn EventLog>,
    pub(crate) dedupe: Arc<dyn DeliveryDedupe>,
    pub(crate) parked: Arc<dyn ParkedEvents>,
    pub(crate) limits: Arc<dyn DialLimits>,
    pub(crate) dtmf_at_answer: Arc<DtmfAtAnswer>,
    pub(crate) timers: PolicyTimers,
    pub(crate) webhooks: Option<Arc<Webhooks>>,
}

impl Lifecycle {
    pub(crate) fn new(
        parts: Parts,
        hook: Option<CallEventHook>,
        record_unknown: bool,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            store: parts.store,
            events: parts.events,
            dedupe: parts.dedupe,
            parked: parts.parked,
            limits: parts.limits,
            gates: CallGates::default(),
            hook,
            record_unknown,
            dtmf_at_answer: parts.dtmf_at_answer,
            timers: parts.timers,
            webhooks: parts.webhooks,
            me: me.clone(),
        })
    }

    /// The call policies' timers.
    pub(crate) fn timers(&self) -> &PolicyTimers {
        &self.timers
    }

    /// Starts this instance's timer poller if it is not running (on the current Tokio
    /// runtime): the API serves.
    pub(crate) fn serve(&self) {
        self.timers.poller().serve(&self.me);
    }

    /// Tells the event log and the hook. Called with the call's gate held, after the store
    /// has the change: a log that cannot take it is logged, not failed, since the
    /// change itself is recorded (streams catch up on their next snapshot).
    async fn emit(&self, event: CallEvent) {
        self.emit_logged(event, false, false).await;
    }

    /// [`Self::emit`] of a change whose log entry (`logged`) or timers (`timers_set`)
    /// the store may have set already (see [`crate::api::CallStore::record_dialed`]):
    /// only those are skipped then; every other reaction runs.
    async fn emit_logged(&self, event: CallEvent, logged: bool, timers_set: bool) {
        crate::engine::metrics::call_changed(&event);
        let CallEvent {
            call,
            previous,
            cause,
            ..
        } = &event;
        let previous = *previous;
        if call.state == CallState::Ended
            && previous != Some(CallState::Ended)
            && let Err(e) = self.limits.call_ended(&call.id).await
        {
            tracing::warn!(error = %e, call_id = %call.id, "an ended call's limit slots could not be freed");
        }
        if !logged && let Err(e) = self.events.append(call).await {
            tracing::warn!(error = %e, call_id = %call.id, "a call change did not reach the event log");
        }
        if timers_set {
            self.timers.on_change_set(&self.me);
        } else {
            self.timers.on_change(&self.me, call, previous, cause).await;
        }
        tracing::info!(
            call_id = %call.id,
            state = call.state.as_str(),
            previous = previous.map(CallState::as_str),
            "call changed"
        );
        self.dtmf_at_answer.on_change(call, previous);
        if let Some(w) = &self.webhooks {
            w.enqueue(call, previous, cause).await;
        }
        if let Some(hook) = &self.hook {
            hook(&event);
        }
    }

    /// Applies one platform event (deduplicated, in order) whose origin is not
    /// verified.
    pub(crate) async fn apply(&self, event: PlatformEvent) -> Result<ApplyOutcome, StoreError> {
        self.apply_from(event, Provenance::Unverified).await
    }

    /// Applies one platform event (deduplicated, in order) from `provenance`.
    pub(crate) async fn apply_from(
        &self,
        event: PlatformEvent,
        provenance: Provenance,
    ) -> Result<ApplyOutcome, StoreError> {
        let key = dedupe_key(&event);
        if let Some(k) = &key
            && !self.dedupe.first_delivery(k).await?
        {
            tracing::debug!(event = event.name(), "duplicate platform event");
            return Ok(ApplyOutcome::Duplicate);
        }
        let gate = self.gate_key(&event.kind).await?;
        let _gate = match &gate {
            Some(key) => Some(self.gates.lock(key).await),
            None => None,
        };
        let result = self.apply_locked(&event, provenance).await;
        if result.is_err()
            && let Some(k) = &key
            && let Err(e) = self.dedupe.forget(k).await
        {
            // Not applied: a redelivery must be able to try again.
            tracing::warn!(error = %e, "a failed delivery could not be forgotten");
        }
        result
    }

    /// The gate an event waits for: its call's id, found by the connection when the
    /// event names only that (one more store read, for session events), or while the
    /// call is not recorded, what the event names it by. `None`: nothing to apply.
    async fn gate_key(&self, kind: &PlatformEventKind) -> Result<Option<String>, StoreError> {
        let connection = match kind {
            PlatformEventKind::CallCreated { call }
            | PlatformEventKind::MuteForced { call }
            | PlatformEventKind::CallUpdated { call, .. }
            | PlatformEventKind::CallDestroyed { call, .. } => {
                match (&call.id, &call.connection_id) {
                    (Some(id), _) => return Ok(Some(id.as_str().to_owned())),
                    (None, Some(c)) => c,
                    (None, None) => return Ok(None),
                }
            }
            PlatformEventKind::ConnectionDestroyed { connection_id, .. }
            | PlatformEventKind::StreamCreated {
                connection_id: Some(connection_id),
                ..
            } => connection_id,
            _ => return Ok(None),
        };
        Ok(Some(
            match self.store.call_by_connection(connection).await? {
                Some(call) => call.id.as_str().to_owned(),
                // Call ids hold no ':', so this names no call's gate.
                None => format!("connection:{}", connection.as_str()),
            },
        ))
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

    async fn apply_locked(
        &self,
        event: &PlatformEvent,
        provenance: Provenance,
    ) -> Result<ApplyOutcome, StoreError> {
        let at = event.timestamp.unwrap_or_else(Timestamp::now);
        let change = match &event.kind {
            PlatformEventKind::CallCreated { call } | PlatformEventKind::MuteForced { call } => {
                return match self.find(call).await? {
                    Some(_) => Ok(ApplyOutcome::Unchanged),
                    None => self.unknown_call(event, call, None, at, provenance).await,
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
                let change = match reason.as_deref() {
                    // A forced disconnect is a hang-up through the REST API: ours.
                    Some("forceDisconnected") => CallChange::EndedHere(LocalEnd::HangUp),
                    reason => CallChange::Ended {
                        reason: Some(reason_for_disconnect(reason).to_owned()),
                        sip_code: None,
                        authoritative: false,
                    },
                };
                return self.update(&found, change, at, event, provenance).await;
            }
            PlatformEventKind::StreamCreated {
                stream_id,
                connection_id: Some(connection_id),
            } => {
                let Some(found) = self.store.call_by_connection(connection_id).await? else {
                    return Ok(ApplyOutcome::Ignored);
                };
                return self
                    .update(
                        &found,
                        CallChange::Stream(stream_id.clone()),
                        at,
                        event,
                        provenance,
                    )
                    .await;
            }
            _ => return Ok(ApplyOutcome::Ignored),
        };
        let (call, change) = change;
        match self.find(call).await? {
            Some(found) => self.update(&found, change, at, event, provenance).await,
            None => {
                self.unknown_call(event, call, Some(change), at, provenance)
                    .await
            }
        }
    }

    async fn update(
        &self,
        call: &CallRecord,
        change: CallChange,
        at: Timestamp,
        event: &PlatformEvent,
        provenance: Provenance,
    ) -> Result<ApplyOutcome, StoreError> {
        let cause = provenance.cause(event);
        match self
            .record_change(&call.id, &CallUpdate::new(change, at), &cause)
            .await?
        {
            Some(r) if r.updated.changed => {
                self.emit_recorded(r, cause).await;
                Ok(ApplyOutcome::Applied)
            }
            Some(_) => Ok(ApplyOutcome::Unchanged),
            None => Ok(ApplyOutcome::Ignored),
        }
    }

    /// [`Self::emit_logged`] of a change the store recorded, skipping what it did.
    async fn emit_recorded(&self, r: ChangeRecorded, cause: CallEventCause) {
        let (logged, timers_set) = (r.logged.is_some(), r.timers_set);
        self.emit_logged(r.updated.into_event(cause), logged, timers_set)
            .await;
    }

    /// Applies `update` to call `id` through the store, with its log entry and its
    /// timers where the store can set them in the same step
    /// ([`crate::backend::change_record`]).
    async fn record_change(
        &self,
        id: &CallId,
        update: &CallUpdate,
        cause: &CallEventCause,
    ) -> Result<Option<ChangeRecorded>, StoreError> {
        let plan = |call: &CallRecord, previous: CallState| {
            self.timers.plan_change(call, Some(previous), cause)
        };
        let change = ChangeRecording::new(id, update, &*self.events, self.timers.store(), &plan);
        self.store.record_change(change).await
    }

    /// Ends a call from our side (hang-up, or the platform no longer knowing it).
    pub(crate) async fn end_locally(
        &self,
        call: &CallRecord,
        reason: &str,
        cause: CallEventCause,
    ) -> Result<(), StoreError> {
        let change = match cause {
            CallEventCause::HungUp => CallChange::EndedHere(LocalEnd::HangUp),
            _ => CallChange::Ended {
                reason: Some(reason.to_owned()),
                sip_code: None,
                authoritative: false,
            },
        };
        self.end_here(&call.id, change, cause).await.map(drop)
    }

    /// Applies an end we decided and tells everyone; the call as ended, or `None` when
    /// the change no longer applied (or the call is gone).
    pub(crate) async fn end_here(
        &self,
        id: &CallId,
        change: CallChange,
        cause: CallEventCause,
    ) -> Result<Option<CallRecord>, StoreError> {
        let _gate = self.gates.lock(id.as_str()).await;
        match self
            .record_change(id, &CallUpdate::new(change, Timestamp::now()), &cause)
            .await?
        {
            Some(r) if r.updated.changed => {
                let call = r.updated.call.clone();
                self.emit_recorded(r, cause).await;
                Ok(Some(call))
            }
            _ => Ok(None),
        }
    }
}

/// The poller fires timers into the lifecycle that owns it.
impl TimerOwner for Lifecycle {
    fn poller(&self) -> &TimerPoller {
        self.timers.poller()
    }

    fn end_here(
        &self,
        id: &CallId,
        change: CallChange,
        cause: CallEventCause,
    ) -> impl std::future::Future<Output = Result<Option<CallRecord>, StoreError>> + Send {
        Lifecycle::end_here(self, id, change, cause)
    }

    fn stored_call(
        &self,
        id: &CallId,
    ) -> impl std::future::Future<Output = Result<Option<CallRecord>, StoreError>> + Send {
        let store = std::sync::Arc::clone(&self.store);
        let id = id.clone();
        async move { store.call(&id).await }
    }
}
