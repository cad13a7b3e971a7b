//! Outcomes, `answeredAt` and `durationMs` through the HTTP API: every end source
//! (the platform's codes, connection events, our hang-up) as a client reads it back,
//! and the policy settings the builder refuses.
#![cfg(feature = "fake")]

mod http_support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::Method;
use http_support::*;
use serde_json::{Value, json};
use sipdial_core::api::{ApiConfigError, SipTarget};
use sipdial_core::async_trait;
use sipdial_core::events::{CallRef, PlatformCallState};
use sipdial_core::fake::FakeDialer;
use sipdial_core::{
    ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, PlatformEvent, PlatformEventKind,
    PlatformInfo, SessionId, SessionOptions, SipCall, SipDialApi, SipDialer, SipUri, StreamId,
    StreamInfo, TokenOptions,
};

async fn post(f: &Fixture, body: Value) -> String {
    let res = f.send(Method::POST, "/sip/callbacks", Some(body)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()["status"].as_str().unwrap().to_owned()
}

fn updated(session: &str, call: &Value, state: &str, at: u64) -> Value {
    json!({ "sessionId": session, "event": "callUpdated", "timestamp": at, "state": state,
            "call": { "id": call["id"], "connectionId": call["connectionId"] } })
}

fn destroyed(session: &str, call: &Value, code: &str, at: u64) -> Value {
    json!({ "sessionId": session, "event": "callDestroyed", "timestamp": at, "reason_code": code,
            "call": { "id": call["id"], "connectionId": call["connectionId"] } })
}

fn disconnected(session: &str, call: &Value, reason: &str, at: u64) -> Value {
    json!({ "sessionId": session, "event": "connectionDestroyed", "timestamp": at, "reason": reason,
            "connection": { "id": call["connectionId"] } })
}

async fn get_call(f: &Fixture, call: &Value) -> Value {
    let id = call["id"].as_str().unwrap();
    let res = f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(res.status, 200);
    res.json()
}

#[tokio::test]
async fn the_platforms_codes_become_outcomes() {
    let f = fixture_with(|b| {
        many_clients(b)
            .max_active_calls_per_session(20)
            .dials_per_minute(100)
    });
    let s = f.session("r").await;
    for (code, answered, want) in [
        ("486", false, "busy"),
        ("600", false, "busy"),
        ("480", false, "no_answer"),
        ("408", false, "no_answer"),
        ("603", false, "rejected"),
        ("403", false, "rejected"),
        ("404", false, "failed"),
        ("500", false, "failed"),
        ("487", false, "canceled"),
        ("200", true, "completed"),
        ("700", true, "completed"),
        ("704", true, "failed"),
        ("705", true, "max_duration"),
    ] {
        let call = f.dial(&s).await;
        assert!(call.get("outcome").is_none(), "{call}");
        post(&f, updated(&s, &call, "RINGING", 10)).await;
        if answered {
            post(&f, updated(&s, &call, "ACTIVE", 1_000)).await;
        }
        assert_eq!(post(&f, destroyed(&s, &call, code, 4_000)).await, "applied");
        let got = get_call(&f, &call).await;
        assert_eq!(got["outcome"], want, "{code}: {got}");
        if answered {
            assert_eq!(got["answeredAt"], 1_000, "{got}");
            assert_eq!(got["durationMs"], 3_000, "{got}");
        } else {
            assert!(got.get("answeredAt").is_none() && got.get("durationMs").is_none());
        }
    }
}

#[tokio::test]
async fn connection_events_and_our_hang_up_decide_or_guess() {
    let f = fixture_with(|b| {
        many_clients(b)
            .max_active_calls_per_session(20)
            .dials_per_minute(100)
    });
    let s = f.session("r").await;

    // Our hang-up before the answer: canceled, and the platform's 700 keeps it so.
    let call = f.dial(&s).await;
    let id = call["id"].as_str().unwrap();
    let res = f
        .send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(get_call(&f, &call).await["outcome"], "canceled");
    post(&f, destroyed(&s, &call, "700", 9_000)).await;
    let got = get_call(&f, &call).await;
    assert_eq!(
        (&got["outcome"], &got["sipCode"]),
        (&json!("canceled"), &json!(700))
    );

    // Answered, then hung up by us: completed with a duration.
    let call = f.dial(&s).await;
    post(&f, updated(&s, &call, "ACTIVE", 1_000)).await;
    let id = call["id"].as_str().unwrap();
    f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    let got = get_call(&f, &call).await;
    assert_eq!(got["outcome"], "completed");
    assert_eq!(got["answeredAt"], 1_000);
    assert!(got["durationMs"].as_u64().is_some(), "{got}");

    // A forced disconnect is a hang-up through the REST API: ours.
    let call = f.dial(&s).await;
    post(&f, disconnected(&s, &call, "forceDisconnected", 50)).await;
    assert_eq!(get_call(&f, &call).await["outcome"], "canceled");

    // The far end's leg going away before the answer: failed until the platform
    // says why.
    let call = f.dial(&s).await;
    post(&f, updated(&s, &call, "RINGING", 10)).await;
    post(&f, disconnected(&s, &call, "clientDisconnected", 50)).await;
    assert_eq!(get_call(&f, &call).await["outcome"], "failed");
    assert_eq!(post(&f, destroyed(&s, &call, "603", 60)).await, "applied");
    assert_eq!(get_call(&f, &call).await["outcome"], "rejected");

    // HANGUP after the answer: completed.
    let call = f.dial(&s).await;
    post(&f, updated(&s, &call, "ACTIVE", 100)).await;
    post(&f, updated(&s, &call, "HANGUP", 2_100)).await;
    let got = get_call(&f, &call).await;
    assert_eq!(
        (&got["outcome"], &got["durationMs"]),
        (&json!("completed"), &json!(2_000))
    );
}

#[test]
fn the_builder_refuses_unbounded_policies() {
    let uri = || SipUri::new("sip:a@pbx.example.com").unwrap();
    let cases: Vec<(sipdial_core::SipDialApiBuilder, &str, &str)> = vec![
        (
            builder(&fake()).default_ring_timeout(Duration::ZERO),
            "ring timeout",
            "the defaults",
        ),
        (
            builder(&fake()).default_max_duration(Duration::from_secs(6 * 3600 + 1)),
            "max duration",
            "the defaults",
        ),
        (
            builder(&fake())
                .target(SipTarget::new("t", uri()).ring_timeout(Duration::from_secs(601))),
            "ring timeout",
            "target `t`",
        ),
        (
            builder(&fake()).target(SipTarget::new("t", uri()).max_duration(Duration::ZERO)),
            "max duration",
            "target `t`",
        ),
        (
            builder(&fake()).call_expiry(Duration::ZERO),
            "call expiry",
            "the API",
        ),
        (
            builder(&fake()).timer_poll_interval(Duration::ZERO),
            "timer poll interval",
            "the API",
        ),
    ];
    for (b, want_setting, want_scope) in cases {
        match b.build() {
            Err(ApiConfigError::CallPolicy { setting, scope, .. }) => {
                assert_eq!((setting, scope.as_str()), (want_setting, want_scope));
            }
            other => panic!("{want_setting}: {other:?}"),
        }
    }
    // In bounds: fine, and the target keeps what it was given.
    let t = SipTarget::new("t", uri())
        .ring_timeout(Duration::from_secs(30))
        .max_duration(Duration::from_secs(3600));
    assert_eq!(t.ring_timeout_setting(), Some(Duration::from_secs(30)));
    assert_eq!(t.max_duration_setting(), Some(Duration::from_secs(3600)));
    builder(&fake())
        .target(t)
        .default_ring_timeout(Duration::from_millis(1))
        .default_max_duration(Duration::from_secs(6 * 3600))
        .build()
        .unwrap();
}

/// A dialer whose platform reports the call answered before the dial's answer is
/// recorded (the platform calls back that fast).
struct AnsweredEarly {
    inner: FakeDialer,
    api: OnceLock<SipDialApi>,
}

#[async_trait]
impl SipDialer for AnsweredEarly {
    fn platform(&self) -> PlatformInfo {
        self.inner.platform()
    }
    async fn create_session(&self, o: SessionOptions) -> Result<SessionId, DialError> {
        self.inner.create_session(o).await
    }
    fn issue_token(
        &self,
        s: &SessionId,
        o: TokenOptions,
    ) -> Result<sipdial_core::ClientToken, DialError> {
        self.inner.issue_token(s, o)
    }
    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError> {
        let call = self.inner.dial(request).await?;
        let api = self.api.get().expect("api set");
        let early = PlatformEvent::new(
            call.session_id.clone(),
            PlatformEventKind::CallUpdated {
                call: CallRef::new(call.id.clone(), call.connection_id.clone()),
                state: PlatformCallState::Active,
            },
        )
        .at(sipdial_core::Timestamp::from_millis(1_234));
        api.apply_event(early).await.unwrap();
        Ok(call)
    }
    async fn hang_up(&self, s: &SessionId, c: &ConnectionId) -> Result<(), DialError> {
        self.inner.hang_up(s, c).await
    }
    async fn play_dtmf(&self, t: &DtmfTarget, d: &Dtmf) -> Result<(), DialError> {
        self.inner.play_dtmf(t, d).await
    }
    async fn force_mute(&self, s: &SessionId, st: &StreamId) -> Result<(), DialError> {
        self.inner.force_mute(s, st).await
    }
    async fn list_streams(&self, s: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        self.inner.list_streams(s).await
    }
}

#[tokio::test]
async fn an_answer_that_overtakes_the_dial_keeps_its_answered_at() {
    for record_unknown in [false, true] {
        let dialer = Arc::new(AnsweredEarly {
            inner: FakeDialer::new(),
            api: OnceLock::new(),
        });
        let api = builder_for(dialer.clone())
            .record_unknown_calls(record_unknown)
            .build()
            .unwrap();
        dialer.api.set(api.clone()).unwrap();
        let f = Fixture {
            fake: Arc::new(FakeDialer::new()),
            api,
        };
        let s = f.session("r").await;
        let call = f.dial(&s).await;
        assert_eq!(call["state"], "active", "{call}");
        assert_eq!(call["answeredAt"], 1_234, "{call}");
        let id = call["id"].as_str().unwrap();
        f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
            .await;
        assert_eq!(get_call(&f, &call).await["outcome"], "completed");
    }
}
