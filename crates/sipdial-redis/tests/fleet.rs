//! Three replicas (two Axum, one Actix) of one app on one real Redis act as one
//! server: one session per room, every call controllable from every replica, the
//! limits counted fleet-wide, callbacks and live events crossing replicas, a dead
//! replica costing nothing, and Redis going away and coming back.

mod support;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::{HeaderName, HeaderValue};
use serde_json::json;
use sipdial_core::testing::{SseEvent, TestRequest};
use sipdial_testing::CallProgress;
use support::fleet::{Fleet, eventually};

const PROMPT: Duration = Duration::from_secs(5);

fn events(session: &str) -> TestRequest {
    TestRequest::get(format!("/sip/events?sessionId={session}"))
}

fn state(event: &SseEvent) -> String {
    event.json().unwrap()["state"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_for_a_room_get_one_session() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let asks = (0..12).map(|i| {
        let replica = &fleet.replicas[i % 3];
        async move { replica.post("/session", json!({ "room": "standup" })).await }
    });
    let answers = join_all(asks).await;
    let ids: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text());
            r.json().unwrap()["sessionId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(fleet.platform.sessions().len(), 1, "one platform session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_placed_on_a_is_listed_read_sent_dtmf_and_hung_up_from_b_and_c() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("support").await;
    let call = fleet.dial(fleet.a(), &session).await;
    let id = call["id"].as_str().unwrap();
    let listed = fleet.b().get(&format!("/calls?sessionId={session}")).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json().unwrap()["calls"][0]["id"], call["id"]);
    let read = fleet.c().get(&format!("/calls/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json().unwrap()["state"], "dialing");
    let dtmf = fleet
        .b()
        .post(&format!("/calls/{id}/dtmf"), json!({ "digits": "12#" }))
        .await;
    assert_eq!(dtmf.status, 204, "{}", dtmf.text());
    let gone = fleet.c().delete(&format!("/calls/{id}")).await;
    assert_eq!(gone.status, 204, "{}", gone.text());
    for r in &fleet.replicas {
        let read = r.get(&format!("/calls/{id}")).await;
        assert_eq!(read.json().unwrap()["state"], "ended", "on {}", r.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_active_calls_per_session_fleet_wide_under_concurrent_load() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("busy").await;
    let dials = (0..12).map(|i| {
        let replica = &fleet.replicas[i % 3];
        let session = session.clone();
        async move { replica.post("/dial", json!({ "sessionId": session })).await }
    });
    let answers = join_all(dials).await;
    let placed = answers.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(placed, 3, "exactly three calls fleet-wide");
    assert_eq!(refused.len(), 9);
    for r in refused {
        assert_eq!(r.json().unwrap()["error"]["code"], "too_many_calls");
        assert!(r.header("retry-after").is_some());
    }
    let listed = fleet.c().get(&format!("/calls?sessionId={session}")).await;
    assert_eq!(listed.json().unwrap()["calls"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_dials_a_minute_per_session_fleet_wide() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("dialler").await;
    let mut placed = 0;
    for round in 0..3 {
        let dials = (0..3).map(|i| {
            let replica = &fleet.replicas[i];
            let session = session.clone();
            async move { replica.post("/dial", json!({ "sessionId": session })).await }
        });
        let answers = join_all(dials).await;
        for r in &answers {
            match r.status.as_u16() {
                201 => {
                    placed += 1;
                    let id = r.json().unwrap()["id"].as_str().unwrap().to_owned();
                    let gone = fleet.b().delete(&format!("/calls/{id}")).await;
                    assert_eq!(gone.status, 204);
                }
                429 => {
                    assert_eq!(
                        round,
                        2,
                        "refused before the budget was spent: {}",
                        r.text()
                    );
                    assert_eq!(r.json().unwrap()["error"]["code"], "dial_rate_limited");
                    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                    assert!((1..=60).contains(&wait), "Retry-After {wait}");
                }
                s => panic!("unexpected {s}: {}", r.text()),
            }
        }
    }
    assert_eq!(placed, 6, "exactly six dials in the minute, fleet-wide");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_delivered_to_b_updates_the_call_everywhere_and_reaches_c_s_stream() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    fleet
        .platform
        .set_callback_url(Some(&fleet.b().callback_url()));
    let session = fleet.session("callbacks").await;
    let mut stream = fleet.c().open(events(&session)).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_event(PROMPT).await.unwrap().event, "snapshot");
    let call = fleet.dial(fleet.a(), &session).await;
    let id = call["id"].as_str().unwrap().to_owned();
    let dialed = stream.next_event(PROMPT).await.unwrap();
    assert_eq!(state(&dialed), "dialing");
    assert!(fleet.platform.advance_call(&id, CallProgress::Answer));
    let mut seen = Vec::new();
    while !seen.contains(&"active".to_owned()) {
        let e = stream
            .next_event(PROMPT)
            .await
            .expect("the answer reaches C's stream");
        assert_eq!(e.event, "call");
        seen.push(state(&e));
    }
    for r in &fleet.replicas {
        let read = r.get(&format!("/calls/{id}")).await;
        assert_eq!(read.json().unwrap()["state"], "active", "on {}", r.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_event_id_resumes_on_another_replica() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("resume").await;
    let mut stream = fleet.a().open(events(&session)).await;
    stream.next_event(PROMPT).await.unwrap();
    let call = fleet.dial(fleet.b(), &session).await;
    let dialed = stream.next_event(PROMPT).await.unwrap();
    let seen = dialed.id.clone().expect("an id");
    drop(stream);
    // Missed while disconnected.
    let id = call["id"].as_str().unwrap();
    assert_eq!(fleet.b().delete(&format!("/calls/{id}")).await.status, 204);
    let resume = events(&session).header(
        HeaderName::from_static("last-event-id"),
        HeaderValue::from_str(&seen).unwrap(),
    );
    let mut stream = fleet.c().open(resume).await;
    let replayed = stream.next_event(PROMPT).await.unwrap();
    assert_eq!(
        replayed.event, "call",
        "a replay, not a snapshot: {replayed:?}"
    );
    assert_eq!(state(&replayed), "ended");
    assert!(replayed.id_order().unwrap() > dialed.id_order().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_call_leaves_the_call_controllable() {
    let redis = redis_or_skip!();
    let mut fleet = Fleet::start(&redis).await;
    let session = fleet.session("crash").await;
    let call = fleet.dial(fleet.a(), &session).await;
    let id = call["id"].as_str().unwrap().to_owned();
    fleet.replicas.remove(0).kill();
    let (b, c) = (&fleet.replicas[0], &fleet.replicas[1]);
    assert_eq!(
        b.post(&format!("/calls/{id}/dtmf"), json!({"digits": "5"}))
            .await
            .status,
        204
    );
    assert_eq!(c.delete(&format!("/calls/{id}")).await.status, 204);
    assert_eq!(
        b.get(&format!("/calls/{id}")).await.json().unwrap()["state"],
        "ended"
    );
    // The dead replica's dial slot did not outlive its dial: the session dials on.
    let again = b.post("/dial", json!({ "sessionId": session })).await;
    assert_eq!(again.status, 201, "{}", again.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_is_503_then_recovers_without_restart() {
    let mut redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("outage").await;
    let call = fleet.dial(fleet.a(), &session).await;
    let id = call["id"].as_str().unwrap().to_owned();
    let mut stream = fleet.c().open(events(&session)).await;
    stream.next_event(PROMPT).await.unwrap();

    redis.stop();
    for r in &fleet.replicas {
        for (what, req) in [
            ("read", TestRequest::get(format!("/sip/calls/{id}"))),
            (
                "dial",
                TestRequest::post("/sip/dial").json(&json!({ "sessionId": session })),
            ),
            (
                "session",
                TestRequest::post("/sip/session").json(&json!({ "room": "x" })),
            ),
        ] {
            let started = Instant::now();
            let res = r.send(req).await;
            let took = started.elapsed();
            assert_eq!(res.status, 503, "{what} on {}: {}", r.name, res.text());
            assert_eq!(res.json().unwrap()["error"]["code"], "store_unavailable");
            assert!(
                took <= Duration::from_millis(2500),
                "{what} on {} took {took:?}",
                r.name
            );
        }
    }
    // The open stream ends (its client reconnects) instead of hanging.
    let ended = async { while stream.next_item(PROMPT).await.is_ok() {} };
    tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the stream closes while Redis is away");

    // Back, empty (no persistence): every replica serves again by itself.
    redis.resume();
    for r in &fleet.replicas {
        let ok = eventually(Duration::from_secs(15), || async {
            r.post("/session", json!({ "room": "after" })).await.status == 200
        })
        .await;
        assert!(ok, "{} did not recover", r.name);
    }
    // Its data went with it: the old session is unknown now, and says so.
    let old = fleet.b().get(&format!("/calls?sessionId={session}")).await;
    assert_eq!(old.status, 404);
    let fresh = fleet.session("after").await;
    fleet.dial(fleet.c(), &fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_is_503_within_the_bound_then_serves_again() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("slow").await;
    let call = fleet.dial(fleet.a(), &session).await;
    let id = call["id"].as_str().unwrap().to_owned();
    // Redis holds every client's commands for 6 s (it is up, just not answering).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(6000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    for r in &fleet.replicas {
        let started = Instant::now();
        let res = r.get(&format!("/calls/{id}")).await;
        let took = started.elapsed();
        assert_eq!(res.status, 503, "on {}: {}", r.name, res.text());
        assert_eq!(res.json().unwrap()["error"]["code"], "store_unavailable");
        assert!(
            took <= Duration::from_millis(2000),
            "on {} took {took:?}",
            r.name
        );
    }
    let ok = eventually(Duration::from_secs(10), || async {
        fleet.b().get(&format!("/calls/{id}")).await.status == 200
    })
    .await;
    assert!(ok, "served again once Redis answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_at_answer_are_played_once_when_two_replicas_receive_the_answer() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    fleet
        .platform
        .set_callback_url(Some(&fleet.b().callback_url()));
    let session = fleet.session("pin").await;
    // A holds the dial until the answer, which reaches B (and, redelivered, C).
    let dial = fleet.a().post(
        "/dial?wait=answered",
        json!({ "sessionId": session, "dtmfAfterAnswer": "42#" }),
    );
    let answer = async {
        let mut id = None;
        assert!(
            eventually(PROMPT, || {
                let found = fleet
                    .platform
                    .connections(&session)
                    .into_iter()
                    .find_map(|c| c.sip.map(|leg| leg.call_id));
                let ready = found.is_some();
                id = found;
                async move { ready }
            })
            .await,
            "the dial reached the platform"
        );
        let id = id.unwrap();
        // Until A recorded the call, an answer could only be parked: give it a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(fleet.platform.advance_call(&id, CallProgress::Answer));
        id
    };
    let (res, id) = tokio::join!(dial, answer);
    assert_eq!(res.status, 201, "{}", res.text());
    let call = res.json().unwrap();
    assert_eq!(call["state"], "active", "A saw B's answer: {call}");
    assert!(call.get("dtmfAfterAnswer").is_none());
    // The same answer delivered to C too.
    let delivered: Vec<_> = fleet
        .platform
        .callbacks()
        .into_iter()
        .filter(|c| c.call_id.as_deref() == Some(id.as_str()) && c.event == "callUpdated")
        .collect();
    assert!(!delivered.is_empty());
    for c in &delivered {
        let req = TestRequest::post("/sip/callbacks")
            .header(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .body(sipdial_core::testing::TestBody::Full(c.body.clone()));
        let res = fleet.c().send(req).await;
        assert_eq!(res.status, 200, "{}", res.text());
    }
    let connection = call["connectionId"].as_str().unwrap().to_owned();
    let played = || {
        fleet
            .platform
            .connections(&session)
            .into_iter()
            .find(|c| c.connection_id == connection)
            .map(|c| c.dtmf)
            .unwrap_or_default()
    };
    assert!(
        eventually(PROMPT, || {
            let n = played().len();
            async move { n >= 1 }
        })
        .await,
        "the digits were never played"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(played(), ["42#"]);
}
