//! Which timers each call change arms and disarms (the firing is tested through the
//! API in `tests/http_call_timers.rs`).

use super::*;
use crate::events::{PlatformEvent, PlatformEventKind};
use crate::{CallId, ConnectionId, SessionId};
use CallState::*;
use TimerKind::*;
use TimerOp::*;

const EXPIRY: Duration = Duration::from_secs(6 * 3600);
const RING: Duration = Duration::from_secs(30);
const MAX: Duration = Duration::from_secs(600);

fn limits() -> CallLimits {
    CallLimits {
        ring_timeout: Some(RING),
        max_duration: Some(MAX),
    }
}

fn call(state: CallState, answered_at: Option<u64>) -> CallRecord {
    CallRecord {
        state,
        answered_at: answered_at.map(Timestamp::from_millis),
        ..CallRecord::new(
            CallId::new("c").unwrap(),
            SessionId::new("1_s").unwrap(),
            ConnectionId::new("k").unwrap(),
            Timestamp::from_millis(1),
        )
    }
}

fn platform() -> CallEventCause {
    CallEventCause::Platform(PlatformEvent::new(
        SessionId::new("1_s").unwrap(),
        PlatformEventKind::Other {
            event: "x".to_owned(),
        },
    ))
}

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn a_dial_arms_the_ring_timeout_and_the_expiry() {
    assert_eq!(
        plan(
            &call(Dialing, None),
            None,
            &CallEventCause::Dialed,
            limits(),
            EXPIRY,
            at(5)
        ),
        [Arm(Expiry, EXPIRY), Arm(RingTimeout, RING)]
    );
    // Without a ring timeout, only the expiry.
    assert_eq!(
        plan(
            &call(Dialing, None),
            None,
            &CallEventCause::Dialed,
            CallLimits::default(),
            EXPIRY,
            at(5)
        ),
        [Arm(Expiry, EXPIRY)]
    );
    // A call recorded from the platform's events was not dialled here.
    assert_eq!(
        plan(
            &call(Dialing, None),
            None,
            &platform(),
            limits(),
            EXPIRY,
            at(5)
        ),
        [Arm(Expiry, EXPIRY)]
    );
}

#[test]
fn the_answer_swaps_the_ring_timeout_for_the_max_duration() {
    let answered = call(Active, Some(1_000));
    for previous in [Dialing, Ringing] {
        assert_eq!(
            plan(
                &answered,
                Some(previous),
                &platform(),
                limits(),
                EXPIRY,
                at(1_000)
            ),
            [
                Arm(Expiry, EXPIRY),
                Disarm(RingTimeout),
                Arm(MaxDuration, MAX)
            ]
        );
    }
    // Counted from the answer, for a call recorded after it.
    assert_eq!(
        plan(
            &answered,
            None,
            &CallEventCause::Dialed,
            limits(),
            EXPIRY,
            at(4_000)
        ),
        [
            Arm(Expiry, EXPIRY),
            Disarm(RingTimeout),
            Arm(MaxDuration, MAX - Duration::from_secs(3))
        ]
    );
    // Without a max duration the ring timeout still goes.
    assert_eq!(
        plan(
            &answered,
            Some(Ringing),
            &platform(),
            CallLimits::default(),
            EXPIRY,
            at(1_000)
        ),
        [Arm(Expiry, EXPIRY), Disarm(RingTimeout)]
    );
}

#[test]
fn other_changes_push_the_expiry_back() {
    for (state, previous) in [
        (Ringing, Dialing),
        (OnHold, Active),
        (Active, OnHold),
        (Ringing, Ringing),
    ] {
        assert_eq!(
            plan(
                &call(state, Some(1)),
                Some(previous),
                &platform(),
                limits(),
                EXPIRY,
                at(9)
            ),
            [Arm(Expiry, EXPIRY)],
            "{previous:?} -> {state:?}"
        );
    }
}

#[test]
fn the_end_disarms_everything_once() {
    assert_eq!(
        plan(
            &call(Ended, None),
            Some(Ringing),
            &platform(),
            limits(),
            EXPIRY,
            at(9)
        ),
        [
            Disarm(RingTimeout),
            Disarm(MaxDuration),
            Disarm(Expiry),
            Disarm(Reconcile)
        ]
    );
    assert_eq!(
        plan(
            &call(Ended, None),
            Some(Ended),
            &platform(),
            limits(),
            EXPIRY,
            at(9)
        ),
        []
    );
}
