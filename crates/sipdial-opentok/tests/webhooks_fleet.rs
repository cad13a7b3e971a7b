//! Three replicas on one real Redis deliver each status webhook change once, in order
//! per call, wherever the change happened; when the delivering replica goes away,
//! another takes over its queue.

#[path = "webhooks/support.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sipdial_core::SipDialApi;
use sipdial_core::fake::FakeDialer;
use sipdial_redis::{RedisBackend, RedisOptions};
use sipdial_testing::RedisServer;
use support::*;

const WITHIN: Duration = Duration::from_secs(15);

async fn replicas(
    redis: &RedisServer,
    rx: &Receiver,
    opts: RedisOptions,
    n: usize,
) -> Vec<SipDialApi> {
    // One platform (the fake) behind every replica, as in a real fleet.
    let dialer = Arc::new(FakeDialer::new());
    let mut apis = Vec::new();
    for _ in 0..n {
        let backend = RedisBackend::connect(&redis.url(), opts.clone())
            .await
            .unwrap();
        apis.push(api_on(
            dialer.clone(),
            rx,
            Duration::from_millis(500),
            quick_retry(50),
            Some(backend.into()),
        ));
    }
    apis
}

/// `(callId, sequence)` → how many times it was accepted.
type Times = HashMap<(String, u64), usize>;
/// Each call's accepted sequence numbers in arrival order.
type Order = HashMap<String, Vec<u64>>;

fn tally(rx: &Receiver) -> (Times, Order) {
    let mut times = HashMap::new();
    let mut order: HashMap<String, Vec<u64>> = HashMap::new();
    for r in rx.accepted() {
        let j: Value = r.json();
        let call = j["callId"].as_str().unwrap().to_owned();
        let seq = j["sequence"].as_u64().unwrap();
        *times.entry((call.clone(), seq)).or_insert(0) += 1;
        order.entry(call).or_default().push(seq);
    }
    (times, order)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_delivered_once_by_one_replica_in_order() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let rx = Receiver::start().await;
    // A few failures, so that retries happen while other replicas keep queueing.
    rx.reply(&[Reply::Status(503), Reply::Status(200), Reply::Status(500)]);
    let apis = replicas(&redis, &rx, RedisOptions::with_prefix("fleet1:"), 3).await;
    let s = session(&apis[0], "fleet").await;
    let mut calls = Vec::new();
    for i in 0..6 {
        calls.push(dial(&apis[i % 3], &s).await);
    }
    for (i, call) in calls.iter().enumerate() {
        callback(&apis[(i + 1) % 3], &s, call, "RINGING").await;
        callback(&apis[(i + 2) % 3], &s, call, "ACTIVE").await;
    }
    for (i, call) in calls.iter().enumerate() {
        hang_up(&apis[(i + 1) % 3], call).await;
    }
    // The fake's own reports of the hang-ups come in a little later, on every replica.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = || apis.iter().map(|a| a.webhook_stats().queued).sum::<u64>();
    assert!(queued() >= 24, "{}", queued());
    rx.wait_for(WITHIN, |r| {
        r.iter().filter(|r| r.status == 200).count() as u64 >= queued()
    })
    .await;
    // Nothing more arrives: no other replica sends the same changes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let queued = queued();
    let (times, order) = tally(&rx);
    assert_eq!(times.len() as u64, queued);
    assert!(times.values().all(|n| *n == 1), "{times:?}");
    for call in &calls {
        let seqs = &order[call["id"].as_str().unwrap()];
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, &expected, "in order, numbered fleet-wide");
        assert!(seqs.len() >= 4);
    }
    let senders = apis
        .iter()
        .filter(|a| a.webhook_stats().delivered > 0)
        .count();
    assert_eq!(
        senders,
        1,
        "one replica delivers: {:?}",
        apis.iter().map(|a| a.webhook_stats()).collect::<Vec<_>>()
    );
    let delivered: u64 = apis.iter().map(|a| a.webhook_stats().delivered).sum();
    assert_eq!(delivered, queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_sender_goes_away_another_replica_delivers_its_queue() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let rx = Receiver::start().await;
    rx.otherwise(Reply::Status(503));
    let mut opts = RedisOptions::with_prefix("fleet2:");
    opts.webhook_lease = Duration::from_millis(800);
    let mut apis = replicas(&redis, &rx, opts, 3).await;
    let s = session(&apis[0], "failover").await;
    let a = dial(&apis[1], &s).await;
    let b = dial(&apis[2], &s).await;
    callback(&apis[0], &s, &a, "RINGING").await;
    callback(&apis[1], &s, &b, "RINGING").await;
    // The receiver is down: the sender keeps retrying the first change of each call.
    rx.wait_for(WITHIN, |r| r.len() >= 4).await;
    let sender = apis
        .iter()
        .position(|a| a.webhook_stats().retried > 0)
        .expect("one replica is retrying");
    let others: Vec<usize> = (0..3).filter(|i| *i != sender).collect();
    assert!(others.iter().all(|i| apis[*i].webhook_stats().retried == 0));
    drop(apis.remove(sender));
    tokio::time::sleep(Duration::from_millis(100)).await;
    rx.otherwise(Reply::Status(200));
    let before = rx.received().len();
    rx.wait_for(WITHIN, |r| {
        r.iter().filter(|r| r.status == 200).count() >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (times, order) = tally(&rx);
    assert!(times.values().all(|n| *n == 1), "{times:?}");
    for call in [&a, &b] {
        assert_eq!(order[call["id"].as_str().unwrap()], vec![1, 2]);
    }
    assert!(rx.received().len() > before);
    let delivered: Vec<u64> = apis.iter().map(|a| a.webhook_stats().delivered).collect();
    assert_eq!(delivered.iter().sum::<u64>(), 4, "{delivered:?}");
    assert_eq!(
        delivered.iter().filter(|d| **d > 0).count(),
        1,
        "{delivered:?}"
    );
}
