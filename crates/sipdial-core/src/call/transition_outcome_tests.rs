//! The outcome, `answeredAt` and `durationMs` as the state machine computes them, for
//! every source of an end (the mapping itself is tested row by row in `outcome`).

use super::*;
use crate::call::outcome::CallOutcome::{self, *};
use crate::call::outcome::LocalEnd;
use crate::{CallId, ConnectionId, SessionId};
use CallState::*;

fn dialed() -> CallRecord {
    CallRecord::new(
        CallId::new("c").unwrap(),
        SessionId::new("1_s").unwrap(),
        ConnectionId::new("k").unwrap(),
        Timestamp::from_millis(1),
    )
}

fn apply(call: &CallRecord, change: CallChange, at: u64) -> Option<CallRecord> {
    CallUpdate::new(change, Timestamp::from_millis(at)).apply_to(call)
}

fn state(call: &CallRecord, s: CallState, at: u64) -> CallRecord {
    apply(call, CallChange::State(s), at).expect("the move applies")
}

fn destroyed(code: Option<u16>) -> CallChange {
    CallChange::Ended {
        reason: None,
        sip_code: code,
        authoritative: true,
    }
}

fn unexplained(reason: &str) -> CallChange {
    CallChange::Ended {
        reason: Some(reason.to_owned()),
        sip_code: None,
        authoritative: false,
    }
}

fn ringing() -> CallRecord {
    state(&dialed(), Ringing, 10)
}

fn answered() -> CallRecord {
    state(&ringing(), Active, 100)
}

#[test]
fn the_answer_is_the_first_move_to_rank_two() {
    let a = answered();
    assert_eq!(a.answered_at, Some(Timestamp::from_millis(100)));
    // Hold and resume keep it.
    let held = state(&a, OnHold, 200);
    let resumed = state(&held, Active, 300);
    assert_eq!(resumed.answered_at, Some(Timestamp::from_millis(100)));
    // A call first reported on hold was answered then.
    assert_eq!(
        state(&ringing(), OnHold, 50).answered_at,
        Some(Timestamp::from_millis(50))
    );
    assert_eq!(ringing().answered_at, None);
    // Nothing ends before the end.
    assert_eq!((a.outcome, a.duration_ms), (None, None));
}

#[test]
fn the_platforms_end_maps_its_code() {
    for (code, want_unanswered, want_answered) in [
        (Some(486), Busy, Completed),
        (Some(600), Busy, Completed),
        (Some(480), NoAnswer, Completed),
        (Some(408), NoAnswer, Completed),
        (Some(603), Rejected, Completed),
        (Some(403), Rejected, Completed),
        (Some(404), Failed, Completed),
        (Some(503), Failed, Completed),
        (Some(487), Canceled, Completed),
        (Some(700), Canceled, Completed),
        (Some(704), Failed, Failed),
        (Some(705), MaxDuration, MaxDuration),
        (Some(200), Completed, Completed),
        (None, Failed, Completed),
    ] {
        for (from, want) in [
            (dialed(), want_unanswered),
            (ringing(), want_unanswered),
            (answered(), want_answered),
        ] {
            let end = apply(&from, destroyed(code), 1000).unwrap();
            assert_eq!(end.outcome, Some(want), "{code:?} from {:?}", from.state);
            assert_eq!(end.sip_code, code);
        }
    }
}

#[test]
fn the_duration_runs_from_the_answer_to_the_end() {
    let end = apply(&answered(), destroyed(Some(200)), 4100).unwrap();
    assert_eq!(end.duration_ms, Some(4000));
    assert_eq!(end.answered_at, Some(Timestamp::from_millis(100)));
    // Unanswered calls have no duration.
    let end = apply(&ringing(), destroyed(Some(486)), 4100).unwrap();
    assert_eq!((end.duration_ms, end.answered_at), (None, None));
    // A platform clock behind ours never makes it negative.
    let end = apply(&answered(), destroyed(Some(200)), 50).unwrap();
    assert_eq!(end.duration_ms, Some(0));
}

#[test]
fn an_unexplained_end_is_provisional_until_the_platform_says_why() {
    // HANGUP before the answer: failed, then callDestroyed says busy.
    let hung = apply(&ringing(), unexplained("Hung up"), 500).unwrap();
    assert_eq!(hung.outcome, Some(Failed));
    let busy = apply(&hung, destroyed(Some(486)), 510).unwrap();
    assert_eq!(busy.outcome, Some(Busy));
    assert_eq!(busy.end_reason.as_deref(), Some("Busy Here"));
    assert_eq!(busy.ended_at, hung.ended_at);
    // After an answer: completed, and a media timeout still turns it into failed.
    let gone = apply(&answered(), unexplained("Network disconnected"), 900).unwrap();
    assert_eq!(
        (gone.outcome, gone.duration_ms),
        (Some(Completed), Some(800))
    );
    let cut = apply(&gone, destroyed(Some(704)), 910).unwrap();
    assert_eq!(cut.outcome, Some(Failed));
    assert_eq!(cut.duration_ms, Some(800));
    // Normal clearing after an answer confirms it.
    let fine = apply(&gone, destroyed(Some(700)), 910).unwrap();
    assert_eq!(fine.outcome, Some(Completed));
    // Once the code is in, nothing changes any more.
    assert_eq!(apply(&busy, destroyed(Some(603)), 520), None);
    assert_eq!(
        apply(&busy, CallChange::EndedHere(LocalEnd::Expired), 530),
        None
    );
}

#[test]
fn our_own_ends_decide_the_outcome() {
    let rows: [(CallRecord, LocalEnd, Option<CallOutcome>); 8] = [
        (ringing(), LocalEnd::HangUp, Some(Canceled)),
        (dialed(), LocalEnd::HangUp, Some(Canceled)),
        (answered(), LocalEnd::HangUp, Some(Completed)),
        (ringing(), LocalEnd::RingTimeout, Some(NoAnswer)),
        (answered(), LocalEnd::RingTimeout, None),
        (answered(), LocalEnd::MaxDuration, Some(MaxDuration)),
        (ringing(), LocalEnd::MaxDuration, None),
        (ringing(), LocalEnd::Expired, Some(Expired)),
    ];
    for (from, by, want) in rows {
        let after = apply(&from, CallChange::EndedHere(by), 2100);
        assert_eq!(after.as_ref().and_then(|c| c.outcome), want, "{by:?}");
        if let Some(after) = after {
            assert_eq!(after.state, Ended);
            assert_eq!(after.end_reason.as_deref(), Some(by.reason()));
            assert_eq!(after.ended_at, Some(Timestamp::from_millis(2100)));
            assert_eq!(after.sip_code, None);
        }
    }
    let expired = apply(&answered(), CallChange::EndedHere(LocalEnd::Expired), 2100).unwrap();
    assert_eq!(
        (expired.outcome, expired.duration_ms),
        (Some(Expired), Some(2000))
    );
}

#[test]
fn the_platform_explains_our_end_but_does_not_overrule_it() {
    // Our ring timeout, then the platform's 487 for the CANCEL: still no_answer, with
    // the platform's reason and code.
    let timed_out = apply(
        &ringing(),
        CallChange::EndedHere(LocalEnd::RingTimeout),
        500,
    )
    .unwrap();
    let refined = apply(&timed_out, destroyed(Some(487)), 520).unwrap();
    assert_eq!(refined.outcome, Some(NoAnswer));
    assert_eq!(refined.sip_code, Some(487));
    assert_eq!(refined.end_reason.as_deref(), Some("Request Terminated"));
    // Max duration, then normal clearing.
    let capped = apply(
        &answered(),
        CallChange::EndedHere(LocalEnd::MaxDuration),
        900,
    )
    .unwrap();
    let refined = apply(&capped, destroyed(Some(700)), 910).unwrap();
    assert_eq!(
        (refined.outcome, refined.duration_ms),
        (Some(MaxDuration), Some(800))
    );
    // A hang-up before the answer, then the far end's busy crossing it.
    let canceled = apply(&ringing(), CallChange::EndedHere(LocalEnd::HangUp), 500).unwrap();
    assert_eq!(
        apply(&canceled, destroyed(Some(486)), 510).unwrap().outcome,
        Some(Canceled)
    );
    // Our end after another end changes nothing.
    assert_eq!(
        apply(&refined, CallChange::EndedHere(LocalEnd::HangUp), 1000),
        None
    );
}

#[test]
fn records_without_the_new_fields_still_end_sensibly() {
    // Stored before answeredAt existed: active means answered, but no duration.
    let old = CallRecord {
        state: Active,
        ..dialed()
    };
    let end = apply(&old, unexplained("Hung up"), 900).unwrap();
    assert_eq!((end.outcome, end.duration_ms), (Some(Completed), None));
    let json = r#"{"id":"c","sessionId":"1_s","target":null,"connectionId":"k","state":"ended","createdAt":1,"updatedAt":2,"endedAt":2,"endReason":"Hung up"}"#;
    let old: CallRecord = serde_json::from_str(json).unwrap();
    assert_eq!(old.outcome, None);
    let refined = apply(&old, destroyed(Some(486)), 3).unwrap();
    assert_eq!(refined.outcome, Some(Busy));
}

#[test]
fn the_new_fields_are_camel_case_and_absent_when_unset() {
    let json = serde_json::to_value(ringing()).unwrap();
    for absent in ["outcome", "answeredAt", "durationMs"] {
        assert!(json.get(absent).is_none(), "{absent}: {json}");
    }
    let end = apply(&answered(), destroyed(Some(200)), 1100).unwrap();
    let json = serde_json::to_value(&end).unwrap();
    assert_eq!(json["outcome"], "completed");
    assert_eq!(json["answeredAt"], 100);
    assert_eq!(json["durationMs"], 1000);
    assert_eq!(serde_json::from_value::<CallRecord>(json).unwrap(), end);
}
