//! Events about calls the store does not have: recorded as calls when the host opted
//! in (and the session may hold them, see `provenance`), or parked for a dial that has
//! not recorded its call yet and applied when it does.

use super::{ApplyOutcome, CallEvent, Lifecycle, Provenance};
use crate::Timestamp;
use crate::backend::error::StoreError;
use crate::call::CallRecord;
use crate::call::transition::CallChange;
use crate::events::{CallRef, PlatformEvent};

impl Lifecycle {
    /// A SIP event about a call the store does not have.
    pub(super) async fn unknown_call(
        &self,
        event: &PlatformEvent,
        call: &CallRef,
        change: Option<CallChange>,
        at: Timestamp,
        provenance: Provenance,
    ) -> Result<ApplyOutcome, StoreError> {
        if self.record_unknown
            && let (Some(id), Some(connection_id), Some(session)) =
                (&call.id, &call.connection_id, &event.session_id)
            && self.adopts(session, provenance).await?
        {
            let created = call.created_at.unwrap_or(at);
            let record =
                CallRecord::new(id.clone(), session.clone(), connection_id.clone(), created);
            self.store.insert_call(record.clone()).await?;
            self.emit(CallEvent::recorded(record.clone(), provenance.cause(event)))
                .await;
            if let Some(change) = change {
                self.update(&record, change, at, event, provenance).await?;
            }
            return Ok(ApplyOutcome::Applied);
        }
        // Perhaps our own call, whose dial answer has not been recorded yet.
        self.parked.park(event).await?;
        tracing::debug!(event = event.name(), "event for an unknown call");
        // Another replica may have recorded the call between the lookup above and the
        // park: then nobody else would take the event back.
        if let Some(found) = self.find(call).await? {
            self.apply_parked(&found).await?;
            return Ok(ApplyOutcome::Applied);
        }
        Ok(ApplyOutcome::Ignored)
    }

    /// Applies the events parked for `call`; how many there were.
    pub(super) async fn apply_parked(&self, call: &CallRecord) -> Result<usize, StoreError> {
        let parked = self.parked.take(&call.id, &call.connection_id).await?;
        self.apply_taken(&parked).await;
        Ok(parked.len())
    }

    /// Applies parked events just taken, in order; a failure is logged (the call
    /// itself is recorded, and the platform's later events still arrive).
    pub(super) async fn apply_taken(&self, parked: &[PlatformEvent]) {
        for event in parked {
            // Their provenance was not kept while parked.
            if let Err(e) = Box::pin(self.apply_locked(event, Provenance::Unverified)).await {
                tracing::warn!(error = %e, "a parked event could not be applied");
            }
        }
    }
}
