//! The poller that fires due call timers: one task per API instance claims them from
//! the shared [`CallTimers`] and fires each: it ends the call through its owner (the
//! lifecycle, so the store, SSE, the hook, the event log, the webhooks and the timers
//! themselves see it, with the timer as cause) and then hangs it up through the
//! dialer. Ending first means the outcome is ours whatever the platform reports for
//! the hang-up; the state machine refuses a timer that no longer applies (a ring
//! timeout of a call answered meanwhile), atomically with the store's update.
//!
//! The poller starts when the API starts serving (its first request or event, or at
//! `build()` inside a Tokio runtime), on that runtime, holds the API only weakly, and
//! is aborted when the API is dropped; a runtime that shut down takes it along and the
//! next request starts another.
//!
//! It knows its owner only as a [`TimerOwner`], which the lifecycle implements: the
//! lifecycle arms timers (`call_timers`) and owns this poller, the poller calls back
//! into it, and the files still depend one way.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::task::AbortHandle;

use crate::backend::session_lease::{SESSION_LEASE_TTL, SessionLease};
use crate::backend::store::StoreError;
use crate::backend::timers::{CallTimers, DueTimer, TimerOp};
use crate::call::event::CallEventCause;
use crate::call::timer::TimerKind;
use crate::call::transition::CallChange;
use crate::call::{CallRecord, CallState};
use crate::policy::calls::Reconcile;
use crate::sync::lock;
use crate::{CallId, ConnectionState, DialError, SessionId, SipDialer};

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

/// What the poller fires timers into: the lifecycle, which owns the poller.
pub(crate) trait TimerOwner: Send + Sync + 'static {
    /// The owner's poller.
    fn poller(&self) -> &TimerPoller;

    /// Applies an end the timer decided and tells everyone; the call as ended, or
    /// `None` when the end no longer applied (or the call is gone).
    fn end_here(
        &self,
        id: &CallId,
        change: CallChange,
        cause: CallEventCause,
    ) -> impl Future<Output = Result<Option<CallRecord>, StoreError>> + Send;

    /// The call `id` as stored (for a reconcile check: its session and leg).
    fn stored_call(
        &self,
        id: &CallId,
    ) -> impl Future<Output = Result<Option<CallRecord>, StoreError>> + Send;
}

/// This instance's poller of the call policies' timers.
pub(crate) struct TimerPoller {
    timers: Arc<dyn CallTimers>,
    dialer: Arc<dyn SipDialer>,
    every: Duration,
    /// Reconciliation, when on (its timers fire into a platform check, not an end),
    /// with the lease that lets one replica at a time list a session.
    reconcile: Option<(Reconcile, Arc<dyn SessionLease>)>,
    running: Arc<AtomicBool>,
    task: Mutex<Option<AbortHandle>>,
}

impl std::fmt::Debug for TimerPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerPoller")
            .field("every", &self.every)
            .field("running", &self.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Drop for TimerPoller {
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

impl TimerPoller {
    /// A poller claiming from `timers` every `every`, hanging up through `dialer`.
    pub(crate) fn new(
        timers: Arc<dyn CallTimers>,
        dialer: Arc<dyn SipDialer>,
        every: Duration,
        reconcile: Option<(Reconcile, Arc<dyn SessionLease>)>,
    ) -> Self {
        Self {
            timers,
            dialer,
            every,
            reconcile,
            running: Arc::new(AtomicBool::new(false)),
            task: Mutex::new(None),
        }
    }

    /// Starts this instance's poller on the current Tokio runtime unless it runs
    /// (nothing outside a runtime).
    pub(crate) fn serve<O: TimerOwner>(&self, owner: &Weak<O>) {
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
        let owner = owner.clone();
        let every = self.every;
        let handle = runtime.spawn(async move {
            let _running = running;
            poll(owner, every).await;
        });
        if let Some(old) = task.replace(handle.abort_handle()) {
            old.abort();
        }
    }

    /// Fires every due timer this instance can claim.
    async fn fire_due<O: TimerOwner>(&self, owner: &O) {
        let due = match self.timers.claim_due(CLAIM_BATCH, TIMER_LEASE).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "due call timers could not be claimed");
                return;
            }
        };
        let (checks, ends): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|t| t.kind == TimerKind::Reconcile);
        join_all(ends.into_iter().map(|t| self.fire(owner, t))).await;
        if !checks.is_empty() {
            self.reconcile(owner, checks).await;
        }
    }

    /// Checks the calls of due reconcile timers against the platform: one List
    /// Connections per session of the batch. A leg the platform no longer lists, or
    /// lists `Disconnected`, ends its call through the owner (once: the state machine
    /// refuses a second end, atomically with the store); a leg still there is checked
    /// again after the interval; a platform error ends nothing and backs the session's
    /// checks off (its `Retry-After` when rate limited).
    async fn reconcile<O: TimerOwner>(&self, owner: &O, due: Vec<DueTimer>) {
        let Some((settings, lease)) = &self.reconcile else {
            // Reconciliation was turned off: the timers left from before just go.
            for t in &due {
                let _ = self.timers.complete(t).await;
            }
            return;
        };
        let mut by_session: Vec<(SessionId, Vec<(DueTimer, CallRecord)>)> = Vec::new();
        for t in due {
            match owner.stored_call(&t.call).await {
                Ok(Some(call)) if call.state != CallState::Ended => {
                    match by_session.iter_mut().find(|(s, _)| *s == call.session_id) {
                        Some((_, calls)) => calls.push((t, call)),
                        None => by_session.push((call.session_id.clone(), vec![(t, call)])),
                    }
                }
                // Ended or forgotten meanwhile: nothing to check.
                Ok(_) => {
                    let _ = self.timers.complete(&t).await;
                }
                // Left claimed: due again when the lease runs out.
                Err(e) => {
                    tracing::warn!(error = %e, call_id = %t.call, "a call to reconcile could not be read");
                }
            }
        }
        let settings = *settings;
        for (session, calls) in by_session {
            match lease.try_lease(&session, SESSION_LEASE_TTL).await {
                Ok(true) => {}
                // Another replica is reconciling the session: these calls' turn
                // comes a couple of polls later (its listing takes no longer), not a
                // whole interval later.
                Ok(false) => {
                    let soon = (self.every * 2).min(settings.every);
                    for (t, call) in calls {
                        self.check_again(&t, &call.id, soon).await;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, session_id = %session, "the session's reconcile lease could not be taken");
                    for (t, call) in calls {
                        self.check_again(&t, &call.id, settings.every).await;
                    }
                    continue;
                }
            }
            self.reconcile_session(owner, &session, &calls, settings)
                .await;
            if let Err(e) = lease.release(&session).await {
                tracing::debug!(error = %e, "a session's reconcile lease could not be let go; it lapses");
            }
        }
    }

    /// The checks of one session's calls, under its lease.
    async fn reconcile_session<O: TimerOwner>(
        &self,
        owner: &O,
        session: &SessionId,
        calls: &[(DueTimer, CallRecord)],
        settings: Reconcile,
    ) {
        let listed = match self.dialer.list_connections(session).await {
            Ok(listed) => listed,
            Err(e) => {
                let back_off = match &e {
                    DialError::RateLimited {
                        retry_after: Some(after),
                    } => (*after).max(settings.every * 2),
                    _ => settings.every * 2,
                };
                tracing::warn!(error = %e, session_id = %session, retry_in = ?back_off, "the platform's connections could not be listed; nothing is ended");
                crate::engine::metrics::reconcile_checked("error");
                for (t, call) in calls {
                    self.check_again(t, &call.id, back_off).await;
                }
                return;
            }
        };
        for (t, call) in calls {
            let leg = listed
                .iter()
                .find(|c| c.connection_id == call.connection_id);
            let gone = leg.is_none_or(|c| c.state == ConnectionState::Disconnected);
            if !gone {
                crate::engine::metrics::reconcile_checked("present");
                self.check_again(t, &call.id, settings.every).await;
                continue;
            }
            match owner
                .end_here(
                    &call.id,
                    CallChange::EndedHere(TimerKind::Reconcile.end()),
                    CallEventCause::Timer(TimerKind::Reconcile),
                )
                .await
            {
                Ok(Some(ended)) => {
                    crate::engine::metrics::reconcile_checked("ended");
                    tracing::info!(call_id = %ended.id, listed = leg.is_some(), "reconciled: the platform no longer has the call's leg; ended it");
                }
                Ok(None) => {
                    tracing::debug!(call_id = %call.id, "reconciled: the call ended meanwhile");
                }
                Err(e) => {
                    tracing::warn!(error = %e, call_id = %call.id, "a reconciled call could not be ended");
                    continue;
                }
            }
            let _ = self.timers.complete(t).await;
        }
        // Legs the platform has that no call of ours in this batch is: counted (not
        // dialed, not ended) for an operator to look at. The list does not tell SIP
        // legs from browsers, so the count includes the session's clients.
        let unknown = listed
            .iter()
            .filter(|c| c.state != ConnectionState::Disconnected)
            .filter(|c| {
                !calls
                    .iter()
                    .any(|(_, call)| call.connection_id == c.connection_id)
            })
            .count();
        if unknown > 0 {
            tracing::debug!(session_id = %session, unknown, "reconcile: connections without a call checked in this batch");
            crate::engine::metrics::reconcile_unknown(unknown);
        }
    }

    /// Arms the call's reconcile check again after `after`, then lets the claimed one
    /// go (in this order: completing first could lose the check if arming failed).
    async fn check_again(&self, due: &DueTimer, call: &CallId, after: Duration) {
        if let Err(e) = self
            .timers
            .schedule(call, &[TimerOp::Arm(TimerKind::Reconcile, after)])
            .await
        {
            // Left claimed: due again when the lease runs out.
            tracing::warn!(error = %e, call_id = %call, "a reconcile check could not be armed again");
            return;
        }
        let _ = self.timers.complete(due).await;
    }

    /// Ends the timer's call if the timer still applies, then hangs it up.
    async fn fire<O: TimerOwner>(&self, owner: &O, due: DueTimer) {
        let end = due.kind.end();
        let ended = owner
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
async fn poll<O: TimerOwner>(owner: Weak<O>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(owner) = owner.upgrade() else {
            return;
        };
        owner.poller().fire_due(&*owner).await;
    }
}
