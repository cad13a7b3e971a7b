//! `POST {prefix}/dial?wait=answered`: hold the dial's answer until the call is
//! answered or over, bounded by the ring timeout.
//!
//! The wait starts only once the call is placed and recorded (the dial runs to
//! completion whatever happens to the request), so a client that goes away stops
//! waiting and nothing else: the call goes on. It listens to the session's event log
//! (which wakes on changes from every replica of a fleet) and re-reads the call after
//! subscribing, so a change between the dial and the subscription is not missed.

use std::time::Duration;

use tokio::time::Instant;

use crate::backend::event_log::EventLog;
use crate::backend::store::CallStore;
use crate::call::{CallRecord, CallState};
use crate::policy::calls::CallPolicies;

/// The bound of a wait when neither the target nor the host set a ring timeout.
pub const DEFAULT_ANSWER_WAIT: Duration = Duration::from_secs(60);

/// What a dial's response waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Nothing: answer as soon as the call is placed (the default).
    Placed,
    /// The call being answered or over.
    Answered,
}

/// How long a dial to `target` may wait for the answer: its ring timeout
/// (`SipTarget::ring_timeout`, else the builder's `default_ring_timeout`, else
/// [`DEFAULT_ANSWER_WAIT`]), within the host's `answer_wait_limit`. The one place the
/// ring timeout enters the wait.
///
/// A configured ring timeout gets the timers' poll interval and [`HANG_UP_GRACE`] on
/// top: its timer fires at most a poll late and then hangs up, and the wait should
/// answer with that end (`no_answer`) rather than with the call still ringing a
/// moment before it.
pub(crate) fn answer_wait_bound(
    policies: &CallPolicies,
    target: Option<&str>,
    limit: Option<Duration>,
) -> Duration {
    let ring_timeout = match policies.limits(target).ring_timeout {
        Some(ring) => ring + policies.poll_interval + HANG_UP_GRACE,
        None => DEFAULT_ANSWER_WAIT,
    };
    limit.map_or(ring_timeout, |l| l.min(ring_timeout))
}

/// How long the ring timeout's hang-up may take to be recorded.
const HANG_UP_GRACE: Duration = Duration::from_millis(500);

/// Whether the wait is over for `call`.
fn settled(call: &CallRecord) -> bool {
    call.state.rank() >= CallState::Active.rank()
}

/// Waits up to `bound` for `call` to be answered or over, and returns it as it is
/// then (still dialing or ringing when the bound passed). A store or log that fails
/// ends the wait early with the last state read: the call itself is unaffected.
pub(crate) async fn wait_for_answer(
    store: &dyn CallStore,
    events: &dyn EventLog,
    call: CallRecord,
    bound: Duration,
) -> CallRecord {
    if settled(&call) {
        return call;
    }
    let deadline = Instant::now() + bound;
    let mut listener = events.listen(&call.session_id);
    let mut latest = call;
    loop {
        // Marked before reading, so a change landing between the read and the wait
        // below wakes it at once.
        listener.mark_seen();
        match store.call(&latest.id).await {
            Ok(Some(found)) => latest = found,
            Ok(None) => return latest,
            Err(e) => {
                tracing::warn!(error = %e, call_id = %latest.id, "waiting for an answer: the call could not be read");
                return latest;
            }
        }
        if settled(&latest) || Instant::now() >= deadline {
            return latest;
        }
        match tokio::time::timeout_at(deadline, listener.changed()).await {
            Ok(true) => {}
            Ok(false) => return latest,
            // One more read below, then the deadline ends the loop.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_limit_caps_the_bound() {
        let none = CallPolicies::default();
        assert_eq!(answer_wait_bound(&none, None, None), DEFAULT_ANSWER_WAIT);
        let short = Duration::from_secs(5);
        assert_eq!(answer_wait_bound(&none, None, Some(short)), short);
        assert_eq!(
            answer_wait_bound(&none, None, Some(Duration::from_secs(600))),
            DEFAULT_ANSWER_WAIT
        );
    }
}
