//! Recording a call dial just placed, as one store operation: the record itself
//! (merged with what early callbacks already recorded of it), the dial slot it takes
//! over, its event-log entry and the events parked for it.
//!
//! Each of those is a round trip to a shared store, and the dial's answer waits for
//! all of them, so [`crate::api::CallStore::record_dialed`] lets a store that holds the
//! event log and the parked events too (Redis) do them in one atomic step. The default
//! ([`record_dialed_separately`]) composes the separate calls, so every other store
//! works unchanged. The call's first timers (its expiry, and its ring timeout when one
//! is set) come along as data: a store that shares its connection with the API's
//! timers (Redis) may set them in the same step, through the timers' own code, so
//! that the store learns nothing about timers and the dial costs one round trip less.

use crate::backend::event_log::{EventId, EventLog};
use crate::backend::parked::ParkedEvents;
use crate::backend::store::{CallStore, StoreError};
use crate::backend::timers::{CallTimers, TimerOp};
use crate::call::CallRecord;
use crate::call::ticket::DialTicket;
use crate::events::PlatformEvent;

/// What [`crate::api::CallStore::record_dialed`] is asked to record.
#[non_exhaustive]
pub struct DialRecording<'a> {
    /// The call as the dial placed it.
    pub call: CallRecord,
    /// The dial slot the call takes over (from [`crate::api::DialLimits::admit`]).
    pub ticket: &'a DialTicket,
    /// Whether a record of the call may exist already (an early callback recorded it,
    /// or an earlier attempt at recording it got through): a store that must read to
    /// know reads only then.
    pub may_exist: bool,
    /// The API's event log: a store may append the call's entry itself only when this
    /// is the log it writes to.
    pub events: &'a dyn EventLog,
    /// The API's parked events: likewise.
    pub parked: &'a dyn ParkedEvents,
    /// The API's call timers: a store may set `timer_ops` itself only when these are
    /// timers it can reach in the same step.
    pub timers: &'a dyn CallTimers,
    /// The timer changes the dial makes to `call` as placed (planned by the call
    /// policies). Valid only for that record: a store that records over an earlier
    /// one leaves them to the API, which plans them for the call as recorded.
    pub timer_ops: &'a [TimerOp],
}

impl std::fmt::Debug for DialRecording<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialRecording")
            .field("call", &self.call.id)
            .field("may_exist", &self.may_exist)
            .finish_non_exhaustive()
    }
}

impl<'a> DialRecording<'a> {
    pub(crate) fn new(
        call: CallRecord,
        ticket: &'a DialTicket,
        may_exist: bool,
        events: &'a dyn EventLog,
        parked: &'a dyn ParkedEvents,
        timers: &'a dyn CallTimers,
        timer_ops: &'a [TimerOp],
    ) -> Self {
        Self {
            call,
            ticket,
            may_exist,
            events,
            parked,
            timers,
            timer_ops,
        }
    }
}

/// What recording a dial did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DialRecorded {
    /// The call as recorded (with the progress of an earlier record kept).
    pub call: CallRecord,
    /// Whether the store freed the dial slot in the same step (else the API frees it).
    pub slot_freed: bool,
    /// The event-log entry the store appended for the call, if it did (else the API
    /// appends it).
    pub logged: Option<EventId>,
    /// The events parked for the call, oldest first, now taken: the API applies them
    /// after the call's own entry.
    pub parked: Vec<PlatformEvent>,
    /// Whether the store set the dial's `timer_ops` in the same step (else the API
    /// sets the timers of the call as recorded).
    pub timers_set: bool,
}

impl DialRecorded {
    /// What a store reports.
    pub fn new(
        call: CallRecord,
        slot_freed: bool,
        logged: Option<EventId>,
        parked: Vec<PlatformEvent>,
    ) -> Self {
        Self {
            call,
            slot_freed,
            logged,
            parked,
            timers_set: false,
        }
    }

    /// This, with the dial's timer changes set by the store in the same step.
    #[must_use]
    pub fn with_timers_set(mut self) -> Self {
        self.timers_set = true;
        self
    }
}

/// The call a dial placed, over an earlier record of it (made from early callbacks, or
/// by an earlier attempt): the dial's own facts (ids, target, stream, creation time)
/// with everything the earlier record learned since (state, times, end, and any
/// progress field added later), so a record never moves backwards.
pub fn keep_earlier_progress(dialed: CallRecord, earlier: CallRecord) -> CallRecord {
    CallRecord {
        id: dialed.id,
        session_id: dialed.session_id,
        target: dialed.target,
        connection_id: dialed.connection_id,
        stream_id: dialed.stream_id.or(earlier.stream_id),
        created_at: dialed.created_at,
        ..earlier
    }
}

/// [`crate::api::CallStore::record_dialed`] as separate calls: read the earlier record
/// (only when one may exist), record the call under its ticket, and take its parked
/// events; the entry is left to the API. A failure to take parked events is logged,
/// not failed: they stay parked (and expire), and the call is recorded.
pub async fn record_dialed_separately<S: CallStore + ?Sized>(
    store: &S,
    dial: DialRecording<'_>,
) -> Result<DialRecorded, StoreError> {
    let earlier = if dial.may_exist {
        store.call(&dial.call.id).await?
    } else {
        None
    };
    let call = match earlier {
        Some(earlier) => keep_earlier_progress(dial.call, earlier),
        None => dial.call,
    };
    let slot_freed = store.insert_dialed_call(call.clone(), dial.ticket).await?;
    let parked = match dial.parked.take(&call.id, &call.connection_id).await {
        Ok(parked) => parked,
        Err(e) => {
            tracing::warn!(error = %e, "the events parked for a call could not be read");
            Vec::new()
        }
    };
    Ok(DialRecorded::new(call, slot_freed, None, parked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallState;
    use crate::{CallId, ConnectionId, SessionId, StreamId, Timestamp};

    fn record(state: CallState, at: u64) -> CallRecord {
        CallRecord {
            state,
            ..CallRecord::new(
                CallId::new("c1").unwrap(),
                SessionId::new("1_s").unwrap(),
                ConnectionId::new("k1").unwrap(),
                Timestamp::from_millis(at),
            )
        }
    }

    #[test]
    fn the_dial_s_facts_go_over_the_earlier_record_s_progress() {
        let dialed = CallRecord {
            target: Some("support".to_owned()),
            stream_id: Some(StreamId::new("st").unwrap()),
            ..record(CallState::Dialing, 10)
        };
        let earlier = CallRecord {
            ended_at: Some(Timestamp::from_millis(30)),
            end_reason: Some("Busy Here".to_owned()),
            sip_code: Some(486),
            ..record(CallState::Ended, 30)
        };
        let merged = keep_earlier_progress(dialed, earlier);
        assert_eq!(merged.target.as_deref(), Some("support"));
        assert_eq!(merged.stream_id.as_ref().map(StreamId::as_str), Some("st"));
        assert_eq!(merged.created_at, Timestamp::from_millis(10));
        assert_eq!(merged.state, CallState::Ended, "never back to dialing");
        assert_eq!(merged.updated_at, Timestamp::from_millis(30));
        assert_eq!(merged.sip_code, Some(486));
        assert_eq!(merged.end_reason.as_deref(), Some("Busy Here"));
    }
}
