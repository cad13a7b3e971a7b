//! `Idempotency-Key` across a fleet: replicas racing one key place one call, and
//! every replica replays the first answer to a retry.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use http::{HeaderName, HeaderValue, Method};
use serde_json::json;
use sipdial_core::testing::TestRequest;
use sipdial_testing::{Fault, FaultRule};
use support::fleet::Fleet;

const KEY: HeaderName = HeaderName::from_static("idempotency-key");

fn keyed_dial(session: &str, key: &'static str) -> TestRequest {
    TestRequest::post("/sip/dial")
        .json(&json!({ "sessionId": session }))
        .header(KEY, HeaderValue::from_static(key))
}

fn platform_dials(fleet: &Fleet) -> usize {
    fleet
        .platform
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path.ends_with("/dial"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_racing_one_key_place_one_call() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("race").await;
    // The platform takes its time, so the racers overlap the first dial.
    fleet.platform.inject(
        FaultRule::new(Fault::Delay(Duration::from_millis(400)))
            .path_contains("/dial")
            .once(),
    );
    fleet.platform.clear_requests();
    let racers = (0..6).map(|i| {
        let replica = &fleet.replicas[i % 2];
        let request = keyed_dial(&session, "race-key-1");
        async move { replica.send(request).await }
    });
    let answers = join_all(racers).await;
    let placed: Vec<_> = answers
        .iter()
        .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(placed.len(), 1, "exactly one racer places the call");
    for r in &answers {
        assert!(
            r.status == 201 || r.status == 409,
            "racers answer the call or 409: {} {}",
            r.status,
            r.text()
        );
    }
    assert_eq!(platform_dials(&fleet), 1, "the platform saw one dial");
    let call = placed[0].json().unwrap();
    // Every replica, the one that never saw the key included, replays it.
    for replica in &fleet.replicas {
        let again = replica.send(keyed_dial(&session, "race-key-1")).await;
        assert_eq!(again.status, 201, "{}", again.text());
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.json().unwrap(), call, "on {}", replica.name);
    }
    // Another body under the key is refused fleet-wide.
    let other = fleet
        .c()
        .send(
            TestRequest::post("/sip/dial")
                .json(&json!({ "sessionId": session, "headers": { "X-A": "1" } }))
                .header(KEY, HeaderValue::from_static("race-key-1")),
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.text());
    assert_eq!(platform_dials(&fleet), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_live_under_the_prefix_and_expire() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis).await;
    let session = fleet.session("ttl").await;
    let res = fleet.a().send(keyed_dial(&session, "ttl-key")).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}idem:*", fleet.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("|ttl-key"), "{keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    let day = 24 * 3600 * 1000;
    assert!(ttl > day - 60_000 && ttl <= day, "{ttl} ms");
}
