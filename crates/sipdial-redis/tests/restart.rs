//! Redis restarted empty mid-run: with signed callbacks and unknown calls recorded, the
//! calls reappear (in every replica's answers) as the platform's callbacks arrive, and
//! are controllable again; the session is known again, so its pages can keep dialing.
//! Unsigned deployments keep the old rule (`fleet.rs`: the old session stays unknown).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use sipdial_core::api::Backend;
use sipdial_testing::{CallProgress, FakePlatform};
use support::fleet::eventually;
use support::replica::{Replica, api_with};

const SECRET: &str = "restart-callback-secret-0123456789";

async fn replica(name: &'static str, platform: &FakePlatform, url: &str, prefix: &str) -> Replica {
    let backend = Backend::from(support::backend(url, prefix).await);
    let api = api_with(&platform.url(), backend, |b| b.callback_secret(SECRET));
    Replica::axum(name, api).await
}

async fn listed(r: &Replica, session: &str) -> Option<Vec<Value>> {
    let res = r.get(&format!("/calls?sessionId={session}")).await;
    if res.status != 200 {
        return None;
    }
    res.json().unwrap()["calls"].as_array().cloned()
}

fn state_of(calls: &[Value], id: &str) -> Option<String> {
    calls
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["state"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_reappear_from_signed_callbacks_after_redis_restarts_empty() {
    let mut redis = redis_or_skip!();
    let platform = FakePlatform::builder()
        .callback_secret(SECRET)
        .start()
        .await
        .expect("the fake platform starts");
    platform.clear_call_script();
    let prefix = support::fresh_prefix();
    let a = replica("A", &platform, &redis.url(), &prefix).await;
    let b = replica("B", &platform, &redis.url(), &prefix).await;
    platform.set_callback_url(Some(&b.callback_url()));

    let res = a.post("/session", json!({ "room": "restart" })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let session = res.json().unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = a.post("/dial", json!({ "sessionId": session })).await;
        assert_eq!(res.status, 201, "{}", res.text());
        ids.push(res.json().unwrap()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(listed(&b, &session).await.map(|c| c.len()), Some(2));
    // The dials' own callbacks are delivered before Redis goes (else one arriving after
    // the restart would already bring its call back).
    let mut seen = usize::MAX;
    while seen != platform.callbacks().len() {
        seen = platform.callbacks().len();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    redis.stop();
    redis.resume();
    for r in [&a, &b] {
        let back = eventually(Duration::from_secs(15), || async {
            r.post("/session", json!({ "room": "elsewhere" }))
                .await
                .status
                == 200
        })
        .await;
        assert!(back, "{} did not recover", r.name);
    }
    // Empty: the calls are gone for now (the session too, unless this replica read it
    // in the last minute: a session's room never changes, so a replica keeps what it
    // read, and then lists it with no calls).
    let now = listed(&a, &session).await;
    assert!(now.as_ref().is_none_or(Vec::is_empty), "{now:?}");

    // The platform goes on with the calls and says so, signed, to B.
    assert!(platform.advance_call(&ids[0], CallProgress::Ringing));
    assert!(platform.advance_call(&ids[1], CallProgress::Answer));
    let back = eventually(Duration::from_secs(10), || async {
        listed(&a, &session).await.is_some_and(|calls| {
            state_of(&calls, &ids[0]).as_deref() == Some("ringing")
                && state_of(&calls, &ids[1]).as_deref() == Some("active")
        })
    })
    .await;
    assert!(
        back,
        "the calls did not reappear: {:?}",
        listed(&a, &session).await
    );
    // Controllable again from any replica, and the session is dialable again.
    let gone = a.delete(&format!("/calls/{}", ids[1])).await;
    assert_eq!(gone.status, 204, "{}", gone.text());
    let read = b.get(&format!("/calls/{}", ids[1])).await;
    assert_eq!(read.json().unwrap()["state"], "ended");
    let res = b.post("/dial", json!({ "sessionId": session })).await;
    assert_eq!(res.status, 201, "{}", res.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_callback_never_makes_a_session_known() {
    let redis = redis_or_skip!();
    let platform = FakePlatform::start()
        .await
        .expect("the fake platform starts");
    let prefix = support::fresh_prefix();
    // No callback secret: callbacks are unsigned, so unverified.
    let backend = Backend::from(support::backend(&redis.url(), &prefix).await);
    let a = Replica::axum("A", support::replica::api(&platform.url(), backend)).await;
    let session = "1_forged";
    let res = a
        .post(
            "/callbacks",
            json!({ "sessionId": session, "event": "callUpdated", "timestamp": 5,
                    "state": "RINGING", "call": { "id": "forged-call", "connectionId": "forged-conn" } }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json().unwrap()["status"], "ignored");
    assert_eq!(listed(&a, session).await, None);
    assert_eq!(a.get("/calls/forged-call").await.status, 404);
}
