//! The limits beyond a session's counted fleet-wide: replicas A (Axum) and B (Actix)
//! on one Redis admit together what one server would. Every request of these tests
//! comes from one anonymous client (no peer address reaches the API).

mod support;

use futures_util::future::join_all;
use serde_json::json;
use sipdial_core::SipUri;
use sipdial_core::api::SipTarget;
use support::fleet::Fleet;
use support::replica::Replica;

fn code(res: &sipdial_core::testing::TestResponse) -> String {
    res.json().unwrap()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

async fn session_on(replica: &Replica, room: &str) -> String {
    let res = replica.post("/session", json!({ "room": room })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json().unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn hang_up(replica: &Replica, call: &serde_json::Value) {
    let id = call["id"].as_str().unwrap();
    let res = replica.delete(&format!("/calls/{id}")).await;
    assert_eq!(res.status, 204, "{}", res.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_live_calls_are_counted_across_replicas_and_freed_when_calls_end() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start_with(&redis, |b| {
        b.max_active_calls_total(4)
            .max_active_calls_per_client(1000)
            .client_sessions_per_minute(100)
    })
    .await;
    let mut sessions = Vec::new();
    for r in 0..4 {
        sessions.push(session_on(fleet.a(), &format!("room-{r}")).await);
    }
    // Eight concurrent dials, two per room, half on each replica.
    let asks = (0..8).map(|i| {
        let replica = if i % 2 == 0 { fleet.a() } else { fleet.b() };
        let session = sessions[i % 4].clone();
        async move { replica.post("/dial", json!({ "sessionId": session })).await }
    });
    let answers = join_all(asks).await;
    let placed: Vec<_> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(placed.len(), 4, "the total, fleet-wide");
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 429, "{}", r.text());
        assert_eq!(code(r), "total_too_many_calls");
        assert_eq!(r.header("retry-after"), Some("30"));
    }
    // An end on B frees a slot for a dial on A.
    hang_up(fleet.b(), &placed[0].json().unwrap()).await;
    let fresh = session_on(fleet.b(), "room-4").await;
    fleet.dial(fleet.a(), &fresh).await;
    let res = fleet.b().post("/dial", json!({ "sessionId": fresh })).await;
    assert_eq!(code(&res), "total_too_many_calls", "{}", res.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_dials_per_minute_are_counted_across_replicas() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start_with(&redis, |b| b.dials_per_minute_total(3)).await;
    for (i, replica) in [fleet.a(), fleet.b(), fleet.a()].into_iter().enumerate() {
        let s = session_on(replica, &format!("rate-{i}")).await;
        let call = fleet.dial(replica, &s).await;
        hang_up(replica, &call).await;
    }
    let s = session_on(fleet.b(), "rate-last").await;
    let res = fleet.b().post("/dial", json!({ "sessionId": s })).await;
    assert_eq!(res.status, 429, "{}", res.text());
    assert_eq!(code(&res), "total_dial_rate_limited");
    let after: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_calls_and_sessions_are_counted_across_replicas() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start_with(&redis, |b| {
        b.max_active_calls_per_client(2)
            .client_sessions_per_minute(3)
    })
    .await;
    let s1 = session_on(fleet.a(), "c-1").await;
    let s2 = session_on(fleet.b(), "c-2").await;
    let s3 = session_on(fleet.a(), "c-3").await;
    let res = fleet.b().post("/session", json!({ "room": "c-4" })).await;
    assert_eq!(res.status, 429, "{}", res.text());
    assert_eq!(code(&res), "client_session_rate_limited");
    assert!(res.header("retry-after").is_some());
    // A known room stays open.
    assert_eq!(session_on(fleet.b(), "c-1").await, s1);

    let first = fleet.dial(fleet.a(), &s1).await;
    fleet.dial(fleet.b(), &s2).await;
    let res = fleet.a().post("/dial", json!({ "sessionId": s3 })).await;
    assert_eq!(code(&res), "client_too_many_calls", "{}", res.text());
    hang_up(fleet.b(), &first).await;
    fleet.dial(fleet.a(), &s3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targets_live_calls_are_counted_across_replicas() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start_with(&redis, |b| {
        b.target(
            SipTarget::new("line", SipUri::new("sip:line@pbx.fleet.example").unwrap())
                .max_active_calls(1),
        )
    })
    .await;
    let s1 = session_on(fleet.a(), "t-1").await;
    let s2 = session_on(fleet.b(), "t-2").await;
    let res = fleet
        .a()
        .post("/dial", json!({ "sessionId": s1, "target": "line" }))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let call = res.json().unwrap();
    let to_line = json!({ "sessionId": s2, "target": "line" });
    let res = fleet.b().post("/dial", to_line.clone()).await;
    assert_eq!(code(&res), "target_too_many_calls", "{}", res.text());
    // The default target is not limited by this one's.
    fleet.dial(fleet.b(), &s2).await;
    hang_up(fleet.a(), &call).await;
    let res = fleet.b().post("/dial", to_line).await;
    assert_eq!(res.status, 201, "{}", res.text());
}
