//! Applying one change to a recorded call as one store operation: the record's
//! compare-and-set, the change's event-log entry and its timer changes.
//!
//! A hang-up or a callback costs the update's round trips, then the log entry's and
//! the timers', one after the other under the call's gate. A store that also holds the
//! API's event log and timers (Redis) may do all three in one atomic step, as it does
//! for a dial ([`crate::backend::dial_record`]). Which timers change depends on the call
//! as changed, which only the store's compare-and-set knows, so they come as a plan
//! (the call policies', through the engine) to run on it: the store learns nothing
//! about timers. The default, [`CallStore::update_call`] alone, leaves the entry and
//! the timers to the API.

use crate::CallId;
use crate::backend::event_log::{EventId, EventLog};
use crate::backend::store::{CallStore, StoreError, Updated};
use crate::backend::timers::{CallTimers, TimerOp};
use crate::call::transition::CallUpdate;
use crate::call::{CallRecord, CallState};

/// The timer changes a change makes, from the call as changed and its state before.
pub type TimerPlan<'a> = &'a (dyn Fn(&CallRecord, CallState) -> Vec<TimerOp> + Send + Sync);

/// What [`CallStore::record_change`] is asked to apply.
#[non_exhaustive]
pub struct ChangeRecording<'a> {
    /// The call.
    pub id: &'a CallId,
    /// The change.
    pub update: &'a CallUpdate,
    /// The API's event log: a store may append the change's entry itself only when
    /// this is the log it writes to.
    pub events: &'a dyn EventLog,
    /// The API's call timers: a store may set the planned changes itself only when
    /// these are timers it can reach in the same step.
    pub timers: &'a dyn CallTimers,
    /// The timer changes of the change, to run on the call as changed.
    pub plan_timers: TimerPlan<'a>,
}

impl std::fmt::Debug for ChangeRecording<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeRecording")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'a> ChangeRecording<'a> {
    pub(crate) fn new(
        id: &'a CallId,
        update: &'a CallUpdate,
        events: &'a dyn EventLog,
        timers: &'a dyn CallTimers,
        plan_timers: TimerPlan<'a>,
    ) -> Self {
        Self {
            id,
            update,
            events,
            timers,
            plan_timers,
        }
    }
}

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeRecorded {
    /// The update, as [`CallStore::update_call`] reports it.
    pub updated: Updated,
    /// The event-log entry the store appended for the change, if it did (else the API
    /// appends it).
    pub logged: Option<EventId>,
    /// Whether the store set the change's planned timer changes in the same step (else
    /// the API plans and sets them).
    pub timers_set: bool,
}

impl ChangeRecorded {
    /// An update whose entry and timers are left to the API.
    pub fn new(updated: Updated) -> Self {
        Self {
            updated,
            logged: None,
            timers_set: false,
        }
    }

    /// This, with the change's entry appended by the store.
    #[must_use]
    pub fn with_logged(mut self, entry: EventId) -> Self {
        self.logged = Some(entry);
        self
    }

    /// This, with the change's timer changes set by the store.
    #[must_use]
    pub fn with_timers_set(mut self) -> Self {
        self.timers_set = true;
        self
    }
}

/// [`CallStore::record_change`] as the update alone; the entry and the timers are left
/// to the API.
pub async fn record_change_separately<S: CallStore + ?Sized>(
    store: &S,
    change: ChangeRecording<'_>,
) -> Result<Option<ChangeRecorded>, StoreError> {
    Ok(store
        .update_call(change.id, change.update)
        .await?
        .map(ChangeRecorded::new))
}
