//! The fleet's webhook outbox between replicas' connections: sequence numbers counted
//! fleet-wide, the bound, one lease holder at a time, and a takeover that resumes from
//! the oldest entry not acknowledged.

mod support;

use std::time::Duration;

use sipdial_core::api::webhooks::{NewDelivery, OutboxEntry, Pushed, Taken, WebhookOutbox};
use sipdial_redis::{RedisBackend, RedisOptions};

fn change(call: &str, n: u32) -> NewDelivery {
    NewDelivery::new(
        call,
        Some("desk".to_owned()),
        format!("{{\"n\":{n}}}"),
        false,
    )
}

async fn take(o: &dyn WebhookOutbox, after: Option<&str>) -> Option<Vec<OutboxEntry>> {
    match o.take(after, 100, Duration::from_millis(50)).await.unwrap() {
        Taken::Entries(e) => Some(e),
        _ => None,
    }
}

#[tokio::test]
async fn one_replica_dispatches_and_another_resumes_after_its_lease() {
    let redis = redis_or_skip!();
    let mut opts = RedisOptions::with_prefix(support::fresh_prefix());
    opts.webhook_outbox_len = 3;
    opts.webhook_lease = Duration::from_millis(400);
    let a = RedisBackend::connect(&redis.url(), opts.clone())
        .await
        .unwrap()
        .webhooks;
    let b = RedisBackend::connect(&redis.url(), opts)
        .await
        .unwrap()
        .webhooks;

    assert_eq!(a.push(change("c1", 1)).await.unwrap(), Pushed::Queued(1));
    assert_eq!(b.push(change("c1", 2)).await.unwrap(), Pushed::Queued(2));
    assert_eq!(b.push(change("c2", 1)).await.unwrap(), Pushed::Queued(1));
    assert_eq!(
        a.push(change("c1", 3)).await.unwrap(),
        Pushed::Dropped(3),
        "bounded"
    );

    let first = take(a.as_ref(), None).await.expect("a takes the lease");
    assert!(a.holds_lease());
    assert_eq!(
        take(b.as_ref(), None).await,
        None,
        "b does not dispatch while a holds it"
    );
    assert!(!b.holds_lease());
    let seen: Vec<(String, u64, Option<String>, String)> = first
        .iter()
        .map(|e| {
            (
                e.call_id.clone(),
                e.sequence,
                e.destination.clone(),
                e.change.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("c1".into(), 1, Some("desk".into()), "{\"n\":1}".into()),
            ("c1".into(), 2, Some("desk".into()), "{\"n\":2}".into()),
            ("c2".into(), 1, Some("desk".into()), "{\"n\":1}".into()),
        ]
    );
    a.ack(&first[0].id).await.unwrap();
    assert_eq!(take(a.as_ref(), Some(&first[2].id)).await, Some(vec![]));

    // a goes quiet (dies): once its lease lapses, b takes it and resumes from the
    // oldest entry not acknowledged.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!a.holds_lease(), "a stops by its own clock");
    let resumed = take(b.as_ref(), None).await.expect("b takes over");
    assert_eq!(resumed, first[1..].to_vec());
    assert_eq!(
        take(a.as_ref(), Some(&first[2].id)).await,
        None,
        "a learns it lost the lease"
    );
    for e in &resumed {
        b.ack(&e.id).await.unwrap();
    }
    assert_eq!(take(b.as_ref(), None).await, Some(vec![]));
    // Room again once acknowledged; the call's numbering carries on.
    assert_eq!(a.push(change("c1", 4)).await.unwrap(), Pushed::Queued(4));
}
