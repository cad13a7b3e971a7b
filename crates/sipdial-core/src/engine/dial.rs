//! Placing a dial and recording it, as one unit the HTTP layer runs to completion
//! (`completion`): the platform request, the digits kept for the answer, the record
//! (retried, and hung up if the store never takes it) and the dial slot handed over.
//! The route (`http/handlers/dial.rs`) checks and admits the dial before; it maps a
//! [`DialFailure`] to its answer after.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};

use crate::backend::limits::DialSlot;
use crate::call::CallRecord;
use crate::call::ticket::DialTicket;
use crate::engine::dtmf_at_answer::DtmfAtAnswer;
use crate::engine::lifecycle::{Dialed, Lifecycle};
use crate::engine::metrics::time_platform_dial;
use crate::{ConnectionId, DialError, DialRequest, Dtmf, SipDialer};

/// Why a dial failed once placing began.
#[derive(Debug)]
pub(crate) enum DialFailure {
    /// The platform refused or failed the dial (already logged and counted).
    Platform(DialError),
    /// The platform placed the call but the store never took it; it was hung up
    /// (`hung_up`) or that failed too.
    Unrecorded {
        connection_id: ConnectionId,
        hung_up: bool,
    },
}

/// Everything placing one admitted dial needs, moved into the work that outlives the
/// request.
pub(crate) struct Placement {
    pub(crate) dialer: Arc<dyn SipDialer>,
    pub(crate) lifecycle: Arc<Lifecycle>,
    pub(crate) at_answer: Arc<DtmfAtAnswer>,
    pub(crate) request: DialRequest,
    pub(crate) dtmf_after_answer: Option<Dtmf>,
    pub(crate) target_name: Option<String>,
    pub(crate) slot: DialSlot,
}

/// Places the dial and records the call; frees or hands over the dial slot either way.
pub(crate) async fn place_and_record(placement: Placement) -> Result<CallRecord, DialFailure> {
    let Placement {
        dialer,
        lifecycle,
        at_answer,
        request,
        dtmf_after_answer,
        target_name,
        slot,
    } = placement;
    let call = match time_platform_dial(dialer.dial(request)).await {
        Ok(call) => call,
        Err(e) => {
            // Freed before answering, so the session's next dial already finds
            // the slot free: dropped, the slot would be released later, by a
            // task of its own.
            slot.release().await;
            crate::engine::metrics::platform_failed("dial", &e);
            return Err(DialFailure::Platform(e));
        }
    };
    tracing::Span::current().record("call_id", call.id.as_str());
    // Kept before the call is recorded: the answer may come right after.
    if let Some(digits) = &dtmf_after_answer
        && let Err(e) = at_answer.hold(&call.id, digits).await
    {
        tracing::warn!(error = %e, "the digits at answer could not be kept; they will not be sent");
    }
    let record = CallRecord::dialed(&call, target_name);
    match record_dialed(&lifecycle, &*dialer, record, &slot).await {
        Ok(dialed) => {
            if dialed.slot_freed {
                slot.disarm();
            } else {
                slot.release().await;
            }
            if dtmf_after_answer.is_some() {
                // Early callbacks may have answered it before the digits were
                // kept; taking them is atomic, so they still go out once.
                at_answer.on_change(&dialed.record, None);
            }
            Ok(dialed.record)
        }
        Err(e) => {
            slot.release().await;
            Err(e)
        }
    }
}

/// Attempts at recording a placed call before giving up, and the pause after the first
/// failure (doubled after each one): about one second in all, so a store that blinks
/// (a failover, a reconnect) does not cost a placed call.
const RECORD_ATTEMPTS: usize = 4;
const RECORD_BACKOFF: Duration = Duration::from_millis(150);

/// Records a call the platform accepted. A placed call is never silently lost: when the
/// store still fails after the retries, the call is hung up (an untracked call could
/// not be listed, controlled or counted against the limits) and the failure says
/// whether the hang-up worked (the HTTP layer answers it as a 503).
async fn record_dialed(
    lifecycle: &Lifecycle,
    dialer: &dyn SipDialer,
    record: CallRecord,
    slot: &DialSlot,
) -> Result<Dialed, DialFailure> {
    let none = DialTicket(String::new());
    let ticket = slot.ticket().unwrap_or(&none);
    let mut retry = false;
    let insert = || {
        // A retry tells the store an earlier attempt may have got through.
        let again = std::mem::replace(&mut retry, true);
        lifecycle.insert_dialed(record.clone(), ticket, again)
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(RECORD_BACKOFF)
        .with_factor(2.0)
        .with_max_times(RECORD_ATTEMPTS - 1);
    let recorded = insert
        .retry(backoff)
        .notify(|e, wait| tracing::warn!(error = %e, retry_in = ?wait, "a placed call could not be recorded; retrying"))
        .await;
    let error = match recorded {
        Ok(dialed) => return Ok(dialed),
        Err(e) => e,
    };
    tracing::error!(error = %error, "call store failed");
    let hung_up = match dialer
        .hang_up(&record.session_id, &record.connection_id)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "could not hang up an unrecorded call");
            false
        }
    };
    Err(DialFailure::Unrecorded {
        connection_id: record.connection_id,
        hung_up,
    })
}
