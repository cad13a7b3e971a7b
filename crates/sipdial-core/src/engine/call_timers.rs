//! The call policies at work: which timers each call change arms or disarms, and the
//! poller that fires the due ones.
//!
//! Every change goes through [`PolicyTimers::on_change`] (one line in the lifecycle's
//! `emit`): a dialled call arms its ring timeout, the answer swaps it for the maximum
//! duration, every change pushes the expiry back, and the end disarms them all. One
//! poller task per API instance claims due timers from the shared
//! [`CallTimers`] and fires each: it ends the call through the lifecycle (so the
//! store, SSE, the hook and everything else reacting to changes see it, with the
//! timer as cause) and then hangs it up through the dialer. Ending first means the
//! outcome is ours whatever the platform reports for the hang-up; the state machine
//! refuses a timer that no longer applies (a ring timeout of a call answered
//! meanwhile), atomically with the store's update.
//!
//! The poller starts when the API starts serving (its first request or event, or at
//! `build()` inside a Tokio runtime), on that runtime, holds the API only weakly, and
//! is aborted when the API is dropped; a runtime that shut down takes it along and the
//! next request starts another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::task::AbortHandle;

use crate::backend::timers::{CallTimers, DueTimer, TimerOp};
use crate::call::event::CallEventCause;
use crate::call::timer::TimerKind;
use crate::call::transition::CallChange;
use crate::call::{CallRecord, CallState};
use crate::engine::lifecycle::Lifecycle;
use crate::policy::calls::{CallLimits, CallPolicies};
use crate::sync::lock;
use crate::{DialError, SipDialer, Timestamp};

/// Most timers one poll claims.
const CLAIM_BATCH: usize = 64;
/// How long a claimed timer is held back for its claimer: longer than firing takes
/// (a store update and a hang-up with its retries), so only a claimer that died
/// leaves it due again.
pub const TIMER_LEASE: Duration = Duration::from_secs(60);
/// Hang-up attempts of a timer that ended a call, and the pause after the first
/// failure (doubled after each).
const HANG_UP_ATTEMPTS: u32 = 3;
const HANG_UP_BACKOFF: Duration = Duration::from_millis(500);

/// The timers of the call policies, and this instance's poller.
pub(crate) struct PolicyTimers {
    timers: Arc<dyn CallTimers>,
    /// The policies in force (also what a route that waits for the answer is bounded
    /// by).
    pub(crate) policies: CallPolicies,
    dialer: Arc<dyn SipDialer>,
    running: Arc<AtomicBool>,
    task: Mutex<Option<AbortHandle>>,
}

impl std::fmt::Debug for PolicyTimers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyTimers")
            .field("policies", &self.policies)
            .field("running", &self.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Drop for PolicyTimers {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

/// Clears the running flag when the poller's future goes away (ended, aborted, or
/// dropped with its runtime), so the next request starts a new one.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl PolicyTimers {
    pub(crate) fn new(
        timers: Arc<dyn CallTimers>,
        policies: CallPolicies,
        dialer: Arc<dyn SipDialer>,
    ) -> Self {
        Self {
            timers,
            policies,
            dialer,
            running: Arc::new(AtomicBool::new(false)),
            task: Mutex::new(None),
        }
    }

    /// Arms and disarms `call`'s timers for a change, and makes sure this instance
    /// polls. A timer store that fails is logged: the expiry of the next change, or
    /// the store's own retention, still bounds the call.
    pub(crate) async fn on_change(
        &self,
        lifecycle: &Weak<Lifecycle>,
        call: &CallRecord,
        previous: Option<CallState>,
        cause: &CallEventCause,
    ) {
        self.serve(lifecycle);
        let limits = self.policies.limits(call.target.as_deref());
        let ops = plan(
            call,
            previous,
            cause,
            limits,
            self.policies.expiry,
            Timestamp::now(),
        );
        if ops.is_empty() {
            return;
        }
        if let Err(e) = self.timers.schedule(&call.id, &ops).await {
            tracing::warn!(error = %e, call_id = %call.id, "the call's timers could not be set");
        }
    }

    /// Starts this instance's poller on the current Tokio runtime unless it runs
    /// (nothing outside a runtime).
    pub(crate) fn serve(&self, lifecycle: &Weak<Lifecycle>) {
        if self.running.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut task = lock(&self.task);
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = Running(Arc::clone(&self.running));
        let lifecycle = lifecycle.clone();
        let every = self.policies.poll_interval;
        let handle = runtime.spawn(async move {
            let _running = running;
            poll(lifecycle, every).await;
        });
        if let Some(old) = task.replace(handle.abort_handle()) {
            old.abort();
        }
    }

    /// Fires every due timer this instance can claim.
    async fn fire_due(&self, lifecycle: &Lifecycle) {
        let due = match self.timers.claim_due(CLAIM_BATCH, TIMER_LEASE).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "due call timers could not be claimed");
                return;
            }
        };
        join_all(due.into_iter().map(|t| self.fire(lifecycle, t))).await;
    }

    /// Ends the timer's call if the timer still applies, then hangs it up.
    async fn fire(&self, lifecycle: &Lifecycle, due: DueTimer) {
        let end = due.kind.end();
        let ended = lifecycle
            .end_here(
                &due.call,
                CallChange::EndedHere(end),
                CallEventCause::Timer(due.kind),
            )
            .await;
        match ended {
            Ok(Some(call)) => {
                tracing::info!(call_id = %call.id, timer = due.kind.as_str(), "a call timer ended the call");
                self.hang_up(&call).await;
            }
            // Ended, answered (a ring timeout), or forgotten meanwhile.
            Ok(None) => {
                tracing::debug!(call_id = %due.call, timer = due.kind.as_str(), "a call timer no longer applies");
            }
            Err(e) => {
                // Left claimed: due again when the lease runs out.
                tracing::warn!(error = %e, call_id = %due.call, "a due call timer could not end its call");
                return;
            }
        }
        if let Err(e) = self.timers.complete(&due).await {
            tracing::warn!(error = %e, "a fired call timer could not be completed");
        }
    }

    /// Hangs up a call a timer ended. The platform no longer knowing it is fine (an
    /// expired call usually is gone); other failures are retried a few times.
    async fn hang_up(&self, call: &CallRecord) {
        let mut pause = HANG_UP_BACKOFF;
        for attempt in 1..=HANG_UP_ATTEMPTS {
            match self
                .dialer
                .hang_up(&call.session_id, &call.connection_id)
                .await
            {
                Ok(()) | Err(DialError::NotFound { .. }) => return,
                Err(e) if attempt < HANG_UP_ATTEMPTS => {
                    tracing::warn!(error = %e, call_id = %call.id, attempt, "hanging up a timed-out call failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => {
                    tracing::error!(error = %e, call_id = %call.id, "a timed-out call could not be hung up; the platform ends it at its own limits");
                }
            }
        }
    }
}

/// The poller: claims and fires due timers every `every` while the API lives.
async fn poll(lifecycle: Weak<Lifecycle>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(lifecycle) = lifecycle.upgrade() else {
            return;
        };
        lifecycle.timers().fire_due(&lifecycle).await;
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
