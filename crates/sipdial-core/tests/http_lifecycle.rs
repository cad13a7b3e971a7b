//! The call lifecycle through `POST /sip/callbacks` and in-process events: every event
//! kind and transition, duplicates and reordering, unknown events and calls, the hook,
//! and the FakeDialer's progression seen over SSE.
#![cfg(feature = "fake")]

mod http_support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::Method;
use http_support::*;
use serde_json::{Value, json};
use sipdial_core::api::{ApplyOutcome, CallEvent, CallEventCause, CallState};
use sipdial_core::async_trait;
use sipdial_core::events::{CallRef, PlatformCallState};
use sipdial_core::fake::{CallProgression, FakeDialer};
use sipdial_core::testing::{SseEvent, TestStream};
use sipdial_core::{
    CallId, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, PlatformEvent,
    PlatformEventKind, PlatformInfo, SessionId, SessionOptions, SipCall, SipDialApi, SipDialer,
    StreamId, StreamInfo, TokenOptions,
};
use tower::ServiceExt;

/// POSTs a callback; returns the ack's status.
async fn post(f: &Fixture, body: Value) -> String {
    let res = f.send(Method::POST, "/sip/callbacks", Some(body)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()["status"].as_str().unwrap().to_owned()
}

fn updated(session: &str, call: &Value, state: &str, at: u64) -> Value {
    json!({ "sessionId": session, "projectId": "123456", "event": "callUpdated", "timestamp": at,
            "state": state, "call": { "id": call["id"], "connectionId": call["connectionId"], "createdAt": 1 } })
}

fn destroyed(session: &str, call: &Value, code: &str, msg: &str, at: u64) -> Value {
    json!({ "sessionId": session, "event": "callDestroyed", "timestamp": at, "reason_code": code,
            "reason_message": msg, "call": { "id": call["id"], "connectionId": call["connectionId"] } })
}

async fn get_call(f: &Fixture, call: &Value) -> Value {
    let id = call["id"].as_str().unwrap();
    let res = f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(res.status, 200);
    res.json()
}

async fn state(f: &Fixture, call: &Value) -> String {
    get_call(f, call).await["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_call_state_is_reached_through_callbacks() {
    let f = fixture();
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    assert_eq!(call["state"], "dialing");
    assert_eq!(
        post(
            &f,
            json!({ "sessionId": s, "event": "callCreated", "timestamp": 1,
                         "call": { "id": call["id"], "connectionId": call["connectionId"] } })
        )
        .await,
        "unchanged"
    );
    assert_eq!(
        post(&f, updated(&s, &call, "DIALING", 2)).await,
        "unchanged"
    );
    for (st, at, want) in [
        ("RINGING", 3, "ringing"),
        ("ACTIVE", 4, "active"),
        ("ON_HOLD", 5, "on_hold"),
        ("ACTIVE", 6, "active"),
    ] {
        assert_eq!(
            post(&f, updated(&s, &call, st, at)).await,
            "applied",
            "{st}"
        );
        assert_eq!(state(&f, &call).await, want);
    }
    let got = get_call(&f, &call).await;
    assert_eq!(got["updatedAt"], 6);
    assert_eq!(
        post(&f, destroyed(&s, &call, "486", "Busy Here", 7)).await,
        "applied"
    );
    let ended = get_call(&f, &call).await;
    assert_eq!(ended["state"], "ended");
    assert_eq!(ended["endReason"], "Busy Here");
    assert_eq!(ended["sipCode"], 486);
    assert_eq!(ended["endedAt"], 7);
    // Ended calls leave the active list and free their slot.
    let list = f
        .send(Method::GET, &format!("/sip/calls?sessionId={s}"), None)
        .await;
    assert_eq!(list.json()["calls"], json!([]));
}

#[tokio::test]
async fn session_events_end_calls_by_connection_and_the_rest_is_ignored() {
    let f = fixture();
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let conn = call["connectionId"].clone();
    let stream = call["streamId"].clone();
    for body in [
        json!({ "sessionId": s, "event": "connectionCreated", "timestamp": 1,
                "connection": { "id": conn, "createdAt": 1, "data": "sip=true" } }),
        json!({ "sessionId": s, "event": "streamDestroyed", "timestamp": 2, "reason": "mediaStopped",
                "stream": { "id": stream, "connection": { "id": conn } } }),
        // A browser's connection, which no call has.
        json!({ "sessionId": s, "event": "connectionDestroyed", "reason": "clientDisconnected",
                "timestamp": 3, "connection": { "id": "browser-connection" } }),
    ] {
        assert_eq!(post(&f, body).await, "ignored");
    }
    // The SIP leg's stream is known already; muteForced carries no state.
    assert_eq!(
        post(
            &f,
            json!({ "sessionId": s, "event": "streamCreated", "timestamp": 4,
                         "stream": { "id": stream, "connection": { "id": conn } } })
        )
        .await,
        "unchanged"
    );
    assert_eq!(
        post(
            &f,
            json!({ "sessionId": s, "event": "muteForced", "timestamp": 5,
                         "call": { "id": call["id"], "connectionId": conn } })
        )
        .await,
        "unchanged"
    );
    assert_eq!(
        post(
            &f,
            json!({ "sessionId": s, "event": "connectionDestroyed", "timestamp": 6,
                         "reason": "networkDisconnected", "connection": { "id": conn } })
        )
        .await,
        "applied"
    );
    let ended = get_call(&f, &call).await;
    assert_eq!(ended["state"], "ended");
    assert_eq!(ended["endReason"], "Network disconnected");
    assert!(ended.get("sipCode").is_none());
    // The platform's callDestroyed then says why, once.
    assert_eq!(
        post(&f, destroyed(&s, &call, "704", "", 7)).await,
        "applied"
    );
    let ended = get_call(&f, &call).await;
    assert_eq!(ended["endReason"], "Media Timeout");
    assert_eq!(ended["sipCode"], 704);
    assert_eq!(
        post(&f, destroyed(&s, &call, "200", "OK", 8)).await,
        "unchanged"
    );
}

#[tokio::test]
async fn a_hangup_update_ends_the_call_until_call_destroyed_says_why() {
    let f = fixture();
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    post(&f, updated(&s, &call, "ACTIVE", 2)).await;
    assert_eq!(post(&f, updated(&s, &call, "HANGUP", 3)).await, "applied");
    let got = get_call(&f, &call).await;
    assert_eq!(
        (got["state"].as_str(), got["endReason"].as_str()),
        (Some("ended"), Some("Hung up"))
    );
    assert_eq!(
        post(&f, destroyed(&s, &call, "200", "", 4)).await,
        "applied"
    );
    assert_eq!(get_call(&f, &call).await["endReason"], "Call ended");
}

#[tokio::test]
async fn duplicates_are_reported_and_applied_once() {
    let events = Arc::new(Mutex::new(Vec::<CallEvent>::new()));
    let seen = Arc::clone(&events);
    let f =
        fixture_with(|b| b.on_call_event(Arc::new(move |e| seen.lock().unwrap().push(e.clone()))));
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let ringing = updated(&s, &call, "RINGING", 10);
    assert_eq!(post(&f, ringing.clone()).await, "applied");
    assert_eq!(post(&f, ringing.clone()).await, "duplicate");
    assert_eq!(post(&f, ringing).await, "duplicate");
    let gone = destroyed(&s, &call, "486", "Busy Here", 11);
    assert_eq!(post(&f, gone.clone()).await, "applied");
    assert_eq!(post(&f, gone).await, "duplicate");
    let events = events.lock().unwrap();
    let states: Vec<_> = events.iter().map(|e| e.call.state).collect();
    assert_eq!(
        states,
        [CallState::Dialing, CallState::Ringing, CallState::Ended]
    );
    assert_eq!(events[0].cause, CallEventCause::Dialed);
    assert_eq!(events[1].previous, Some(CallState::Dialing));
    assert!(matches!(
        &events[2].cause,
        CallEventCause::Platform(PlatformEvent {
            kind: PlatformEventKind::CallDestroyed { .. },
            ..
        })
    ));
}

#[tokio::test]
async fn late_and_reordered_deliveries_never_move_a_call_backwards() {
    let f = fixture();
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    // ACTIVE overtook RINGING.
    assert_eq!(post(&f, updated(&s, &call, "ACTIVE", 20)).await, "applied");
    assert_eq!(
        post(&f, updated(&s, &call, "RINGING", 10)).await,
        "unchanged"
    );
    assert_eq!(
        post(&f, updated(&s, &call, "DIALING", 5)).await,
        "unchanged"
    );
    assert_eq!(state(&f, &call).await, "active");
    // A hold older than the resume that set ACTIVE is stale; a newer one applies.
    assert_eq!(
        post(&f, updated(&s, &call, "ON_HOLD", 15)).await,
        "unchanged"
    );
    assert_eq!(post(&f, updated(&s, &call, "ON_HOLD", 25)).await, "applied");
    assert_eq!(
        post(&f, updated(&s, &call, "ACTIVE", 22)).await,
        "unchanged"
    );
    assert_eq!(state(&f, &call).await, "on_hold");
    // Nothing after the end.
    post(&f, destroyed(&s, &call, "700", "Normal Clearing", 30)).await;
    assert_eq!(
        post(&f, updated(&s, &call, "ACTIVE", 40)).await,
        "unchanged"
    );
    assert_eq!(
        post(&f, updated(&s, &call, "RINGING", 41)).await,
        "unchanged"
    );
    assert_eq!(state(&f, &call).await, "ended");
}

#[tokio::test]
async fn unknown_events_fields_and_calls_are_accepted_and_ignored() {
    let f = fixture();
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let mut extra = updated(&s, &call, "RINGING", 3);
    extra["brandNewField"] = json!({ "nested": [1, 2, 3] });
    extra["call"]["sipHeaders"] = json!({ "X-A": "b" });
    assert_eq!(post(&f, extra).await, "applied");
    for body in [
        json!({ "event": "archiveStarted", "sessionId": s }),
        json!({ "event": "callUpdated", "state": "WARPING", "timestamp": 4,
                "call": { "id": call["id"], "connectionId": call["connectionId"] } }),
        json!({ "event": 42 }),
        json!({}),
        // Calls we did not place (the default does not record them).
        updated(
            &s,
            &json!({ "id": "not-ours", "connectionId": "not-ours-c" }),
            "RINGING",
            5,
        ),
    ] {
        assert_eq!(post(&f, body.clone()).await, "ignored", "{body}");
    }
    assert_eq!(state(&f, &call).await, "ringing");
    let res = f.send(Method::GET, "/sip/calls/not-ours", None).await;
    assert_eq!(res.status, 404);
    // Not JSON at all is the one refusal.
    let res = f
        .send(Method::POST, "/sip/callbacks", Some(json!("text")))
        .await;
    assert_eq!(res.assert_error(400), "invalid_json");
}

#[tokio::test]
async fn calls_we_did_not_place_are_recorded_only_on_opt_in_and_in_known_sessions() {
    // Unsigned callbacks: only a verified one may make a session known.
    let f = fixture_unsigned(|b| b.record_unknown_calls(true));
    let s = f.session("r").await;
    let foreign = json!({ "id": "sdk-call", "connectionId": "sdk-conn" });
    assert_eq!(
        post(&f, updated(&s, &foreign, "RINGING", 5)).await,
        "applied"
    );
    let got = get_call(&f, &foreign).await;
    assert_eq!(got["state"], "ringing");
    assert_eq!(got["target"], Value::Null);
    assert!(got.get("streamId").is_none());
    // Its stream is learned from streamCreated.
    assert_eq!(
        post(
            &f,
            json!({ "sessionId": s, "event": "streamCreated", "timestamp": 6,
                         "stream": { "id": "sdk-stream", "connection": { "id": "sdk-conn" } } })
        )
        .await,
        "applied"
    );
    assert_eq!(get_call(&f, &foreign).await["streamId"], "sdk-stream");
    // A session this server does not know: not recorded.
    let other = json!({ "id": "elsewhere", "connectionId": "elsewhere-c" });
    assert_eq!(
        post(&f, updated("1_unknown", &other, "RINGING", 5)).await,
        "ignored"
    );
    let res = f.send(Method::GET, "/sip/calls/elsewhere", None).await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn hanging_up_ends_the_call_and_the_platforms_verdict_follows() {
    let events = Arc::new(Mutex::new(Vec::<CallEvent>::new()));
    let seen = Arc::clone(&events);
    let f =
        fixture_with(|b| b.on_call_event(Arc::new(move |e| seen.lock().unwrap().push(e.clone()))));
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let id = call["id"].as_str().unwrap();
    let res = f
        .send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    assert_eq!(res.status, 204);
    let got = get_call(&f, &call).await;
    assert_eq!(got["state"], "ended");
    // The fake reports the forced disconnect as the platform does: callDestroyed 700.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let got = get_call(&f, &call).await;
        if got["sipCode"] == 700 {
            assert_eq!(got["endReason"], "Normal Clearing");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no callDestroyed: {got}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let causes: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.cause.clone())
        .collect();
    assert_eq!(
        causes[..2],
        [CallEventCause::Dialed, CallEventCause::HungUp]
    );
    assert!(matches!(causes[2], CallEventCause::Platform(_)));
}

/// A dialer whose platform calls back before the dial's answer is recorded.
struct RacingDialer {
    inner: FakeDialer,
    api: OnceLock<SipDialApi>,
}

#[async_trait]
impl SipDialer for RacingDialer {
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
                state: PlatformCallState::Ringing,
            },
        );
        assert_eq!(api.apply_event(early).await.unwrap(), ApplyOutcome::Ignored);
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
async fn a_callback_that_overtakes_the_dial_answer_is_applied_when_the_call_is_recorded() {
    let dialer = Arc::new(RacingDialer {
        inner: FakeDialer::new(),
        api: OnceLock::new(),
    });
    let api = builder_for(dialer.clone()).build().unwrap();
    dialer.api.set(api.clone()).unwrap();
    let f = Fixture {
        fake: Arc::new(FakeDialer::new()),
        api,
    };
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    assert_eq!(call["state"], "ringing", "{call}");
}

async fn open_events(api: &SipDialApi, session: &str) -> TestStream {
    let req = request(
        Method::GET,
        &format!("/sip/events?sessionId={session}"),
        None,
    );
    let res = sipdial_core::SipDialService::new(api.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    TestStream::from_http(res)
}

async fn next(stream: &mut TestStream) -> SseEvent {
    stream.next_event(Duration::from_secs(10)).await.unwrap()
}

#[tokio::test]
async fn the_fake_progression_is_seen_over_sse_from_dial_to_the_far_end_hanging_up() {
    let fake = Arc::new(
        FakeDialer::builder()
            .progression(CallProgression {
                ring_after: Duration::from_millis(30),
                answer_after: Duration::from_millis(30),
                hang_up_after: Some((Duration::from_millis(30), 486, "Busy Here".into())),
            })
            .build(),
    );
    let api = builder(&fake).build().unwrap();
    let f = Fixture { fake, api };
    let s = f.session("r").await;
    let mut stream = open_events(&f.api, &s).await;
    let snapshot = next(&mut stream).await;
    assert_eq!(snapshot.event, "snapshot");
    assert_eq!(snapshot.json().unwrap(), json!({ "calls": [] }));
    let call = f.dial(&s).await;
    let mut states = Vec::new();
    while states.last().map(String::as_str) != Some("ended") {
        let e = next(&mut stream).await;
        assert_eq!(e.event, "call");
        let data = e.json().unwrap();
        assert_eq!(data["id"], call["id"]);
        states.push(data["state"].as_str().unwrap().to_owned());
        if data["state"] == "ended" {
            assert_eq!(data["sipCode"], 486);
            assert_eq!(data["endReason"], "Busy Here");
        }
    }
    assert_eq!(states, ["dialing", "ringing", "active", "ended"]);
    assert!(f.fake.active_calls().is_empty());
}

#[tokio::test]
async fn a_call_hung_up_before_it_rings_stops_its_progression() {
    let fake = Arc::new(
        FakeDialer::builder()
            .progression(CallProgression {
                ring_after: Duration::from_millis(200),
                answer_after: Duration::ZERO,
                hang_up_after: None,
            })
            .build(),
    );
    let api = builder(&fake).build().unwrap();
    let f = Fixture { fake, api };
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let id = call["id"].as_str().unwrap();
    assert_eq!(
        f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
            .await
            .status,
        204
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = get_call(&f, &call).await;
    assert_eq!(got["state"], "ended");
    assert_eq!(got["sipCode"], 700);
}

#[tokio::test]
async fn watching_events_is_an_authorized_read() {
    use sipdial_core::api::{Action, Authorizer, Decision};
    struct NoWatching;
    #[async_trait]
    impl Authorizer for NoWatching {
        async fn authorize(&self, _: &http::request::Parts, action: &Action) -> Decision {
            match action {
                Action::WatchEvents { .. } => Decision::deny("no watching"),
                _ => Decision::Allow,
            }
        }
    }
    let f = fixture_with(|b| b.authorizer(Arc::new(NoWatching)));
    let s = f.session("r").await;
    let res = f
        .send(Method::GET, &format!("/sip/events?sessionId={s}"), None)
        .await;
    assert_eq!(res.assert_error(403), "forbidden");
    assert_eq!(f.api.event_subscribers(&SessionId::new(s).unwrap()), 0);
}

#[tokio::test]
async fn in_process_events_and_callbacks_share_one_dedupe() {
    let f = fixture();
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let event =
        PlatformEvent::from_callback_json(updated(&s, &call, "RINGING", 9).to_string().as_bytes())
            .unwrap();
    assert_eq!(
        f.api.apply_event(event).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        post(&f, updated(&s, &call, "RINGING", 9)).await,
        "duplicate"
    );
    let id = CallId::new(call["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        f.api.store().call(&id).await.unwrap().unwrap().state,
        CallState::Ringing
    );
}
