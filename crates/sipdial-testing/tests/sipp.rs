//! The SIP gateway emulation against SIPp UAS scenarios (tests/sipp/*.xml), over UDP
//! and TCP: digest challenge, answer, hang-ups from either side, busy, cancel, hold,
//! a wrong password, and the dial's `From` and custom headers on the INVITE (the
//! scenarios check those and fail the call otherwise).

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

#[tokio::test]
async fn digest_challenge_then_answer_then_our_bye() {
    if !available("digest_challenge_then_answer_then_our_bye") {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas("auth_answer_our_bye.xml", transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (session, connection, call) = dial(&fake, authed_dial(&sipp, "s3cret")).await;
        wait_for(&fake, &call, "ACTIVE", WITHIN).await;
        assert_eq!(fake.streams(&session).len(), 1, "{transport:?}");
        assert_eq!(hang_up(&fake, &session, &connection).await, 204);
        sipp.expect_success().await;
        assert_eq!(
            progress(&fake, &call),
            [
                "DIALING",
                "RINGING",
                "ACTIVE",
                "HANGUP",
                "destroyed:700:Normal Clearing"
            ],
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_forbidden_and_the_call_fails() {
    if !available("a_wrong_password_is_forbidden_and_the_call_fails") {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas("auth_answer_our_bye.xml", transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (session, _, call) = dial(&fake, authed_dial(&sipp, "wrong")).await;
        wait_for(&fake, &call, "destroyed", WITHIN).await;
        sipp.expect_success().await;
        assert_eq!(
            progress(&fake, &call),
            ["DIALING", "destroyed:403:Forbidden"],
            "{transport:?}"
        );
        assert!(fake.connections(&session).is_empty());
    }
}

#[tokio::test]
async fn answer_then_the_far_end_hangs_up() {
    if !available("answer_then_the_far_end_hangs_up") {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas("answer_far_end_bye.xml", transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (session, _, call) = dial(&fake, json!({"uri": sipp.uri("bob")})).await;
        wait_for(&fake, &call, "destroyed", WITHIN).await;
        sipp.expect_success().await;
        assert_eq!(
            progress(&fake, &call),
            [
                "DIALING",
                "RINGING",
                "ACTIVE",
                "HANGUP",
                "destroyed:700:Normal Clearing"
            ],
            "{transport:?}"
        );
        assert!(fake.connections(&session).is_empty());
        assert!(fake.streams(&session).is_empty());
    }
}

#[tokio::test]
async fn a_busy_far_end_ends_the_call_with_486() {
    if !available("a_busy_far_end_ends_the_call_with_486") {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas("busy.xml", transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (_, _, call) = dial(&fake, json!({"uri": sipp.uri("carol")})).await;
        wait_for(&fake, &call, "destroyed", WITHIN).await;
        sipp.expect_success().await;
        assert_eq!(
            progress(&fake, &call),
            ["DIALING", "destroyed:486:Busy Here"],
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn ringing_then_our_cancel() {
    if !available("ringing_then_our_cancel") {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas("ring_our_cancel.xml", transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (session, connection, call) = dial(&fake, json!({"uri": sipp.uri("dave")})).await;
        wait_for(&fake, &call, "RINGING", WITHIN).await;
        assert_eq!(hang_up(&fake, &session, &connection).await, 204);
        sipp.expect_success().await;
        assert_eq!(
            progress(&fake, &call),
            ["DIALING", "RINGING", "destroyed:487:Request Terminated"],
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn hold_and_resume_by_reinvite() {
    if !available("hold_and_resume_by_reinvite") {
        return;
    }
    for transport in Transport::BOTH {
        let sipp = Sipp::uas("answer_hold_resume.xml", transport).await;
        let fake = fake_with_sip(SipConfig::new()).await;
        let (session, connection, call) = dial(&fake, json!({"uri": sipp.uri("erin")})).await;
        wait_for(&fake, &call, "ON_HOLD", WITHIN).await;
        let deadline = tokio::time::Instant::now() + WITHIN;
        while progress(&fake, &call)
            .iter()
            .filter(|s| *s == "ACTIVE")
            .count()
            < 2
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{transport:?}: {:?}",
                progress(&fake, &call)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(hang_up(&fake, &session, &connection).await, 204);
        sipp.expect_success().await;
        assert_eq!(
            progress(&fake, &call),
            [
                "DIALING",
                "RINGING",
                "ACTIVE",
                "ON_HOLD",
                "ACTIVE",
                "HANGUP",
                "destroyed:700:Normal Clearing"
            ],
            "{transport:?}"
        );
    }
}
