//! Status webhooks against a real HTTP receiver on a loopback port: the signature
//! checked without sipdial's code, retries and backoff, no retry on a refusal, order
//! per call under retries, the outbox bound, and an API a hanging receiver cannot slow.

#[path = "webhooks/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sipdial_core::api::Backend;
use sipdial_core::api::webhooks::{InMemoryOutbox, WebhookRetry};
use support::*;

const WITHIN: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_signed_as_the_platform_signs_and_verifies_independently() {
    let rx = Receiver::start().await;
    let api = api(&rx, TIMEOUT, quick_retry(3), None);
    let s = session(&api, "signed").await;
    let call = dial(&api, &s).await;
    callback(&api, &s, &call, "RINGING").await;
    rx.wait_for(WITHIN, |r| r.len() == 2).await;
    let got = rx.received();
    let first = &got[0];
    let claims = verify_independently(first, SECRET).unwrap();
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 300, "{claims}");
    assert!(verify_independently(first, "another-secret-0123456789").is_err());
    let mut tampered = first.clone();
    tampered.body = bytes::Bytes::from(first.body.iter().copied().rev().collect::<Vec<_>>());
    assert!(
        verify_independently(&tampered, SECRET)
            .unwrap_err()
            .contains("payload_hash")
    );
    assert_eq!(first.headers["content-type"], "application/json");

    let body = first.json();
    assert_eq!(body["type"], "call.changed");
    assert_eq!(body["sequence"], 1);
    assert_eq!(body["callId"], call["id"]);
    assert_eq!(body["call"]["id"], call["id"]);
    assert_eq!(body["call"]["state"], "dialing");
    assert_eq!(body["previousState"], Value::Null);
    assert_eq!(body["cause"], "dialed");
    assert!(body["changedAt"].as_u64().unwrap() > 0);
    let second = got[1].json();
    verify_independently(&got[1], SECRET).unwrap();
    assert_eq!(second["sequence"], 2);
    assert_eq!(second["previousState"], "dialing");
    assert_eq!(second["call"]["state"], "ringing");
    assert_eq!(second["cause"], "platform");
    assert_eq!(second["platformEvent"], "callUpdated");
    let stats = api.webhook_stats();
    assert_eq!((stats.queued, stats.delivered, stats.retried), (2, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_and_a_timeout_are_retried_with_backoff_until_accepted() {
    let rx = Receiver::start().await;
    rx.reply(&[
        Reply::Status(503),
        Reply::After(Duration::from_secs(2)),
        Reply::Status(200),
    ]);
    let retry = WebhookRetry::new(5, Duration::from_millis(200), Duration::from_secs(1));
    let api = api(&rx, TIMEOUT, retry, None);
    let s = session(&api, "retry").await;
    let dialed = Instant::now();
    dial(&api, &s).await;
    rx.wait_for(WITHIN, |r| {
        r.iter().any(|r| r.status == 200 && r.at > dialed)
    })
    .await;
    let got = rx.received();
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 0, 200], "503, a hang, then accepted");
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "every attempt sends the same bytes"
    );
    // 503, wait ≥ 160 ms (200 ms − 20 %), then a hang of ~300 ms (the timeout runs from
    // the send, a little before the receiver saw it) and a wait ≥ 320 ms (400 ms − 20 %):
    // without doubling, the second gap would be at most 300 + 240 ms.
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(160),
        "{:?}",
        got[1].at - got[0].at
    );
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(560),
        "{:?}",
        got[2].at - got[1].at
    );
    let stats = api.webhook_stats();
    assert_eq!(
        (stats.delivered, stats.retried, stats.failed),
        (1, 2, 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_paces_the_next_attempt_up_to_the_longest_backoff() {
    let rx = Receiver::start().await;
    rx.reply(&[
        Reply::RetryAfter(503, 1),
        Reply::RetryAfter(429, 3600),
        Reply::Status(200),
    ]);
    // Backoff alone would wait 50-80 ms, then 100-160 ms.
    let retry = WebhookRetry::new(5, Duration::from_millis(50), Duration::from_millis(1500));
    let api = api(&rx, TIMEOUT, retry, None);
    let s = session(&api, "retry-after").await;
    dial(&api, &s).await;
    rx.wait_for(WITHIN, |r| r.iter().any(|r| r.status == 200))
        .await;
    let got = rx.received();
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 429, 200]);
    let (first, second) = (got[1].at - got[0].at, got[2].at - got[1].at);
    assert!(first >= Duration::from_secs(1), "{first:?}");
    assert!(first < Duration::from_millis(1400), "{first:?}");
    // An hour is more than the longest backoff: that is waited instead.
    assert!(second >= Duration::from_millis(1500), "{second:?}");
    assert!(second < Duration::from_secs(3), "{second:?}");
    assert_eq!(api.webhook_stats().delivered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_is_not_retried_and_the_next_change_still_goes() {
    let rx = Receiver::start().await;
    rx.reply(&[Reply::Status(400)]);
    let api = api(&rx, TIMEOUT, quick_retry(5), None);
    let s = session(&api, "refused").await;
    let call = dial(&api, &s).await;
    callback(&api, &s, &call, "RINGING").await;
    rx.wait_for(WITHIN, |r| r.len() == 2).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = rx.received();
    assert_eq!(got.len(), 2, "the refused change is not sent again");
    assert_eq!(got[0].status, 400);
    assert_eq!(got[0].json()["sequence"], 1);
    assert_eq!(got[1].json()["sequence"], 2);
    let stats = api.webhook_stats();
    assert_eq!(
        (stats.refused, stats.delivered, stats.retried),
        (1, 1, 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_exhausted_are_counted_as_failed() {
    let rx = Receiver::start().await;
    rx.otherwise(Reply::Status(500));
    let api = api(&rx, TIMEOUT, quick_retry(3), None);
    let s = session(&api, "down").await;
    dial(&api, &s).await;
    rx.wait_for(WITHIN, |r| r.len() == 3).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.received().len(), 3, "three attempts in all");
    let stats = api.webhook_stats();
    assert_eq!(
        (stats.failed, stats.retried, stats.delivered),
        (1, 2, 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_delivered_in_order_under_retries() {
    let rx = Receiver::start().await;
    // Every other request fails, so most changes need a retry while the next ones
    // are already queued.
    rx.reply(&[
        Reply::Status(500),
        Reply::Status(200),
        Reply::Status(502),
        Reply::Status(200),
        Reply::Status(503),
        Reply::Status(200),
        Reply::Status(500),
        Reply::Status(200),
        Reply::Status(500),
        Reply::Status(200),
        Reply::Status(500),
        Reply::Status(200),
    ]);
    let api = api(&rx, TIMEOUT, quick_retry(10), None);
    let s = session(&api, "order").await;
    let a = dial(&api, &s).await;
    let b = dial(&api, &s).await;
    for state in ["RINGING", "ACTIVE"] {
        callback(&api, &s, &a, state).await;
        callback(&api, &s, &b, state).await;
    }
    hang_up(&api, &a).await;
    hang_up(&api, &b).await;
    // Every change queued was accepted (the platform's own report of the hang-up may
    // add one more change per call after ours).
    // (read on every look: that report may be queued while we wait).
    rx.wait_for(WITHIN, |r| {
        let queued = api.webhook_stats().queued;
        queued >= 8 && r.iter().filter(|r| r.status == 200).count() as u64 == queued
    })
    .await;
    let rank = |s: &str| {
        ["dialing", "ringing", "active", "ended"]
            .iter()
            .position(|x| *x == s)
    };
    for call in [&a, &b] {
        let seen: Vec<(u64, String)> = rx
            .accepted()
            .iter()
            .map(Received::json)
            .filter(|j| j["callId"] == call["id"])
            .map(|j| {
                (
                    j["sequence"].as_u64().unwrap(),
                    j["call"]["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let sequences: Vec<u64> = seen.iter().map(|(n, _)| *n).collect();
        let expected: Vec<u64> = (1..=seen.len() as u64).collect();
        assert_eq!(
            sequences, expected,
            "delivered in order, each once: {seen:?}"
        );
        let states: Vec<&str> = seen.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            &states[..4],
            ["dialing", "ringing", "active", "ended"],
            "{seen:?}"
        );
        assert!(
            states.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
            "{seen:?}"
        );
    }
    assert!(
        api.webhook_stats().retried >= 4,
        "{:?}",
        api.webhook_stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_drops_and_counts_and_never_blocks() {
    let rx = Receiver::start().await;
    rx.otherwise(Reply::After(Duration::from_secs(30)));
    let backend =
        Backend::in_memory().with_webhook_outbox(Arc::new(InMemoryOutbox::with_capacity(3)));
    let api = api(&rx, Duration::from_secs(20), quick_retry(2), Some(backend));
    let s = session(&api, "bounded").await;
    let started = Instant::now();
    for _ in 0..8 {
        dial(&api, &s).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let stats = api.webhook_stats();
    assert_eq!((stats.queued, stats.dropped), (3, 5), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_slow_the_api() {
    let rx = Receiver::start().await;
    let dial_only = Receiver::start().await;
    // Baseline: the same requests with a receiver that answers at once.
    let quick = api(&dial_only, TIMEOUT, quick_retry(2), None);
    let baseline = run_calls(&quick, "quick").await;
    rx.otherwise(Reply::After(Duration::from_secs(60)));
    let api = api(&rx, Duration::from_secs(30), quick_retry(2), None);
    let hanging = run_calls(&api, "hanging").await;
    assert!(
        hanging < baseline * 3 + Duration::from_millis(200),
        "hanging receiver: {hanging:?}, answering receiver: {baseline:?}"
    );
    assert!(api.webhook_stats().queued >= 40);
}

/// 10 calls dialled, rung, answered and hung up; how long the API took.
async fn run_calls(api: &sipdial_core::SipDialApi, room: &str) -> Duration {
    let s = session(api, room).await;
    let started = Instant::now();
    for _ in 0..10 {
        let call = dial(api, &s).await;
        callback(api, &s, &call, "RINGING").await;
        callback(api, &s, &call, "ACTIVE").await;
        hang_up(api, &call).await;
    }
    started.elapsed()
}
