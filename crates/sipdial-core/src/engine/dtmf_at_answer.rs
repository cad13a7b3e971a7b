//! DTMF at answer: the digits a target (or, within the allow-list rules, a dial
//! request) carries are played into the call once, when it is first answered, e.g. the
//! PIN of a conference bridge.
//!
//! The dial keeps the digits in [`PendingDtmf`] under the call's id; the change that
//! answers the call (rank below 2 to 2, applied once by the store's atomic update, on
//! whichever replica received it) takes them and plays them through the dialer.
//! Taking is atomic, so a second answer (a redelivered callback, a replica racing
//! another) finds nothing to send. An ended call's digits are dropped. A failed send
//! is logged and counted; it never fails the change that triggered it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::error::StoreError;
use crate::backend::pending_dtmf::PendingDtmf;
use crate::call::{CallRecord, CallState};
use crate::{CallId, Dtmf, DtmfTarget, SipDialer};

/// The reaction, shared by the lifecycle engine and the dial route.
pub(crate) struct DtmfAtAnswer {
    dialer: Arc<dyn SipDialer>,
    pending: Arc<dyn PendingDtmf>,
    failures: AtomicU64,
}

impl DtmfAtAnswer {
    pub(crate) fn new(dialer: Arc<dyn SipDialer>, pending: Arc<dyn PendingDtmf>) -> Arc<Self> {
        Arc::new(Self {
            dialer,
            pending,
            failures: AtomicU64::new(0),
        })
    }

    /// Keeps the digits of a call just placed until it is answered.
    pub(crate) async fn hold(&self, call: &CallId, digits: &Dtmf) -> Result<(), StoreError> {
        self.pending.put(call, digits).await
    }

    /// How many sends failed so far (the store or the dialer refused).
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Reacts to one change of `call` (called by `Lifecycle::emit`, with the call's gate
    /// held): the work runs in a task of its own, so neither the gate nor the
    /// callback that caused the change waits for the platform.
    pub(crate) fn on_change(self: &Arc<Self>, call: &CallRecord, previous: Option<CallState>) {
        let answered = is_answer(call, previous);
        if !answered && call.state != CallState::Ended {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(call_id = %call.id, "no runtime to send the digits at answer on");
            return;
        };
        let this = Arc::clone(self);
        let call = call.clone();
        drop(runtime.spawn(async move {
            if answered {
                this.send(&call).await;
            } else if let Err(e) = this.pending.take(&call.id).await {
                tracing::debug!(error = %e, call_id = %call.id, "pending digits of an ended call not dropped");
            }
        }));
    }

    /// Plays the digits pending for `call`, if any are left: called on the answer,
    /// and by the dial route when the call it recorded was already answered (early
    /// callbacks may have answered it before its digits were kept).
    pub(crate) async fn send(&self, call: &CallRecord) {
        let digits = match self.pending.take(&call.id).await {
            Ok(Some(d)) => d,
            Ok(None) => return,
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, call_id = %call.id, "the digits at answer could not be read");
                return;
            }
        };
        let target = DtmfTarget::Connection(call.session_id.clone(), call.connection_id.clone());
        match self.dialer.play_dtmf(&target, &digits).await {
            Ok(()) => tracing::info!(call_id = %call.id, "digits at answer sent"),
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, call_id = %call.id, "the digits at answer could not be sent");
            }
        }
    }
}

/// Whether this change is the call's answer: it reached rank 2 (active, or on hold
/// straight away) from below, or was recorded already there.
pub(crate) fn is_answer(call: &CallRecord, previous: Option<CallState>) -> bool {
    call.state.rank() == 2 && previous.is_none_or(|p| p.rank() < 2)
}
