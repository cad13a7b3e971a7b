//! The SIP gateway emulation against SIPp UAS scenarios (tests/sipp/*.xml), over UDP
//! and TCP: digest challenge, answer, hang-ups from either side, busy, cancel, hold,
//! a wrong password, and the dial's `From` and custom headers on the INVITE (the
//! scenarios check those and fail the call otherwise).
//!
//! Each test is one row of [`Case`], run by [`run`] over every transport.

mod common;
mod sip;
mod sipp_run;

use std::time::Duration;

use serde_json::json;
use sip::{dial, fake_with_sip, hang_up, progress, wait_for};
use sipdial_testing::SipConfig;
use sipp_run::{Sipp, Transport, available};

const WITHIN: Duration = Duration::from_secs(10);

fn authed_dial(sipp: &Sipp, password: &str) -> serde_json::Value {
    json!({
        "uri": sipp.uri("alice"),
        "from": "15551230000@example.com",
        "headers": {"X-Sipdial-Test": "hello-sipp"},
        "auth": {"username": "sipuser", "password": password},
    })
}

/// One SIPp scenario and what the platform must report of the call it answers.
struct Case {
    name: &'static str,
    scenario: &'static str,
    dial: fn(&Sipp) -> serde_json::Value,
    /// The platform event to wait for, and how many times it must have been reported
    /// (hold and resume reach `ACTIVE` twice).
    wait_for: (&'static str, usize),
    /// Whether we hang up once it was reported (otherwise the far end ends the call).
    our_hang_up: bool,
    /// Every SIP event the platform sent for the call, in order.
    progress: &'static [&'static str],
}

async fn run(case: Case) {
    if !available(case.name) {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas(case.scenario, transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (session, connection, call) = dial(&fake, (case.dial)(&sipp)).await;
        let (step, times) = case.wait_for;
        wait_for_nth(&fake, &call, step, times, transport).await;
        if !step.starts_with("destroyed") {
            // The SIP leg's stream is in the session from the dial until the end.
            assert_eq!(fake.streams(&session).len(), 1, "{transport:?}");
        }
        if case.our_hang_up {
            assert_eq!(hang_up(&fake, &session, &connection).await, 204);
        }
        sipp.expect_success().await;
        wait_for(&fake, &call, "destroyed", WITHIN).await;
        assert_eq!(progress(&fake, &call), case.progress, "{transport:?}");
        assert!(fake.connections(&session).is_empty(), "{transport:?}");
        assert!(fake.streams(&session).is_empty(), "{transport:?}");
    }
}

/// Waits until `step` was reported `times` times for `call`.
async fn wait_for_nth(
    fake: &sipdial_testing::FakePlatform,
    call: &str,
    step: &str,
    times: usize,
    transport: Transport,
) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let p = progress(fake, call);
        if p.iter().filter(|s| s.starts_with(step)).count() >= times {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{transport:?}: no {step:?} x{times} within {WITHIN:?}; progress: {p:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const NORMAL_END: &str = "destroyed:700:Normal Clearing";

#[tokio::test]
async fn digest_challenge_then_answer_then_our_bye() {
    run(Case {
        name: "digest_challenge_then_answer_then_our_bye",
        scenario: "auth_answer_our_bye.xml",
        dial: |sipp| authed_dial(sipp, "s3cret"),
        wait_for: ("ACTIVE", 1),
        our_hang_up: true,
        progress: &["DIALING", "RINGING", "ACTIVE", "HANGUP", NORMAL_END],
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_forbidden_and_the_call_fails() {
    run(Case {
        name: "a_wrong_password_is_forbidden_and_the_call_fails",
        scenario: "auth_answer_our_bye.xml",
        dial: |sipp| authed_dial(sipp, "wrong"),
        wait_for: ("destroyed", 1),
        our_hang_up: false,
        progress: &["DIALING", "destroyed:403:Forbidden"],
    })
    .await;
}

#[tokio::test]
async fn answer_then_the_far_end_hangs_up() {
    run(Case {
        name: "answer_then_the_far_end_hangs_up",
        scenario: "answer_far_end_bye.xml",
        dial: |sipp| json!({"uri": sipp.uri("bob")}),
        wait_for: ("destroyed", 1),
        our_hang_up: false,
        progress: &["DIALING", "RINGING", "ACTIVE", "HANGUP", NORMAL_END],
    })
    .await;
}

#[tokio::test]
async fn a_busy_far_end_ends_the_call_with_486() {
    run(Case {
        name: "a_busy_far_end_ends_the_call_with_486",
        scenario: "busy.xml",
        dial: |sipp| json!({"uri": sipp.uri("carol")}),
        wait_for: ("destroyed", 1),
        our_hang_up: false,
        progress: &["DIALING", "destroyed:486:Busy Here"],
    })
    .await;
}

#[tokio::test]
async fn ringing_then_our_cancel() {
    run(Case {
        name: "ringing_then_our_cancel",
        scenario: "ring_our_cancel.xml",
        dial: |sipp| json!({"uri": sipp.uri("dave")}),
        wait_for: ("RINGING", 1),
        our_hang_up: true,
        progress: &["DIALING", "RINGING", "destroyed:487:Request Terminated"],
    })
    .await;
}

#[tokio::test]
async fn hold_and_resume_by_reinvite() {
    run(Case {
        name: "hold_and_resume_by_reinvite",
        scenario: "answer_hold_resume.xml",
        dial: |sipp| json!({"uri": sipp.uri("erin")}),
        wait_for: ("ACTIVE", 2),
        our_hang_up: true,
        progress: &[
            "DIALING", "RINGING", "ACTIVE", "ON_HOLD", "ACTIVE", "HANGUP", NORMAL_END,
        ],
    })
    .await;
}
