//! What the backend leaves in Redis: every key under the configured prefix, and no
//! secret (API secret, SIP password, tokens) in any key or value.

mod support;

use std::time::Duration;

use redis::Value;
use serde_json::json;
use sipdial_core::api::Backend;
use sipdial_core::testing::{Fixture, TestRequest, TestResponse, run_sse_suite_report_on};
use sipdial_testing::TEST_API_SECRET;

fn flatten(v: &Value, out: &mut String) {
    match v {
        Value::BulkString(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::SimpleString(s) => out.push_str(s),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Array(a) | Value::Set(a) => a.iter().for_each(|x| {
            flatten(x, out);
            out.push(' ');
        }),
        Value::Map(m) => m.iter().for_each(|(k, x)| {
            flatten(k, out);
            out.push(' ');
            flatten(x, out);
            out.push(' ');
        }),
        _ => {}
    }
}

/// Every key and its whole value, as text.
async fn dump(url: &str) -> Vec<(String, String)> {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("TYPE");
        let mut cmd = match kind.as_str() {
            "string" => redis::cmd("GET"),
            "list" => redis::cmd("LRANGE"),
            "zset" => redis::cmd("ZRANGE"),
            "stream" => redis::cmd("XRANGE"),
            "set" => redis::cmd("SMEMBERS"),
            "hash" => redis::cmd("HGETALL"),
            other => panic!("unexpected key type {other} of {key}"),
        };
        cmd.arg(&key);
        match kind.as_str() {
            "list" | "zset" => {
                cmd.arg(0).arg(-1);
            }
            "stream" => {
                cmd.arg("-").arg("+");
            }
            _ => {}
        }
        let v: Value = cmd.query_async(&mut conn).await.expect("read");
        let mut text = String::new();
        flatten(&v, &mut text);
        out.push((key, text));
    }
    out
}

/// The keys that live on: one counter each, and the timer index whose members are
/// removed as their timers fire (one per live call at most).
const FLEET_WIDE: [&str; 3] = [":seq", ":replicas:next", ":timers"];

/// After the whole conformance suite's event-stream part, a dial and a token: every key
/// is under its prefix, none holds a secret, and each expires or is fleet-wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_namespaced_and_hold_no_secret() {
    let redis = redis_or_skip!();
    let url = redis.url();
    // The whole conformance suite's SSE part, plus a call with a token issued, each
    // under a prefix of its own.
    let failures =
        run_sse_suite_report_on::<support::forms::Served>(Some(support::factory(url.clone())))
            .await;
    assert!(failures.is_empty(), "{failures:?}");
    let backend = Backend::from(support::backend(&url, "app2:").await);
    let fixture = Fixture::with_backend(backend);
    let api = fixture.api.clone();
    let send = |req: TestRequest| {
        let api = api.clone();
        async move { TestResponse::from_http(api.handle(req.into_http()).await).await }
    };
    let origin = http::HeaderValue::from_static(Fixture::ALLOWED_ORIGIN);
    let post = |path: &str, body: serde_json::Value| {
        TestRequest::post(Fixture::path(path))
            .header(http::header::ORIGIN, origin.clone())
            .json(&body)
    };
    let session = send(post("/session", json!({"room": "secret-scan"})))
        .await
        .json()
        .unwrap();
    let sid = session["sessionId"].as_str().unwrap().to_owned();
    let token = send(post("/token", json!({"sessionId": sid})))
        .await
        .json()
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let dialed = send(post("/dial", json!({"sessionId": sid}))).await;
    assert_eq!(dialed.status, 201, "{}", dialed.text());
    tokio::time::sleep(Duration::from_millis(100)).await;

    let all = dump(&url).await;
    assert!(
        all.iter().any(|(k, _)| k.starts_with("app2:call:")),
        "{all:?}"
    );
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (key, value) in &all {
        assert!(
            key.starts_with("app2:") || key.starts_with('t'),
            "a key outside the prefixes: {key}"
        );
        // Everything the suite made an outsider's requests write expires, but for the
        // few fleet-wide keys whose size does not grow with traffic (docs/scale-out.md,
        // "What Redis holds").
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            ttl > 0 || FLEET_WIDE.iter().any(|k| key.ends_with(k)),
            "{key} never expires ({ttl})"
        );
        for secret in [Fixture::SIP_PASSWORD, TEST_API_SECRET, token.as_str()] {
            assert!(
                !key.contains(secret) && !value.contains(secret),
                "{key} holds a secret"
            );
        }
    }
}

#[tokio::test]
async fn connection_errors_never_show_the_url_password() {
    let opts = sipdial_redis::RedisOptions::default();
    for url in [
        "redis://user:hunter2-secret@127.0.0.1:1/",
        "redis://:hunter2-secret@/nohost",
    ] {
        let sync = sipdial_redis::RedisBackend::connect_checked(url, opts.clone()).unwrap_err();
        let not_sync = sipdial_redis::RedisBackend::connect(url, opts.clone())
            .await
            .unwrap_err();
        for e in [
            sync.to_string(),
            format!("{sync:?}"),
            not_sync.to_string(),
            format!("{not_sync:?}"),
        ] {
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}

/// Every key of a session expires: the scripts refresh a session's keys only now and
/// then (not on every change), so each key a change creates must get its expiry where
/// it is created. Only the fleet-wide keys live on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_of_a_session_expires() {
    use support::replica::{Replica, api};
    let redis = redis_or_skip!();
    let platform = sipdial_testing::FakePlatform::start().await.unwrap();
    platform.clear_call_script();
    let prefix = support::fresh_prefix();
    let backend = Backend::from(support::backend(&redis.url(), &prefix).await);
    let replica = Replica::axum("A", api(&platform.url(), backend)).await;
    let res = replica.post("/session", json!({ "room": "expiry" })).await;
    let sid = res.json().unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Dialled and hung up twice: the second round is one the session's refresh skips
    // (the first created and refreshed every key), and it takes the live-call count
    // back from 0 to 1 and creates nothing the first did not.
    for _ in 0..2 {
        let dialed = replica.post("/dial", json!({ "sessionId": sid })).await;
        assert_eq!(dialed.status, 201, "{}", dialed.text());
        let id = dialed.json().unwrap()["id"].as_str().unwrap().to_owned();
        let gone = replica.delete(&format!("/calls/{id}")).await;
        assert_eq!(gone.status, 204, "{}", gone.text());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let fleet_wide = ["seq", "replicas:next", "timers"].map(|k| format!("{prefix}{k}"));
    for kind in [
        "call:", "conn:", "calls:", "ended:", "active:", "session:", "room:", "events:",
    ] {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("{prefix}{kind}"))),
            "no {kind} key: {keys:?}"
        );
    }
    for key in &keys {
        if fleet_wide.contains(key) {
            continue;
        }
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} never expires ({ttl})");
    }
}
