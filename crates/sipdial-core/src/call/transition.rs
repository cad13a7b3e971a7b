//! The call state machine, as a pure function: which change a source may make to a
//! call, given what the call already is.
//!
//! `dialing → ringing → active ⇄ on_hold → ended`. Each state has a rank (dialing 0,
//! ringing 1, active and on_hold 2, ended 3) and a call never moves to a lower rank, so
//! a late or redelivered RINGING cannot undo ACTIVE and nothing undoes ENDED. Between
//! the two states of equal rank (hold and resume) the event's timestamp decides: an
//! update older than the one that set the current state is stale.
//!
//! The end carries a reason and, from the platform's `callDestroyed`, a SIP code. Other
//! sources (our own hang-up, the connection going away, a HANGUP update) end a call
//! with a provisional reason that the platform's `callDestroyed` may still replace,
//! because it knows why the far end left. Stores apply [`CallUpdate::apply_to`] inside
//! their own atomic section, so concurrent sources cannot interleave.
//!
//! The outcome, `answeredAt` and `durationMs` are computed here too ([`crate::call::outcome`]
//! has the mapping), so every store and every replica derives the same ones: the
//! answer is the first move to rank 2, the outcome is set with the end, and the
//! `callDestroyed` that refines a provisional end may refine a provisional outcome.

use crate::call::outcome::{CallOutcome, LocalEnd};
use crate::call::{CallRecord, CallState};
use crate::{StreamId, Timestamp};

impl CallState {
    /// How far along the lifecycle the state is; a call never moves to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            CallState::Dialing => 0,
            CallState::Ringing => 1,
            CallState::Active | CallState::OnHold => 2,
            CallState::Ended => 3,
        }
    }
}

/// What a source says happened to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallChange {
    /// The dialog is in this state (an `Ended` here is treated as a provisional end
    /// without reason).
    State(CallState),
    /// The call ended.
    Ended {
        /// Why, for people (`Busy Here`, `Hung up`).
        reason: Option<String>,
        /// The SIP response code or the platform's own 700–706.
        sip_code: Option<u16>,
        /// Whether this is the platform's `callDestroyed`, whose reason and code
        /// replace a provisional one.
        authoritative: bool,
    },
    /// The SIP leg's stream became known (calls recorded from callbacks learn it late).
    Stream(StreamId),
    /// We ended the call, for a reason that decides its outcome (a hang-up, one of the
    /// call policies). Changes nothing when that reason no longer applies (a ring
    /// timeout of a call answered meanwhile), so a timer that fires late cannot end a
    /// call its policy no longer covers.
    EndedHere(LocalEnd),
}

/// A change and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallUpdate {
    /// The change.
    pub change: CallChange,
    /// When it happened (the platform's timestamp when it sent one).
    pub at: Timestamp,
}

impl CallUpdate {
    /// A change at `at`.
    pub fn new(change: CallChange, at: Timestamp) -> Self {
        Self { change, at }
    }

    /// The call after this update, or `None` when the update changes nothing (a
    /// repeat, a stale or backwards move, anything after a final end).
    pub fn apply_to(&self, call: &CallRecord) -> Option<CallRecord> {
        let at = self.at;
        match &self.change {
            CallChange::State(CallState::Ended) => CallUpdate::new(
                CallChange::Ended {
                    reason: None,
                    sip_code: None,
                    authoritative: false,
                },
                at,
            )
            .apply_to(call),
            CallChange::State(state) => {
                let (cur, new) = (call.state.rank(), state.rank());
                let forward = new > cur;
                let sideways = new == cur && *state != call.state && at >= call.updated_at;
                let answered_at = match call.answered_at {
                    None if state.rank() == 2 => Some(at),
                    kept => kept,
                };
                (call.state != CallState::Ended && (forward || sideways)).then(|| CallRecord {
                    state: *state,
                    updated_at: at,
                    answered_at,
                    ..call.clone()
                })
            }
            CallChange::Ended {
                reason,
                sip_code,
                authoritative,
            } => {
                let reason = reason.clone().or_else(|| {
                    sip_code.map(|c| {
                        reason_for_code(c).map_or_else(|| format!("SIP {c}"), str::to_owned)
                    })
                });
                let answered = answered(call);
                if call.state != CallState::Ended {
                    let outcome = if *authoritative {
                        CallOutcome::from_platform(*sip_code, answered)
                    } else {
                        CallOutcome::from_unexplained(answered)
                    };
                    return Some(ended(
                        call,
                        at,
                        reason.unwrap_or_else(|| "Ended".to_owned()),
                        *sip_code,
                        outcome,
                    ));
                }
                // Ended already: only the platform's own verdict may still refine it,
                // and only until one with a code was kept. It explains an outcome we
                // could only guess, never one we decided.
                let outcome = match call.outcome {
                    Some(o) if !o.is_provisional() => o,
                    _ => CallOutcome::from_platform(*sip_code, answered),
                };
                let refines = *authoritative
                    && call.sip_code.is_none()
                    && (reason.is_some() || sip_code.is_some())
                    && (reason.as_ref() != call.end_reason.as_ref()
                        || *sip_code != call.sip_code
                        || Some(outcome) != call.outcome);
                refines.then(|| CallRecord {
                    end_reason: reason.or_else(|| call.end_reason.clone()),
                    sip_code: *sip_code,
                    outcome: Some(outcome),
                    ..call.clone()
                })
            }
            CallChange::EndedHere(by) => {
                if call.state == CallState::Ended {
                    return None;
                }
                let outcome = by.outcome(answered(call))?;
                Some(ended(call, at, by.reason().to_owned(), None, outcome))
            }
            CallChange::Stream(stream) => call.stream_id.is_none().then(|| CallRecord {
                stream_id: Some(stream.clone()),
                ..call.clone()
            }),
        }
    }
}

/// Whether the far end answered: `answeredAt` is set, or (for a record kept from
/// before it was) the call is in a rank-2 state.
fn answered(call: &CallRecord) -> bool {
    call.answered_at.is_some() || call.state.rank() == 2
}

/// `call` ended at `at`, with the duration from its answer.
fn ended(
    call: &CallRecord,
    at: Timestamp,
    reason: String,
    sip_code: Option<u16>,
    outcome: CallOutcome,
) -> CallRecord {
    CallRecord {
        state: CallState::Ended,
        ended_at: Some(at),
        updated_at: at,
        end_reason: Some(reason),
        sip_code,
        outcome: Some(outcome),
        duration_ms: call
            .answered_at
            .map(|a| at.as_millis().saturating_sub(a.as_millis())),
        ..call.clone()
    }
}

/// A text for a SIP response code or one of the platform's own clearing codes, for
/// `callDestroyed` deliveries that carry no `reason_message`.
pub fn reason_for_code(code: u16) -> Option<&'static str> {
    Some(match code {
        200 => "Call ended",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        480 => "Temporarily Unavailable",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        700 => "Normal Clearing",
        701 => "Clearing",
        702 => "Clearing",
        703 => "Unexpected Clearing",
        704 => "Media Timeout",
        705 => "Max Duration",
        706 => "Max Inactive",
        _ => return None,
    })
}

/// The end reason of a call whose connection went away, from the
/// `connectionDestroyed` reason.
pub(crate) fn reason_for_disconnect(reason: Option<&str>) -> &'static str {
    match reason {
        Some("forceDisconnected") => "Hung up",
        Some("networkDisconnected") => "Network disconnected",
        _ => "Disconnected",
    }
}

#[cfg(test)]
#[path = "transition_outcome_tests.rs"]
mod outcome_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CallId, ConnectionId, SessionId};

    fn call(state: CallState, updated: u64) -> CallRecord {
        CallRecord {
            state,
            updated_at: Timestamp::from_millis(updated),
            ..CallRecord::new(
                CallId::new("c").unwrap(),
                SessionId::new("1_s").unwrap(),
                ConnectionId::new("k").unwrap(),
                Timestamp::from_millis(1),
            )
        }
    }

    fn to(state: CallState, at: u64) -> CallUpdate {
        CallUpdate::new(CallChange::State(state), Timestamp::from_millis(at))
    }

    fn end(reason: Option<&str>, code: Option<u16>, authoritative: bool, at: u64) -> CallUpdate {
        CallUpdate::new(
            CallChange::Ended {
                reason: reason.map(str::to_owned),
                sip_code: code,
                authoritative,
            },
            Timestamp::from_millis(at),
        )
    }

    use CallState::*;

    #[test]
    fn every_forward_transition_applies() {
        for (from, to_state) in [
            (Dialing, Ringing),
            (Dialing, Active),
            (Ringing, Active),
            (Ringing, OnHold),
            (Active, OnHold),
            (OnHold, Active),
        ] {
            let after = to(to_state, 10).apply_to(&call(from, 5)).unwrap();
            assert_eq!(after.state, to_state, "{from:?} -> {to_state:?}");
            assert_eq!(after.updated_at, Timestamp::from_millis(10));
        }
        for from in [Dialing, Ringing, Active, OnHold] {
            let after = end(Some("Busy Here"), Some(486), true, 10)
                .apply_to(&call(from, 5))
                .unwrap();
            assert_eq!(after.state, Ended);
            assert_eq!(after.ended_at, Some(Timestamp::from_millis(10)));
            assert_eq!(after.end_reason.as_deref(), Some("Busy Here"));
            assert_eq!(after.sip_code, Some(486));
        }
    }

    #[test]
    fn nothing_moves_backwards_or_repeats() {
        for (from, to_state) in [
            (Ringing, Dialing),
            (Active, Ringing),
            (Active, Dialing),
            (OnHold, Ringing),
            (Active, Active),
            (Dialing, Dialing),
            (Ended, Active),
            (Ended, Ringing),
        ] {
            assert_eq!(
                to(to_state, 99).apply_to(&call(from, 5)),
                None,
                "{from:?} -> {to_state:?}"
            );
        }
        // A stale hold (older than the resume that set ACTIVE) is ignored.
        assert_eq!(to(OnHold, 4).apply_to(&call(Active, 5)), None);
        assert_eq!(to(Active, 4).apply_to(&call(OnHold, 5)), None);
    }

    #[test]
    fn the_platforms_end_refines_a_provisional_one_once() {
        let hung_up = end(Some("Hung up"), None, false, 10)
            .apply_to(&call(Active, 5))
            .unwrap();
        assert_eq!(hung_up.end_reason.as_deref(), Some("Hung up"));
        assert_eq!(hung_up.sip_code, None);
        // A second provisional end changes nothing.
        assert_eq!(
            end(Some("Disconnected"), None, false, 11).apply_to(&hung_up),
            None
        );
        // callDestroyed sets the code; its text comes from the code when absent.
        let destroyed = end(None, Some(700), true, 12).apply_to(&hung_up).unwrap();
        assert_eq!(destroyed.end_reason.as_deref(), Some("Normal Clearing"));
        assert_eq!(destroyed.sip_code, Some(700));
        assert_eq!(destroyed.ended_at, hung_up.ended_at);
        // ... and is final.
        assert_eq!(
            end(Some("Busy Here"), Some(486), true, 13).apply_to(&destroyed),
            None
        );
        // An end without anything known still reads as ended.
        let bare = to(Ended, 10).apply_to(&call(Ringing, 5)).unwrap();
        assert_eq!(bare.end_reason.as_deref(), Some("Ended"));
    }

    #[test]
    fn stream_is_learned_once() {
        let s = StreamId::new("st").unwrap();
        let c = CallUpdate::new(CallChange::Stream(s.clone()), Timestamp::from_millis(1))
            .apply_to(&call(Ringing, 1))
            .unwrap();
        assert_eq!(c.stream_id, Some(s.clone()));
        assert_eq!(
            CallUpdate::new(CallChange::Stream(s), Timestamp::from_millis(1)).apply_to(&c),
            None
        );
    }

    #[test]
    fn codes_have_texts() {
        assert_eq!(reason_for_code(486), Some("Busy Here"));
        assert_eq!(reason_for_code(704), Some("Media Timeout"));
        assert_eq!(reason_for_code(499), None);
        let odd = end(None, Some(499), true, 9)
            .apply_to(&call(Ringing, 1))
            .unwrap();
        assert_eq!(odd.end_reason.as_deref(), Some("SIP 499"));
        assert_eq!(reason_for_disconnect(Some("forceDisconnected")), "Hung up");
        assert_eq!(reason_for_disconnect(None), "Disconnected");
    }
}
