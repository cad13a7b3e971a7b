//! The platform's callbacks: what each change sends, in which shape and order, signed or
//! not, on the scripted schedule, duplicated or reordered on demand, and what happens
//! when the receiver refuses, hangs or is not there.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};
use sipdial_testing::{
    CallProgress, CallScript, CallbackRecord, Delivery, DeliveryOutcome, FakePlatform, MediaMode,
    SipCallState, TEST_API_KEY,
};

const WAIT: Duration = Duration::from_secs(5);

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    authorization: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A callback receiver on loopback that records every POST and answers `status` after
/// `delay_ms`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sip/callbacks", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (g, s, d) = (got.clone(), status.clone(), delay_ms.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (g, s, d) = (g.clone(), s.clone(), d.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (g, s, d) = (g.clone(), s.clone(), d.clone());
                        async move {
                            let header = |n| {
                                req.headers()
                                    .get(n)
                                    .map(|v: &http::HeaderValue| v.to_str().unwrap().to_owned())
                            };
                            let authorization = header(http::header::AUTHORIZATION);
                            let content_type = header(http::header::CONTENT_TYPE);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            g.lock().unwrap().push(Received {
                                authorization,
                                content_type,
                                body,
                            });
                            let delay = d.load(Ordering::SeqCst);
                            if delay > 0 {
                                tokio::time::sleep(Duration::from_millis(delay)).await;
                            }
                            let mut resp =
                                http::Response::new(Full::new(Bytes::from_static(b"{}")));
                            *resp.status_mut() =
                                http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap();
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            url,
            got,
            status,
            delay_ms,
        }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<Value> {
        self.got().iter().map(Received::json).collect()
    }

    /// `event` or `event:STATE` labels, in arrival order.
    fn labels(&self) -> Vec<String> {
        self.events().iter().map(label).collect()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.events()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: the receiver got {:?}",
                self.labels()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn label(v: &Value) -> String {
    let event = v["event"].as_str().unwrap_or("?");
    match (v.get("state"), v.get("reason_code"), v.get("reason")) {
        (Some(s), _, _) => format!("{event}:{}", s.as_str().unwrap()),
        (_, Some(c), _) => format!("{event}:{}", c.as_str().unwrap()),
        (_, _, Some(r)) => format!("{event}:{}", r.as_str().unwrap()),
        _ => event.to_owned(),
    }
}

fn call_labels(r: &Receiver) -> Vec<String> {
    r.events()
        .iter()
        .filter(|v| v["event"].as_str().unwrap().starts_with("call"))
        .map(label)
        .collect()
}

fn has(events: &[Value], event: &str) -> bool {
    events.iter().any(|v| v["event"] == event)
}

/// Dials into a new routed session; returns (session, dial response).
async fn dial(fake: &FakePlatform) -> (String, Value) {
    let c = Client::new(fake);
    let session = fake.create_session(MediaMode::Routed);
    let resp = c
        .dial(&session, json!({"uri": "sip:desk@pbx.example.com"}))
        .await;
    assert_eq!(resp.status(), 200);
    (session, resp.json().await.unwrap())
}

async fn hang_up(fake: &FakePlatform, session: &str, connection: &str) -> u16 {
    Client::new(fake)
        .send(
            Method::DELETE,
            &format!("/v2/project/{TEST_API_KEY}/session/{session}/connection/{connection}"),
            &Auth::Project(project_jwt()),
        )
        .await
        .status()
        .as_u16()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn a_dial_reports_connection_stream_and_call_in_the_platform_shapes() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .start()
        .await
        .unwrap();
    let before = sipdial_core::Timestamp::now().as_millis();
    let (session, call) = dial(&fake).await;
    r.wait_for("dial events", |e| e.len() == 4).await;
    assert_eq!(
        r.labels(),
        [
            "connectionCreated",
            "streamCreated",
            "callCreated",
            "callUpdated:DIALING"
        ]
    );
    let events = r.events();
    for e in &events {
        assert_eq!(e["sessionId"], session.as_str());
        assert_eq!(e["projectId"], TEST_API_KEY);
        let ts = e["timestamp"].as_u64().expect("timestamp in ms");
        assert!(ts >= before && ts < before + 60_000, "{ts} is milliseconds");
    }
    let call_obj = json!({
        "id": call["id"],
        "connectionId": call["connectionId"],
        "createdAt": call["createdAt"],
    });
    assert_eq!(events[2]["call"], call_obj);
    assert_eq!(events[3]["call"], call_obj);
    assert_eq!(events[0]["connection"]["id"], call["connectionId"]);
    assert_eq!(events[0]["connection"]["createdAt"], call["createdAt"]);
    assert_eq!(events[1]["stream"]["id"], call["streamId"]);
    assert_eq!(
        events[1]["stream"]["connection"]["id"],
        call["connectionId"]
    );
    assert!(
        events[1]["stream"].get("videoType").is_none(),
        "a SIP audio leg has no videoType"
    );
    for got in r.got() {
        assert_eq!(got.content_type.as_deref(), Some("application/json"));
        assert_eq!(got.authorization, None, "unsigned without a secret");
    }
    assert!(fake.callbacks().iter().all(CallbackRecord::delivered));
    assert_eq!(
        fake.callbacks()[2].call_id.as_deref(),
        call["id"].as_str(),
        "records name the call"
    );
}

#[tokio::test]
async fn a_scripted_call_rings_answers_and_the_far_end_hangs_up_with_its_code() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .script_calls(CallScript::new(ms(60), ms(160)).hang_up_after(
            ms(280),
            700,
            "Normal Clearing",
        ))
        .start()
        .await
        .unwrap();
    let (session, call) = dial(&fake).await;
    let cid = call["connectionId"].as_str().unwrap();
    r.wait_for("ringing", |e| e.iter().any(|v| v["state"] == "RINGING"))
        .await;
    assert_eq!(
        fake.connections(&session)[0].sip.as_ref().unwrap().state,
        SipCallState::Ringing
    );
    r.wait_for("answered", |e| e.iter().any(|v| v["state"] == "ACTIVE"))
        .await;
    r.wait_for("destroyed", |e| has(e, "callDestroyed")).await;
    r.wait_for("all", |e| e.len() == 10).await;
    assert_eq!(
        r.labels()[4..],
        [
            "callUpdated:RINGING",
            "callUpdated:ACTIVE",
            "callUpdated:HANGUP",
            "streamDestroyed:clientDisconnected",
            "connectionDestroyed:clientDisconnected",
            "callDestroyed:700",
        ]
    );
    let destroyed = r.events().pop().unwrap();
    assert_eq!(destroyed["reason_code"], "700");
    assert_eq!(destroyed["reason_message"], "Normal Clearing");
    assert_eq!(destroyed["call"]["id"], call["id"]);
    assert!(fake.connections(&session).is_empty(), "the leg is gone");
    assert_eq!(
        hang_up(&fake, &session, cid).await,
        404,
        "nothing left to hang up"
    );
}

#[tokio::test]
async fn a_busy_far_end_never_answers_and_reports_486() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .script_calls(CallScript::new(ms(30), ms(400)).hang_up_after(ms(90), 486, "Busy Here"))
        .start()
        .await
        .unwrap();
    dial(&fake).await;
    r.wait_for("destroyed", |e| has(e, "callDestroyed")).await;
    // Past the answer time: the script stopped with the hang-up.
    tokio::time::sleep(ms(500)).await;
    assert_eq!(
        call_labels(&r),
        [
            "callCreated",
            "callUpdated:DIALING",
            "callUpdated:RINGING",
            "callDestroyed:486"
        ],
        "no ACTIVE and no HANGUP for a call that was never answered"
    );
    let destroyed = r
        .events()
        .into_iter()
        .find(|v| v["event"] == "callDestroyed")
        .unwrap();
    assert_eq!(destroyed["reason_message"], "Busy Here");
}

#[tokio::test]
async fn our_hang_up_is_a_force_disconnect_and_cancels_the_script() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .script_calls(CallScript::new(ms(20), ms(60)))
        .start()
        .await
        .unwrap();
    // Answered, then hung up by us: BYE, normal clearing.
    let (session, call) = dial(&fake).await;
    r.wait_for("answered", |e| e.iter().any(|v| v["state"] == "ACTIVE"))
        .await;
    assert_eq!(
        hang_up(&fake, &session, call["connectionId"].as_str().unwrap()).await,
        204
    );
    r.wait_for("destroyed", |e| has(e, "callDestroyed")).await;
    assert_eq!(
        r.labels()[6..],
        [
            "callUpdated:HANGUP",
            "streamDestroyed:forceDisconnected",
            "connectionDestroyed:forceDisconnected",
            "callDestroyed:700",
        ]
    );

    // Hung up while still dialing: CANCEL, 487, and the script never rings it.
    fake.clear_call_script();
    fake.script_calls(CallScript::new(ms(150), ms(250)));
    let before = r.got().len();
    let (session, call) = dial(&fake).await;
    assert_eq!(
        hang_up(&fake, &session, call["connectionId"].as_str().unwrap()).await,
        204
    );
    tokio::time::sleep(ms(400)).await;
    let labels: Vec<String> = r.labels()[before..].to_vec();
    assert_eq!(
        labels,
        [
            "connectionCreated",
            "streamCreated",
            "callCreated",
            "callUpdated:DIALING",
            "streamDestroyed:forceDisconnected",
            "connectionDestroyed:forceDisconnected",
            "callDestroyed:487",
        ]
    );
    let destroyed = r.events().pop().unwrap();
    assert_eq!(destroyed["reason_message"], "Request Terminated");
}

#[tokio::test]
async fn calls_move_by_hand_including_hold_and_only_forwards() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .start()
        .await
        .unwrap();
    let (_, call) = dial(&fake).await;
    let id = call["id"].as_str().unwrap();
    assert!(
        !fake.advance_call(id, CallProgress::Hold),
        "not answered yet"
    );
    assert!(!fake.advance_call(id, CallProgress::Resume));
    assert!(fake.advance_call(id, CallProgress::Ringing));
    assert!(
        !fake.advance_call(id, CallProgress::Ringing),
        "already ringing"
    );
    assert!(fake.advance_call(id, CallProgress::Answer));
    assert!(
        !fake.advance_call(id, CallProgress::Ringing),
        "never backwards"
    );
    assert!(fake.advance_call(id, CallProgress::Hold));
    assert!(fake.advance_call(id, CallProgress::Resume));
    assert!(fake.advance_call(
        id,
        CallProgress::HangUp {
            code: 704,
            message: "Media Timeout".into()
        }
    ));
    assert!(!fake.advance_call(id, CallProgress::Answer), "gone");
    assert!(!fake.advance_call("no-such-call", CallProgress::Answer));
    r.wait_for("destroyed", |e| has(e, "callDestroyed")).await;
    assert_eq!(
        call_labels(&r),
        [
            "callCreated",
            "callUpdated:DIALING",
            "callUpdated:RINGING",
            "callUpdated:ACTIVE",
            "callUpdated:ON_HOLD",
            "callUpdated:ACTIVE",
            "callUpdated:HANGUP",
            "callDestroyed:704",
        ]
    );
}

#[tokio::test]
async fn clients_and_far_end_disconnects_are_reported_too() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .start()
        .await
        .unwrap();
    let session = fake.create_session(MediaMode::Routed);
    let browser = fake.add_client(&session, Some("name=alice")).unwrap();
    r.wait_for("client", |e| e.len() == 2).await;
    let events = r.events();
    assert_eq!(events[0]["event"], "connectionCreated");
    assert_eq!(events[0]["connection"]["data"], "name=alice");
    assert_eq!(events[1]["stream"]["videoType"], "camera");
    assert_eq!(events[1]["stream"]["id"], browser.stream_id.as_str());
    assert!(fake.end_connection(&session, &browser.connection_id));
    r.wait_for("client gone", |e| e.len() == 4).await;
    assert_eq!(
        r.labels()[2..],
        [
            "streamDestroyed:clientDisconnected",
            "connectionDestroyed:clientDisconnected"
        ],
        "no call events for a browser"
    );

    // A SIP leg ended by the far end through end_connection: normal clearing.
    let c = Client::new(&fake);
    let call: Value = c
        .dial(&session, json!({"uri": "sip:desk@pbx.example.com"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(fake.end_connection(&session, call["connectionId"].as_str().unwrap()));
    r.wait_for("sip gone", |e| has(e, "callDestroyed")).await;
    assert_eq!(r.labels().last().unwrap(), "callDestroyed:700");
}

#[tokio::test]
async fn signed_callbacks_carry_an_hs256_jwt_over_the_body() {
    let r = Receiver::start().await;
    let secret = "callback-signature-secret";
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .callback_secret(secret)
        .start()
        .await
        .unwrap();
    dial(&fake).await;
    r.wait_for("dial events", |e| e.len() == 4).await;
    sipdial_core::jwt::ensure_crypto_provider();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims = ["exp", "iat"].into_iter().map(str::to_owned).collect();
    validation.validate_aud = false;
    for got in r.got() {
        let auth = got.authorization.as_deref().expect("signed");
        let token = auth.strip_prefix("Bearer ").expect("a bearer token");
        let data = jsonwebtoken::decode::<Value>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .expect("verifies with the secret");
        assert_eq!(data.header.alg, Algorithm::HS256);
        let claims = data.claims;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &got.body);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(claims["payload_hash"], hex.as_str());
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 300);
        assert!(
            jsonwebtoken::decode::<Value>(
                token,
                &DecodingKey::from_secret(b"another secret"),
                &validation
            )
            .is_err()
        );
    }
    assert!(fake.callbacks().iter().all(|c| c.signed));
    let debug = format!("{:?}", FakePlatform::builder().callback_secret(secret));
    assert!(
        !debug.contains(secret),
        "the builder's Debug hides the secret"
    );

    // Unsigned again at run time.
    fake.set_callback_secret(None);
    let before = r.got().len();
    dial(&fake).await;
    r.wait_for("more", |e| e.len() == before + 4).await;
    assert!(r.got()[before..].iter().all(|g| g.authorization.is_none()));
}

#[tokio::test]
async fn duplicate_delivery_sends_every_event_twice() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .callback_secret("s")
        .callback_delivery(Delivery::new().duplicate(true))
        .start()
        .await
        .unwrap();
    dial(&fake).await;
    r.wait_for("dial events twice", |e| e.len() == 8).await;
    let got = r.got();
    for pair in got.chunks(2) {
        assert_eq!(pair[0].body, pair[1].body, "the same event twice in a row");
    }
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 8).await);
    let records = fake.callbacks();
    assert_eq!(
        records.iter().map(|c| c.copy).collect::<Vec<_>>(),
        [1, 2, 1, 2, 1, 2, 1, 2]
    );
}

#[tokio::test]
async fn a_drop_rate_loses_that_share_of_callbacks() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .callback_delivery(Delivery::new().drop_rate(1.0))
        .start()
        .await
        .unwrap();
    dial(&fake).await;
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 4).await);
    assert!(
        fake.callbacks()
            .iter()
            .all(|c| c.outcome == DeliveryOutcome::Dropped)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(r.got().is_empty(), "a dropped callback is never sent");
    // Half: over 400 draws, far from none and far from all.
    let half = Delivery::new().drop_rate(0.5);
    assert_eq!(half.drop_per_million, 500_000);
    assert_eq!(Delivery::new().drop_rate(7.0).drop_per_million, 1_000_000);
    assert_eq!(Delivery::new().drop_rate(f64::NAN).drop_per_million, 0);
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .callback_delivery(half)
        .start()
        .await
        .unwrap();
    for _ in 0..100 {
        dial(&fake).await;
    }
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 400).await);
    let dropped = fake
        .callbacks()
        .iter()
        .filter(|c| c.outcome == DeliveryOutcome::Dropped)
        .count();
    assert!((100..300).contains(&dropped), "{dropped} of 400 dropped");
}

#[tokio::test]
async fn out_of_order_delivery_lets_ringing_arrive_after_the_answer() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .callback_delivery(Delivery::new().out_of_order(Duration::from_secs(2)))
        .script_calls(CallScript::new(ms(50), ms(150)))
        .start()
        .await
        .unwrap();
    dial(&fake).await;
    r.wait_for("all six", |e| e.len() == 6).await;
    assert_eq!(
        r.labels(),
        [
            "streamCreated",
            "connectionCreated",
            "callUpdated:DIALING",
            "callCreated",
            "callUpdated:ACTIVE",
            "callUpdated:RINGING",
        ]
    );
    let events = r.events();
    assert!(
        events[5]["timestamp"].as_u64() < events[4]["timestamp"].as_u64(),
        "the late event keeps the time it happened"
    );

    // A held event with nothing to swap with still goes out after the hold.
    fake.set_callback_delivery(Delivery::new().out_of_order(ms(100)));
    let session = fake.create_session(MediaMode::Routed);
    fake.add_client(&session, None);
    r.wait_for("client events flushed", |e| e.len() == 8).await;
}

#[tokio::test]
async fn refused_and_failed_deliveries_are_recorded_and_the_fake_keeps_going() {
    let r = Receiver::start().await;
    r.status.store(401, Ordering::SeqCst);
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .callback_delivery(Delivery::new().retries(2, ms(10)))
        .start()
        .await
        .unwrap();
    let session = fake.create_session(MediaMode::Routed);
    fake.add_client(&session, None);
    assert!(
        fake.wait_for_callbacks(WAIT, |c| c.len() == 6).await,
        "two events, three attempts each: {:?}",
        fake.callbacks()
    );
    let failures = fake.callback_failures();
    assert_eq!(failures.len(), 6);
    assert!(
        failures
            .iter()
            .all(|c| c.outcome == DeliveryOutcome::Refused { status: 401 })
    );
    assert_eq!(
        failures.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 1, 2, 3]
    );

    // A retry that succeeds stops retrying.
    fake.clear_callbacks();
    r.status.store(200, Ordering::SeqCst);
    fake.add_client(&session, None);
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 2).await);
    assert!(
        fake.callbacks()
            .iter()
            .all(|c| c.attempt == 1 && c.delivered())
    );

    // Nobody listening: recorded as failed, not retried forever, no panic.
    fake.clear_callbacks();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/sip/callbacks", l.local_addr().unwrap())
    };
    fake.set_callback_url(Some(&dead));
    fake.set_callback_delivery(Delivery::new());
    fake.add_client(&session, None);
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 2).await);
    assert!(fake.callbacks().iter().all(|c| matches!(
        &c.outcome,
        DeliveryOutcome::Failed { error } if error == "could not connect"
    )));

    // A receiver that hangs: the timeout ends the attempt.
    fake.clear_callbacks();
    r.delay_ms.store(2_000, Ordering::SeqCst);
    fake.set_callback_url(Some(&r.url));
    fake.set_callback_delivery(Delivery::new().timeout(ms(100)));
    fake.add_client(&session, None);
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 2).await);
    assert!(fake.callbacks().iter().all(|c| matches!(
        &c.outcome,
        DeliveryOutcome::Failed { error } if error == "timed out"
    )));

    // Through all of it the REST API kept answering.
    let c = Client::new(&fake);
    assert_eq!(
        c.dial(&session, json!({"uri": "sip:desk@pbx.example.com"}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn without_a_url_events_are_recorded_until_one_is_set() {
    let r = Receiver::start().await;
    let fake = FakePlatform::start().await.unwrap();
    dial(&fake).await;
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 4).await);
    assert!(
        fake.callbacks()
            .iter()
            .all(|c| c.outcome == DeliveryOutcome::NoUrl && c.url.is_none())
    );
    assert!(
        fake.callback_failures().is_empty(),
        "not sending is not failing"
    );
    fake.set_callback_url(Some(&r.url));
    let (_, call) = dial(&fake).await;
    r.wait_for("delivered after set_callback_url", |e| e.len() == 4)
        .await;
    assert_eq!(r.events()[2]["call"]["id"], call["id"]);
    assert!(fake.wait_for_callbacks(WAIT, |c| c.len() == 8).await);
    let records = fake.callbacks();
    assert_eq!(records[4].url.as_deref(), Some(r.url.as_str()));
    assert!(records[4..].iter().all(CallbackRecord::delivered));
    assert_eq!(records[6].json()["event"], "callCreated");
    assert_eq!(records[7].call_state().as_deref(), Some("DIALING"));
}

#[tokio::test]
async fn shutdown_stops_scripts_and_delivery() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .script_calls(CallScript::new(ms(200), ms(300)))
        .start()
        .await
        .unwrap();
    dial(&fake).await;
    r.wait_for("dial events", |e| e.len() == 4).await;
    fake.shutdown().await;
    tokio::time::sleep(ms(500)).await;
    assert_eq!(r.got().len(), 4, "nothing after shutdown: {:?}", r.labels());
}

#[tokio::test]
async fn one_off_scripts_go_to_the_next_calls_before_the_standing_one() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .script_calls(CallScript::new(ms(10), ms(2_000)).hang_up_after(ms(40), 486, "Busy Here"))
        .start()
        .await
        .unwrap();
    fake.script_next_call(CallScript::new(ms(10), ms(20)).hang_up_after(
        ms(40),
        700,
        "Normal Clearing",
    ));
    fake.script_next_call(CallScript::new(ms(10), ms(20)).hang_up_after(
        ms(40),
        503,
        "Service Unavailable",
    ));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, call) = dial(&fake).await;
        ids.push(call["id"].as_str().unwrap().to_owned());
    }
    r.wait_for("three ends", |e| {
        e.iter().filter(|v| v["event"] == "callDestroyed").count() == 3
    })
    .await;
    let code_of = |id: &str| {
        r.events()
            .into_iter()
            .find(|v| v["event"] == "callDestroyed" && v["call"]["id"] == id)
            .map(|v| v["reason_code"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(code_of(&ids[0]), "700");
    assert_eq!(code_of(&ids[1]), "503");
    assert_eq!(code_of(&ids[2]), "486", "then the standing script");
    fake.clear_call_script();
    let (session, _) = dial(&fake).await;
    tokio::time::sleep(ms(100)).await;
    assert_eq!(
        fake.connections(&session)[0].sip.as_ref().unwrap().state,
        SipCallState::Dialing,
        "no script: the call waits"
    );
}

#[tokio::test]
async fn force_mute_reports_mute_forced_only_for_a_leg_that_observes_it() {
    let r = Receiver::start().await;
    let fake = FakePlatform::builder()
        .callback_url(&r.url)
        .start()
        .await
        .unwrap();
    let c = Client::new(&fake);
    let session = fake.create_session(MediaMode::Routed);
    let mut calls = Vec::new();
    for observe in [true, false] {
        let resp = c
            .dial(
                &session,
                json!({"uri": "sip:desk@pbx.example.com", "observeForceMute": observe}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        calls.push(resp.json::<Value>().await.unwrap());
    }
    r.wait_for("dial events", |e| e.len() == 8).await;
    for call in &calls {
        let stream = call["streamId"].as_str().unwrap();
        let resp = c
            .send(
                Method::POST,
                &format!("/v2/project/{TEST_API_KEY}/session/{session}/stream/{stream}/mute"),
                &Auth::Project(project_jwt()),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    r.wait_for("muteForced", |e| has(e, "muteForced")).await;
    tokio::time::sleep(ms(200)).await;
    let muted: Vec<Value> = r
        .events()
        .into_iter()
        .filter(|e| e["event"] == "muteForced")
        .collect();
    assert_eq!(muted.len(), 1, "{:?}", r.labels());
    assert_eq!(muted[0]["call"]["id"], calls[0]["id"]);
    assert_eq!(muted[0]["call"]["connectionId"], calls[0]["connectionId"]);
    assert_eq!(muted[0]["sessionId"], session.as_str());
    // Both streams are force-muted all the same.
    assert!(fake.streams(&session).iter().all(|s| s.force_muted));
}
