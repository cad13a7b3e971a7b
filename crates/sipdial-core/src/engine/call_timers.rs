//! The call policies at work: which timers each call change arms or disarms.
//!
//! Every change goes through [`PolicyTimers::on_change`] (one line in the lifecycle's
//! `emit`): a dialled call arms its ring timeout, the answer swaps it for the maximum
//! duration, every change pushes the expiry back, and the end disarms them all. The
//! poller that fires the due ones is `timer_poller`; a change also makes sure it runs.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::backend::session_lease::SessionLease;
use crate::backend::timers::{CallTimers, TimerOp};
use crate::call::event::CallEventCause;
use crate::call::timer::TimerKind;
use crate::call::{CallRecord, CallState};
use crate::engine::timer_poller::{TimerOwner, TimerPoller};
use crate::policy::calls::{CallLimits, CallPolicies};
use crate::{SipDialer, Timestamp};

/// The timers of the call policies, and this instance's poller.
pub(crate) struct PolicyTimers {
    timers: Arc<dyn CallTimers>,
    /// The policies in force (also what a route that waits for the answer is bounded
    /// by).
    pub(crate) policies: CallPolicies,
    poller: TimerPoller,
}

impl std::fmt::Debug for PolicyTimers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyTimers")
            .field("policies", &self.policies)
            .field("poller", &self.poller)
            .finish_non_exhaustive()
    }
}

impl PolicyTimers {
    pub(crate) fn new(
        session_lease: Arc<dyn SessionLease>,
        timers: Arc<dyn CallTimers>,
        policies: CallPolicies,
        dialer: Arc<dyn SipDialer>,
    ) -> Self {
        let poller = TimerPoller::new(
            Arc::clone(&timers),
            dialer,
            policies.poll_interval,
            policies.reconcile.map(|settings| (settings, session_lease)),
        );
        Self {
            timers,
            policies,
            poller,
        }
    }

    /// This instance's poller.
    pub(crate) fn poller(&self) -> &TimerPoller {
        &self.poller
    }

    /// Arms and disarms `call`'s timers for a change, and makes sure this instance
    /// polls. A timer store that fails is logged: the expiry of the next change, or
    /// the store's own retention, still bounds the call.
    pub(crate) async fn on_change(
        &self,
        owner: &Weak<impl TimerOwner>,
        call: &CallRecord,
        previous: Option<CallState>,
        cause: &CallEventCause,
    ) {
        self.poller.serve(owner);
        let ops = self.plan_change(call, previous, cause);
        if ops.is_empty() {
            return;
        }
        if let Err(e) = self.timers.schedule(&call.id, &ops).await {
            tracing::warn!(error = %e, call_id = %call.id, "the call's timers could not be set");
        }
    }
}

impl PolicyTimers {
    /// The timer changes a change of `call` makes under the policies in force.
    pub(crate) fn plan_change(
        &self,
        call: &CallRecord,
        previous: Option<CallState>,
        cause: &CallEventCause,
    ) -> Vec<TimerOp> {
        let limits = self.policies.limits(call.target.as_deref());
        let mut ops = plan(
            call,
            previous,
            cause,
            limits,
            self.policies.expiry,
            Timestamp::now(),
        );
        // Every change of a live call pushes its platform check back: the threshold
        // runs from its last change.
        if let Some(r) = self.policies.reconcile
            && call.state != CallState::Ended
        {
            ops.push(TimerOp::Arm(TimerKind::Reconcile, r.after));
        }
        ops
    }

    /// The timer store, for a call store that sets a dial's timers with its record.
    pub(crate) fn store(&self) -> &dyn CallTimers {
        &*self.timers
    }

    /// A change whose timers the store set already: only makes sure this instance
    /// polls.
    pub(crate) fn on_change_set(&self, owner: &Weak<impl TimerOwner>) {
        self.poller.serve(owner);
    }
}

/// The timer changes one call change makes, given the call's policy `limits`, the
/// `expiry` and the time `now` (for a call recorded already answered, whose maximum
/// duration runs from its answer).
pub(crate) fn plan(
    call: &CallRecord,
    previous: Option<CallState>,
    cause: &CallEventCause,
    limits: CallLimits,
    expiry: Duration,
    now: Timestamp,
) -> Vec<TimerOp> {
    if call.state == CallState::Ended {
        // A refinement of an end (previous: ended) finds them gone already.
        return if previous == Some(CallState::Ended) {
            Vec::new()
        } else {
            TimerKind::ALL.into_iter().map(TimerOp::Disarm).collect()
        };
    }
    let mut ops = vec![TimerOp::Arm(TimerKind::Expiry, expiry)];
    let rank = call.state.rank();
    // Only calls dialled here ring on our clock: one recorded from the platform's
    // events was dialled elsewhere and is recorded late. (Once answered, it is a call
    // this server tracks like any other: the maximum duration applies.)
    if rank < 2
        && previous.is_none()
        && matches!(cause, CallEventCause::Dialed)
        && let Some(ring) = limits.ring_timeout
    {
        ops.push(TimerOp::Arm(TimerKind::RingTimeout, ring));
    }
    if rank == 2 && previous.is_none_or(|p| p.rank() < 2) {
        ops.push(TimerOp::Disarm(TimerKind::RingTimeout));
        if let Some(max) = limits.max_duration {
            let since_answer = call
                .answered_at
                .map_or(0, |a| now.as_millis().saturating_sub(a.as_millis()));
            ops.push(TimerOp::Arm(
                TimerKind::MaxDuration,
                max.saturating_sub(Duration::from_millis(since_answer)),
            ));
        }
    }
    ops
}

#[cfg(test)]
#[path = "call_timers_tests.rs"]
mod tests;
