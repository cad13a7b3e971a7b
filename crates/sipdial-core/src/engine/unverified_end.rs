//! Unverified ends: an unsigned callback (accepted only when the host opted in with
//! `accept_unsigned_callbacks`) that says a call ended may be forged. Applied as it is,
//! it would free the call's limit slot, disarm its timers and make `DELETE` a no-op
//! while the real leg keeps running and billing. So before such an end is applied,
//! the platform is asked to disconnect the leg ([`confirm`]): once that answered (a 404
//! means the leg was gone already), the end is true whoever sent it, and the slot it
//! frees matches a leg that no longer runs. A forged end can then only end a call
//! early, never run more legs than the limits allow.

use crate::backend::store::{CallStore, StoreError};
use crate::call::{CallRecord, CallState};
use crate::events::{PlatformCallState, PlatformEvent, PlatformEventKind};
use crate::{DialError, SipDialer};

/// Why an unverified end could not be confirmed; the callback is then not applied
/// (the platform retries a real one).
#[derive(Debug)]
pub(crate) enum Unconfirmed {
    /// The store could not look the call up.
    Store(StoreError),
    /// The platform did not answer the disconnect.
    Platform(DialError),
}

/// Disconnects the live call `event` says ended, if it is one of ours and still live,
/// before an unverified end is applied; `Ok` when there is nothing to confirm.
pub(crate) async fn confirm(
    store: &dyn CallStore,
    dialer: &dyn SipDialer,
    event: &PlatformEvent,
) -> Result<(), Unconfirmed> {
    let Some(call) = ended_call(store, event).await.map_err(Unconfirmed::Store)? else {
        return Ok(());
    };
    match dialer.hang_up(&call.session_id, &call.connection_id).await {
        Ok(()) | Err(DialError::NotFound { .. }) => {
            tracing::info!(call_id = %call.id, "an unverified end was confirmed by a disconnect");
            Ok(())
        }
        Err(e) => Err(Unconfirmed::Platform(e)),
    }
}

/// The live call an end event names, if it is an end and the store has that call.
async fn ended_call(
    store: &dyn CallStore,
    event: &PlatformEvent,
) -> Result<Option<CallRecord>, StoreError> {
    let found = match &event.kind {
        PlatformEventKind::CallDestroyed { call, .. }
        | PlatformEventKind::CallUpdated {
            call,
            state: PlatformCallState::Hangup,
        } => {
            let by_id = match &call.id {
                Some(id) => store.call(id).await?,
                None => None,
            };
            match (by_id, &call.connection_id) {
                (Some(found), _) => Some(found),
                (None, Some(c)) => store.call_by_connection(c).await?,
                (None, None) => None,
            }
        }
        PlatformEventKind::ConnectionDestroyed { connection_id, .. } => {
            store.call_by_connection(connection_id).await?
        }
        _ => None,
    };
    Ok(found.filter(|c| c.state != CallState::Ended))
}
