//! Recording a call dial just placed: one store operation
//! ([`crate::api::CallStore::record_dialed`]) records it over whatever early callbacks
//! recorded of it, frees its dial slot, appends its log entry (or leaves that to
//! `emit`), sets its first timers (or leaves them to `emit`) and hands back the events
//! parked for it, which are applied after the call's own entry, so streams see
//! `dialing` before what the platform said next.

use super::{CallEvent, CallEventCause, Lifecycle};
use crate::backend::dial_record::DialRecording;
use crate::backend::error::StoreError;
use crate::call::CallRecord;
use crate::call::ticket::DialTicket;

/// A recorded dial: the call as recorded, and whether its dial slot was freed or
/// handed over to the call (by the store in the same step, or by the limits after).
pub(crate) struct Dialed {
    pub(crate) record: CallRecord,
    pub(crate) slot_freed: bool,
}

impl Lifecycle {
    /// Records a call dial just placed (`retry`: an earlier attempt failed, and may
    /// have got through), then applies the events parked for it.
    pub(crate) async fn insert_dialed(
        &self,
        record: CallRecord,
        ticket: &DialTicket,
        retry: bool,
    ) -> Result<Dialed, StoreError> {
        let _gate = self.gates.lock(record.id.as_str()).await;
        // Only early callbacks recorded as unknown calls, or an earlier attempt, can
        // have written the call before.
        let may_exist = self.record_unknown || retry;
        // The dial's first timers, for a store that sets them with the record.
        let timer_ops = self
            .timers
            .plan_change(&record, None, &CallEventCause::Dialed);
        let dial = DialRecording::new(
            record,
            ticket,
            may_exist,
            &*self.events,
            &*self.parked,
            self.timers.store(),
            &timer_ops,
        );
        let recorded = self.store.record_dialed(dial).await?;
        let record = recorded.call;
        // Handed over under the gate, before any end of the call can be emitted, so
        // the end finds the call holding its slots (or frees them at once if the call
        // was recorded ended).
        let slot_freed = recorded.slot_freed
            || match self
                .limits
                .recorded(&record.session_id, ticket, &record)
                .await
            {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "a dial slot could not be handed over");
                    false
                }
            };
        self.emit_logged(
            CallEvent::recorded(record.clone(), CallEventCause::Dialed),
            recorded.logged.is_some(),
            recorded.timers_set,
        )
        .await;
        let record = if recorded.parked.is_empty() {
            record
        } else {
            self.apply_taken(&recorded.parked).await;
            // The call is recorded either way: a failed read-back must not make the
            // dial retry (or hang up) a call the store has.
            match self.store.call(&record.id).await {
                Ok(found) => found.unwrap_or(record),
                Err(e) => {
                    tracing::warn!(error = %e, "a dialed call could not be read back");
                    record
                }
            }
        };
        Ok(Dialed { record, slot_freed })
    }
}
