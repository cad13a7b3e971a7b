//! Driving calls and callbacks from a test: the far end's moves, call scripts, where
//! callbacks go and how, and what was delivered.

use std::time::Duration;

use super::FakePlatform;
use crate::callbacks::{
    CallProgress, CallScript, CallbackRecord, Delivery, EndReason, FAR_END_CLEARING,
};
use crate::sync::lock;

impl FakePlatform {
    /// Ends a connection as the far end would (a SIP BYE, a browser leaving): the
    /// connection and its streams go, and a later hang-up gets 404. The callbacks say
    /// `clientDisconnected`; for a SIP leg `callDestroyed` says `700` `Normal Clearing`
    /// (use [`FakePlatform::advance_call`] with [`CallProgress::HangUp`] for another
    /// code). False when there was no such connection.
    ///
    /// With SIP on, the real SIP call is ended too (CANCEL or BYE), so the far end's
    /// dialog does not outlive the platform's call.
    pub fn end_connection(&self, session_id: &str, connection_id: &str) -> bool {
        let call_id = lock(&self.inner.store).session(session_id).and_then(|s| {
            s.connections
                .iter()
                .find(|c| c.connection_id == connection_id)
                .and_then(|c| c.sip.as_ref().map(|leg| leg.call_id.clone()))
        });
        let ended = self
            .inner
            .lifecycle
            .remove_connection(
                session_id,
                connection_id,
                EndReason::ClientDisconnected,
                Some(FAR_END_CLEARING),
            )
            .is_ok();
        if ended && let (Some(sip), Some(call_id)) = (&self.inner.sip, call_id) {
            sip.hang_up(&call_id);
        }
        ended
    }

    /// Moves the SIP call `call_id` (the `id` the dial answered) one step, as its far
    /// end would, and sends the matching callbacks. False when the call is not (or no
    /// longer) there or the step does not apply to its state (e.g. ringing once
    /// answered).
    ///
    /// With SIP on, a [`CallProgress::HangUp`] also ends the real SIP call; the other
    /// steps only change what the platform reports.
    pub fn advance_call(&self, call_id: &str, step: CallProgress) -> bool {
        let moved = self.inner.lifecycle.advance(call_id, &step);
        if moved
            && matches!(step, CallProgress::HangUp { .. })
            && let Some(sip) = &self.inner.sip
        {
            sip.hang_up(call_id);
        }
        moved
    }

    /// What the far end of every call dialled from now on does; replaces any earlier
    /// standing script. Calls already placed keep theirs.
    pub fn script_calls(&self, script: CallScript) {
        self.inner.lifecycle.set_script(Some(script));
    }

    /// What the far end of the next dialled call does, ahead of the standing script;
    /// several queue up, one per dial, in order.
    pub fn script_next_call(&self, script: CallScript) {
        self.inner.lifecycle.queue_script(script);
    }

    /// Calls dialled from now on stay dialing until moved by hand (forgets the standing
    /// script and every queued one).
    pub fn clear_call_script(&self) {
        self.inner.lifecycle.clear_scripts();
    }

    /// Where callbacks go from now on; `None` stops sending them (they are still
    /// recorded, as [`crate::DeliveryOutcome::NoUrl`]).
    pub fn set_callback_url(&self, url: Option<&str>) {
        lock(&self.inner.lifecycle.outbox.config).url = url.map(str::to_owned);
    }

    /// The secret callbacks are signed with from now on; `None` sends them unsigned.
    pub fn set_callback_secret(&self, secret: Option<&str>) {
        lock(&self.inner.lifecycle.outbox.config).secret = secret.map(str::to_owned);
    }

    /// How callbacks are delivered from now on.
    pub fn set_callback_delivery(&self, delivery: Delivery) {
        lock(&self.inner.lifecycle.outbox.config).delivery = delivery;
    }

    /// Every callback delivery attempt so far, in order (one record per attempt and
    /// copy; an event due while no URL was set is one [`crate::DeliveryOutcome::NoUrl`]
    /// record).
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        lock(&self.inner.lifecycle.outbox.records).clone()
    }

    /// The attempts that were made and did not get a 2xx.
    pub fn callback_failures(&self) -> Vec<CallbackRecord> {
        self.callbacks()
            .into_iter()
            .filter(CallbackRecord::failed)
            .collect()
    }

    /// Forgets the recorded callback attempts.
    pub fn clear_callbacks(&self) {
        lock(&self.inner.lifecycle.outbox.records).clear();
    }

    /// Waits until `done` holds for the recorded callback attempts, up to `timeout`;
    /// returns whether it did. Delivery runs in the background, so this is how a test
    /// waits for "the ringing callback was delivered".
    pub async fn wait_for_callbacks(
        &self,
        timeout: Duration,
        done: impl Fn(&[CallbackRecord]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(&lock(&self.inner.lifecycle.outbox.records)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
