//! The JSON a status webhook carries: the call record and the change (previous
//! state, cause, when), plus the per-call sequence number the outbox assigns.
//!
//! The change is serialised once, when the lifecycle enqueues it, and the sequence is
//! put in front when it is sent, so every attempt of one delivery has the same bytes
//! (a receiver may dedupe on `callId` + `sequence`).

use serde::Serialize;
use serde_json::value::Value;

use crate::Timestamp;
use crate::call::event::CallEventCause;
use crate::call::timer::TimerKind;
use crate::call::{CallRecord, CallState};

/// `{"type":"call.changed", "callId", "call", "previousState", "cause", "platformEvent"?, "verified", "changedAt"}`.
/// `verified` is false only for a change from an unsigned callback (or an event the
/// host applied itself): a receiver must not take such a change as the platform's word.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Change<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    call_id: &'a str,
    call: &'a CallRecord,
    previous_state: Option<CallState>,
    cause: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_event: Option<&'a str>,
    verified: bool,
    changed_at: Timestamp,
}

/// The change as JSON text, without its sequence number.
pub(crate) fn change_json(
    call: &CallRecord,
    previous: Option<CallState>,
    cause: &CallEventCause,
) -> String {
    let verified = cause.is_verified();
    let (cause, platform_event) = match cause {
        CallEventCause::Dialed => ("dialed", None),
        CallEventCause::HungUp => ("hung_up", None),
        CallEventCause::Gone => ("gone", None),
        CallEventCause::Platform(e) | CallEventCause::UnverifiedPlatform(e) => {
            ("platform", Some(e.name()))
        }
        CallEventCause::Timer(TimerKind::RingTimeout) => ("ring_timeout", None),
        CallEventCause::Timer(TimerKind::MaxDuration) => ("max_duration", None),
        CallEventCause::Timer(TimerKind::Expiry) => ("expired", None),
        CallEventCause::Timer(TimerKind::Reconcile) => ("reconciled", None),
    };
    let change = Change {
        kind: "call.changed",
        call_id: call.id.as_str(),
        call,
        previous_state: previous,
        cause,
        platform_event,
        verified,
        changed_at: Timestamp::now(),
    };
    // A struct of strings, numbers and a record that serialises for the API already.
    serde_json::to_string(&change).unwrap_or_else(|_| "{}".to_owned())
}

/// The body sent: `{"sequence": n, ...change}`.
// Only the dispatcher (feature `jwt`) sends.
#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
pub(crate) fn body(change: &str, sequence: u64) -> Result<Vec<u8>, serde_json::Error> {
    let mut value: serde_json::Map<String, Value> = serde_json::from_str(change)?;
    value.insert("sequence".to_owned(), Value::from(sequence));
    serde_json::to_vec(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_says_whether_it_was_verified() {
        use crate::events::{PlatformEvent, PlatformEventKind};
        let call = CallRecord::new(
            crate::CallId::new("c").unwrap(),
            crate::SessionId::new("1_s").unwrap(),
            crate::ConnectionId::new("k").unwrap(),
            Timestamp::from_millis(1),
        );
        let event = PlatformEvent::new(
            crate::SessionId::new("1_s").unwrap(),
            PlatformEventKind::Other {
                event: "x".to_owned(),
            },
        );
        let verified = |cause: CallEventCause| -> Value {
            let v: Value = serde_json::from_str(&change_json(&call, None, &cause)).unwrap();
            v["verified"].clone()
        };
        assert_eq!(
            verified(CallEventCause::Platform(event.clone())),
            Value::Bool(true)
        );
        assert_eq!(
            verified(CallEventCause::UnverifiedPlatform(event)),
            Value::Bool(false)
        );
        assert_eq!(verified(CallEventCause::HungUp), Value::Bool(true));
    }

    #[test]
    fn the_sequence_joins_the_change() {
        let b = body(r#"{"type":"call.changed","callId":"c"}"#, 7).unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["sequence"], 7);
        assert_eq!(v["callId"], "c");
        assert!(body("[]", 1).is_err());
    }
}
