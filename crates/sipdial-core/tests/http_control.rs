//! Call control of the call policies over the Tower service: who may mute, where the
//! digits at answer go (the host's never to a caller's URI), that an answer reported
//! in process plays them too, and that a failed send is counted without failing the
//! callback.
#![cfg(feature = "fake")]

mod http_support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Method;
use http_support::*;
use serde_json::{Value, json};
use sipdial_core::api::{Action, Authorizer, Decision, SipTarget};
use sipdial_core::fake::{CallProgression, FakeDialer, Operation, Script};
use sipdial_core::{DialError, Dtmf, SipDialApi, SipDialer, SipUri};

/// Lets only signed-in users (`x-user`) end or mute calls.
struct SignedInControl;

#[async_trait]
impl Authorizer for SignedInControl {
    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        let signed_in = head.headers.contains_key("x-user");
        match action {
            Action::HangUp { .. } | Action::Mute { .. } if !signed_in => {
                Decision::deny("sign in to control calls")
            }
            _ => Decision::Allow,
        }
    }
}

#[tokio::test]
async fn mute_is_authorized_like_hang_up() {
    let f = fixture_with(|b| b.authorizer(Arc::new(SignedInControl)));
    let sid = f.session("r").await;
    let call = f.dial(&sid).await;
    let id = call["id"].as_str().unwrap();
    let res = f
        .send(Method::POST, &format!("/sip/calls/{id}/mute"), None)
        .await;
    assert_eq!(res.assert_error(403), "forbidden");
    assert_eq!(res.message(), "sign in to control calls");
    assert_eq!(f.fake.count(Operation::ForceMute), 0);

    let mut req = request(Method::POST, &format!("/sip/calls/{id}/mute"), None);
    req.headers_mut().insert("x-user", "ann".parse().unwrap());
    assert_eq!(send_req(&f.api, req).await.status, 204);
    assert_eq!(f.fake.count(Operation::ForceMute), 1);
    let stream = sipdial_core::StreamId::new(call["streamId"].as_str().unwrap()).unwrap();
    assert!(f.fake.is_muted(&stream));
}

async fn answer(f: &Fixture, sid: &str, call: &Value, timestamp: u64) {
    let res = f
        .send(
            Method::POST,
            "/sip/callbacks",
            Some(json!({
                "sessionId": sid, "event": "callUpdated", "state": "ACTIVE",
                "timestamp": timestamp,
                "call": { "id": call["id"], "connectionId": call["connectionId"] },
            })),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
}

/// The digits played so far, once `want` plays happened (or 5 s passed) and a moment
/// more for a stray second one.
async fn played(fake: &FakeDialer, want: usize) -> Vec<String> {
    for _ in 0..250 {
        if fake.count(Operation::PlayDtmf) >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    fake.recorded()
        .into_iter()
        .filter(|r| r.op == Operation::PlayDtmf)
        .map(|r| r.detail)
        .collect()
}

async fn dial_body(f: &Fixture, body: Value) -> Value {
    let res = f.send(Method::POST, "/sip/dial", Some(body)).await;
    assert_eq!(res.status, 201, "{:?}", res.json());
    res.json()
}

#[tokio::test]
async fn the_hosts_digits_never_go_to_a_callers_uri() {
    let f = fixture_with(|b| b.default_dtmf_after_answer(Dtmf::new("5150#").unwrap()));
    let sid = f.session("r").await;
    // A caller-supplied (allow-listed) URI: not the host's digits.
    let custom = dial_body(
        &f,
        json!({ "sessionId": sid, "uri": "sip:+15551234@gw.example.com" }),
    )
    .await;
    answer(&f, &sid, &custom, 10).await;
    assert!(played(&f.fake, 0).await.is_empty());
    // With its own digits, those.
    let own = dial_body(
        &f,
        json!({ "sessionId": sid, "uri": "sip:+15551235@gw.example.com", "dtmfAfterAnswer": "77" }),
    )
    .await;
    answer(&f, &sid, &own, 11).await;
    assert_eq!(played(&f.fake, 1).await.len(), 1);
    // A target without digits of its own plays the host's default, and a request may
    // not replace it.
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid, "dtmfAfterAnswer": "1" })),
        )
        .await;
    assert_eq!(res.assert_error(403), "dtmf_not_allowed");
    f.send(
        Method::DELETE,
        &format!("/sip/calls/{}", custom["id"].as_str().unwrap()),
        None,
    )
    .await;
    let target = dial_body(&f, json!({ "sessionId": sid })).await;
    answer(&f, &sid, &target, 12).await;
    let all = played(&f.fake, 2).await;
    let connection = |c: &Value| c["connectionId"].as_str().unwrap().to_owned();
    assert_eq!(
        all,
        [
            format!("connection={} digits=77", connection(&own)),
            format!("connection={} digits=5150#", connection(&target)),
        ]
    );
}

#[tokio::test]
async fn an_answer_reported_in_process_plays_the_digits_once() {
    let fake = Arc::new(
        FakeDialer::builder()
            .progression(CallProgression {
                ring_after: Duration::from_millis(20),
                answer_after: Duration::from_millis(20),
                hang_up_after: None,
            })
            .build(),
    );
    let api = SipDialApi::builder(fake.clone() as Arc<dyn SipDialer>)
        .anonymous()
        .target(
            SipTarget::new("bridge", SipUri::new("sip:bridge@pbx.example.com").unwrap())
                .dtmf_after_answer(Dtmf::new("123p4#").unwrap()),
        )
        .build()
        .unwrap();
    let res = send(
        &api,
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "r" })),
    )
    .await;
    let sid = res.json()["sessionId"].as_str().unwrap().to_owned();
    // Waiting for the answer returns the call active, and its digits follow.
    let res = send(
        &api,
        Method::POST,
        "/sip/dial?wait=answered",
        Some(json!({ "sessionId": sid })),
    )
    .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["state"], "active");
    let all = played(&fake, 1).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].ends_with("digits=123p4#"));
}

#[tokio::test]
async fn a_failed_send_is_counted_and_the_callback_still_applies() {
    let f = fixture_with(|b| b.default_dtmf_after_answer(Dtmf::new("9").unwrap()));
    let sid = f.session("r").await;
    let call = f.dial(&sid).await;
    f.fake
        .script_once(Operation::PlayDtmf, Script::Fail(DialError::Timeout));
    answer(&f, &sid, &call, 10).await;
    assert_eq!(played(&f.fake, 1).await.len(), 1);
    assert_eq!(f.api.dtmf_after_answer_failures(), 1);
    let got = f
        .send(
            Method::GET,
            &format!("/sip/calls/{}", call["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(got.json()["state"], "active");
    // Not retried: a later answer (hold, resume) does not play them again.
    answer(&f, &sid, &call, 20).await;
    assert_eq!(played(&f.fake, 1).await.len(), 1);
}

#[tokio::test]
async fn a_zero_answer_wait_limit_is_refused() {
    let err = builder(&fake())
        .answer_wait_limit(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        sipdial_core::api::ApiConfigError::Limit("answer_wait_limit")
    );
}

#[tokio::test]
async fn the_ring_timeout_bounds_the_wait_for_the_answer() {
    let f = fixture_with(|b| {
        b.target(
            SipTarget::new("quick", SipUri::new("sip:quick@pbx.example.com").unwrap())
                .ring_timeout(Duration::from_millis(700)),
        )
        .default_ring_timeout(Duration::from_secs(1))
        .timer_poll_interval(Duration::from_millis(100))
    });
    let sid = f.session("r").await;
    for (target, ring_timeout) in [("quick", 700), ("sales", 1000)] {
        let started = std::time::Instant::now();
        let res = f
            .send(
                Method::POST,
                "/sip/dial?wait=answered",
                Some(json!({ "sessionId": sid, "target": target })),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(res.status, 201);
        // Unanswered: still dialing, or hung up by the ring timeout's own timer.
        let state = res.json()["state"].as_str().unwrap().to_owned();
        assert!(state == "dialing" || state == "ended", "{state}");
        assert!(
            took >= Duration::from_millis(ring_timeout - 50)
                // The bound: the ring timeout, a timer poll and the hang-up's grace.
                && took < Duration::from_millis(ring_timeout + 600 + 2000),
            "{target}: waited {took:?}"
        );
    }
}
