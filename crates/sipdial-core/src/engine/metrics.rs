//! Operator metrics, through the [`metrics`] facade: every series name and label set
//! of the API is here, so a dashboard (and `docs/call-lifecycle.md`, "Metrics") has one
//! place to read them from, and each call site is one line.
//!
//! Nothing is recorded until the host installs a recorder (`metrics-exporter-prometheus`
//! in the examples, served at `GET /metrics`); without one every call below is a no-op.
//! Series are per process: in a fleet each replica counts what it did itself (the dial it
//! placed, the change it applied, the stream it serves), so summing over replicas counts
//! everything exactly once.
//!
//! Label values are bounded sets (error codes, state and outcome names, the host's
//! configured target names), never something a caller chose: a request naming an
//! unknown target is counted as `unknown`, so that it cannot grow the series.

use std::future::Future;
use std::time::Instant;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::DialError;
use crate::call::CallState;
use crate::call::event::{ApplyOutcome, CallEvent};
use crate::call::outcome::CallOutcome;
use crate::events::{PlatformEvent, PlatformEventKind};
use crate::policy::targets::Targets;

/// Counter of `POST /dial` answers, labelled `target` (a configured target's name,
/// `custom` for a caller's URI dialled without one, `unknown` for a name the server
/// does not have, `none` when the request resolved to nothing) and `result` (`placed`,
/// or the error code the API answered with: `too_many_calls`, `dial_rate_limited`,
/// `platform_rate_limited`, `platform_unreachable`, ...).
pub const DIALS: &str = "sipdial_dials_total";
/// Histogram of how long the platform took to answer a dial request (seconds), labelled
/// `result` (`ok` or `error`). Covers the platform's REST call only: not our own checks
/// before it nor the recording after it.
pub const PLATFORM_DIAL_SECONDS: &str = "sipdial_platform_dial_seconds";
/// Counter of dialer failures, labelled `op` (`dial`, `hang_up`, `play_dtmf`,
/// `create_session`, ...) and `kind` (see [`platform_error_kind`]).
pub const PLATFORM_ERRORS: &str = "sipdial_platform_errors_total";
/// Counter of calls entering a state, labelled `state` (`dialing`, `ringing`, `active`,
/// `on_hold`, `ended`). Calls live now: entered `dialing` minus entered `ended`.
pub const CALL_TRANSITIONS: &str = "sipdial_call_transitions_total";
/// Counter of ended calls, labelled `outcome` (the call record's `outcome` when it
/// ended) and `target` (as in [`DIALS`]; `none` for a caller's URI and for calls placed
/// elsewhere).
pub const CALLS_ENDED: &str = "sipdial_calls_ended_total";
/// Counter of ended calls whose provisional outcome the platform's `callDestroyed`
/// replaced afterwards, labelled `from`, `to` and `target`: an end whose cause was not
/// known yet (the SIP leg's connection gone first) is `failed` (or `completed` once
/// answered) until the platform's code says `busy`, `rejected`, ... So the calls that
/// finally had outcome X are `sipdial_calls_ended_total{outcome="X"}` plus the
/// refinements `to="X"` minus those `from="X"`. Counted by the process that applies
/// the refinement (the call event carries the outcome it replaced), so in a fleet
/// each refinement is counted once, whichever replica recorded the end.
pub const OUTCOMES_REFINED: &str = "sipdial_call_outcomes_refined_total";
/// Counter of `POST /callbacks` deliveries, labelled `result` (`accepted` or `refused`)
/// and `reason`: for accepted ones what applying did (`applied`, `unchanged`,
/// `duplicate`, `ignored`), for refused ones the error code (`invalid_signature`,
/// `invalid_json`, `payload_too_large`, `store_unavailable`, ...).
pub const CALLBACKS: &str = "sipdial_callbacks_total";
/// Gauge of open `GET /events` streams in this process.
pub const SSE_SUBSCRIBERS: &str = "sipdial_sse_subscribers";
/// Counter of final status webhook delivery results, labelled `result` = `delivered`,
/// `refused` (a 4xx other than 408/429, or a 3xx) or `failed` (retries exhausted).
pub const WEBHOOK_DELIVERIES: &str = "sipdial_webhook_deliveries_total";
/// Counter of retried status webhook attempts.
pub const WEBHOOK_RETRIES: &str = "sipdial_webhook_retries_total";
/// Counter of call changes dropped because the webhook outbox was full (or could not
/// be reached).
pub const WEBHOOK_DROPPED: &str = "sipdial_webhook_dropped_total";
/// Counter of call changes queued for webhook delivery.
pub const WEBHOOK_QUEUED: &str = "sipdial_webhook_queued_total";
/// Counter of reconcile checks of a call against the platform's List Connections,
/// labelled `result` = `present` (the leg is there), `ended` (it was not: the call was
/// ended) or `error` (the platform could not be asked; nothing ended).
pub const RECONCILE_CHECKS: &str = "sipdial_reconcile_checks_total";
/// Counter of connections a reconcile check found in a session without a call checked
/// with them (SIP legs sipdial has no record of, and the session's browsers: the
/// platform's list does not tell them apart).
pub const RECONCILE_UNKNOWN: &str = "sipdial_reconcile_unknown_connections_total";

/// Bucket bounds (seconds) suggested for [`PLATFORM_DIAL_SECONDS`] when the recorder
/// renders histograms: the platform answers a dial in tens to hundreds of milliseconds,
/// and the dialer gives up after 10 s by default.
pub const PLATFORM_DIAL_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Every series name above, for hosts that configure their recorder per series.
pub const ALL: &[&str] = &[
    DIALS,
    PLATFORM_DIAL_SECONDS,
    PLATFORM_ERRORS,
    CALL_TRANSITIONS,
    CALLS_ENDED,
    OUTCOMES_REFINED,
    CALLBACKS,
    SSE_SUBSCRIBERS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_RETRIES,
    WEBHOOK_DROPPED,
    WEBHOOK_QUEUED,
    RECONCILE_CHECKS,
    RECONCILE_UNKNOWN,
];

/// Registers the help text and unit of every series with the installed recorder. Call it
/// once after installing one (a recorder installed later misses the descriptions, not
/// the values).
pub fn describe() {
    describe_counter!(
        DIALS,
        Unit::Count,
        "POST /dial answers by target and result"
    );
    describe_histogram!(
        PLATFORM_DIAL_SECONDS,
        Unit::Seconds,
        "Time the platform took to answer a dial request"
    );
    describe_counter!(
        PLATFORM_ERRORS,
        Unit::Count,
        "Dialer failures by operation and kind"
    );
    describe_counter!(CALL_TRANSITIONS, Unit::Count, "Calls entering each state");
    describe_counter!(
        CALLS_ENDED,
        Unit::Count,
        "Ended calls by outcome and target"
    );
    describe_counter!(
        OUTCOMES_REFINED,
        Unit::Count,
        "Provisional outcomes of ended calls replaced by the platform's report"
    );
    describe_counter!(
        CALLBACKS,
        Unit::Count,
        "Platform callbacks accepted or refused, by reason"
    );
    describe_gauge!(SSE_SUBSCRIBERS, Unit::Count, "Open event streams");
    describe_counter!(
        WEBHOOK_DELIVERIES,
        Unit::Count,
        "Status webhook deliveries by final result"
    );
    describe_counter!(
        WEBHOOK_RETRIES,
        Unit::Count,
        "Retried status webhook attempts"
    );
    describe_counter!(
        WEBHOOK_DROPPED,
        Unit::Count,
        "Call changes dropped by a full or unreachable webhook outbox"
    );
    describe_counter!(
        WEBHOOK_QUEUED,
        Unit::Count,
        "Call changes queued for webhook delivery"
    );
    describe_counter!(
        RECONCILE_CHECKS,
        Unit::Count,
        "Reconcile checks of live calls against the platform, by result"
    );
    describe_counter!(
        RECONCILE_UNKNOWN,
        Unit::Count,
        "Connections a reconcile check found without a call of ours"
    );
}

/// Counts one reconcile check (`present`, `ended` or `error`).
pub(crate) fn reconcile_checked(result: &'static str) {
    counter!(RECONCILE_CHECKS, "result" => result).increment(1);
}

/// Counts connections a reconcile check found without a call.
pub(crate) fn reconcile_unknown(n: usize) {
    counter!(RECONCILE_UNKNOWN).increment(u64::try_from(n).unwrap_or(u64::MAX));
}

/// The `target` label of a dial request, resolved the way the dial route resolves it
/// (computed before the route runs, so that refusals are labelled too).
pub(crate) fn dial_target(targets: &Targets, requested: Option<&str>, custom_uri: bool) -> String {
    match requested {
        Some(name) => match targets.find(name) {
            Some(t) => t.name.clone(),
            None => "unknown".to_owned(),
        },
        None => match targets.default() {
            Some(t) => t.name.clone(),
            None if custom_uri => "custom".to_owned(),
            None => "none".to_owned(),
        },
    }
}

/// Counts one `POST /dial` answer: `placed`, or `result`: refused with the answer's
/// error code (as the HTTP layer names it), or `replayed` (an idempotent replay, which
/// placed nothing).
pub(crate) fn dial_answered(target: String, result: Option<&'static str>) {
    let result = result.unwrap_or("placed");
    counter!(DIALS, "target" => target, "result" => result).increment(1);
}

/// Times the platform's answer to one dial request.
pub(crate) async fn time_platform_dial<T>(
    dial: impl Future<Output = Result<T, DialError>>,
) -> Result<T, DialError> {
    let started = Instant::now();
    let result = dial.await;
    let label = if result.is_ok() { "ok" } else { "error" };
    histogram!(PLATFORM_DIAL_SECONDS, "result" => label).record(started.elapsed().as_secs_f64());
    result
}

/// Counts and logs one dialer failure (its text may hold platform detail: fine in
/// logs, never in responses), where it happened: a dial's may outlive its request.
pub(crate) fn platform_failed(op: &'static str, e: &DialError) {
    platform_error(op, e);
    if e.is_transient() || matches!(e, DialError::RejectedCredentials | DialError::Config { .. }) {
        tracing::warn!(op, error = %e, "dialer failed");
    } else {
        tracing::debug!(op, error = %e, "dialer refused");
    }
}

/// The `kind` label of a dialer failure.
pub fn platform_error_kind(e: &DialError) -> &'static str {
    match e {
        DialError::InvalidInput { .. } => "invalid_input",
        DialError::NotFound { .. } => "not_found",
        DialError::Conflict { .. } => "conflict",
        DialError::RejectedCredentials => "rejected_credentials",
        DialError::RateLimited { .. } => "rate_limited",
        DialError::Upstream { status, .. } if *status >= 500 => "upstream_5xx",
        DialError::Upstream { .. } => "upstream_4xx",
        DialError::Timeout => "timeout",
        DialError::Transport { .. } => "transport",
        DialError::Config { .. } => "config",
    }
}

/// Counts one dialer failure of `op`.
pub(crate) fn platform_error(op: &'static str, e: &DialError) {
    counter!(PLATFORM_ERRORS, "op" => op, "kind" => platform_error_kind(e)).increment(1);
}

/// Counts one call change, as `Lifecycle::emit` hands it on: a state entered and, for
/// an end, its outcome; for a change of an ended call, a refined outcome. Changes that
/// only learn the stream or the reason count nothing.
pub(crate) fn call_changed(event: &CallEvent) {
    let call = &event.call;
    let target = || call.target.clone().unwrap_or_else(|| "none".to_owned());
    if event.previous != Some(call.state) {
        counter!(CALL_TRANSITIONS, "state" => call.state.as_str()).increment(1);
        if call.state == CallState::Ended {
            counter!(CALLS_ENDED, "outcome" => outcome_label(call.outcome), "target" => target())
                .increment(1);
        }
        return;
    }
    // Only the platform's `callDestroyed` replaces the outcome of an ended call, and
    // only a provisional one.
    let explains = matches!(
        event.cause.platform_event(),
        Some(PlatformEvent {
            kind: PlatformEventKind::CallDestroyed { .. },
            ..
        })
    );
    if call.state == CallState::Ended
        && explains
        && let Some(was) = event.previous_outcome.filter(|o| o.is_provisional())
        && call.outcome.is_some_and(|now| now != was)
    {
        counter!(OUTCOMES_REFINED, "from" => was.as_str(), "to" => outcome_label(call.outcome),
            "target" => target())
        .increment(1);
    }
}

/// The `outcome` label of an ended call (`none` for a record from before outcomes).
fn outcome_label(outcome: Option<CallOutcome>) -> &'static str {
    outcome.map_or("none", CallOutcome::as_str)
}

/// Counts one callback the route accepted.
pub(crate) fn callback_accepted(outcome: ApplyOutcome) {
    counter!(CALLBACKS, "result" => "accepted", "reason" => outcome.as_str()).increment(1);
}

/// Counts one callback the route refused with `error_code`.
pub(crate) fn callback_refused(error_code: &'static str) {
    counter!(CALLBACKS, "result" => "refused", "reason" => error_code).increment(1);
}

/// One open event stream, counted in [`SSE_SUBSCRIBERS`] for as long as it lives: the
/// stream's body owns it, so a client that goes away (the body dropped) is uncounted
/// however the stream ended.
#[derive(Debug)]
pub(crate) struct SubscriberCount(());

impl SubscriberCount {
    pub(crate) fn open() -> Self {
        gauge!(SSE_SUBSCRIBERS).increment(1.0);
        Self(())
    }
}

impl Drop for SubscriberCount {
    fn drop(&mut self) {
        gauge!(SSE_SUBSCRIBERS).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallRecord;
    use crate::call::event::CallEventCause;
    use crate::events::CallRef;
    use crate::{CallId, ConnectionId, SessionId, Timestamp};
    use metrics_exporter_prometheus::PrometheusBuilder;

    /// A refinement is counted from what its event carries: this process never saw the
    /// end it refines (in a fleet, another replica recorded it).
    #[test]
    fn a_refinement_counts_from_the_event_alone() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let (id, conn) = (CallId::new("c").unwrap(), ConnectionId::new("k").unwrap());
        let session = SessionId::new("1_s").unwrap();
        let mut call = CallRecord::new(id.clone(), session.clone(), conn.clone(), Timestamp::now());
        call.state = CallState::Ended;
        call.outcome = Some(CallOutcome::Busy);
        call.target = Some("sales".to_owned());
        let destroyed = PlatformEvent::new(
            session,
            PlatformEventKind::CallDestroyed {
                call: CallRef::new(id, conn),
                reason_code: Some("486".to_owned()),
                reason_message: None,
            },
        );
        let event = |previous_outcome| CallEvent {
            call: call.clone(),
            previous: Some(CallState::Ended),
            previous_outcome,
            cause: CallEventCause::Platform(destroyed.clone()),
        };
        metrics::with_local_recorder(&recorder, || {
            call_changed(&event(Some(CallOutcome::Failed)));
            // Not provisional before, or none known: nothing was refined.
            call_changed(&event(Some(CallOutcome::Canceled)));
            call_changed(&event(None));
        });
        let text = handle.render();
        assert!(
            text.contains(
                r#"sipdial_call_outcomes_refined_total{from="failed",to="busy",target="sales"} 1"#
            ),
            "{text}"
        );
        assert_eq!(
            text.matches("sipdial_call_outcomes_refined_total{").count(),
            1,
            "{text}"
        );
    }
}
