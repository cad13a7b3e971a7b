//! The limits drop what has lapsed lazily (one `ZCARD` or `LLEN` per check instead of
//! a trim and a count, `lua/common.lua`'s `counted` and `in_window`), so these show
//! that the answers stay exact and the keys stay near their live size: slots of a
//! replica that died mid-dial and dials that left the window, planted straight into
//! Redis.

mod support;

use redis::AsyncCommands;
use sipdial_core::SessionId;
use sipdial_core::api::{CallStore, DialLimits, DialPolicy, DialScope, Limit, Quota, Refusal};

const CLIENT: &str = "a:192.0.2.7";

fn policy(client: Quota, per_minute: u32) -> DialPolicy {
    DialPolicy {
        max_active: 1_000,
        per_minute,
        client,
        ..DialPolicy::default()
    }
}

/// Adds `n` members scored 1 (1970: lapsed) to live set `key`.
async fn plant(conn: &mut redis::aio::MultiplexedConnection, key: &str, n: usize) {
    for i in 0..n {
        let _: i64 = conn.zadd(key, format!("dead-{i}"), 1).await.unwrap();
    }
}

/// Appends `n` dials of 1970 (long out of any window) to rate window `key`.
async fn plant_dials(conn: &mut redis::aio::MultiplexedConnection, key: &str, n: usize) {
    for _ in 0..n {
        let _: i64 = conn.rpush(key, 1).await.unwrap();
    }
}

#[tokio::test]
async fn lapsed_slots_never_refuse_a_dial_and_leave_within_32_dials() {
    let redis = redis_or_skip!();
    let prefix = support::fresh_prefix();
    let backend = support::backend(&redis.url(), &prefix).await;
    let session = SessionId::new("1_lapsed").unwrap();
    backend.store.register_session(&session).await.unwrap();
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let scope = DialScope {
        client: CLIENT,
        target: None,
    };

    // The client may hold 2 calls; a dead replica left 2 slots that have lapsed.
    let live = format!("{prefix}clive:{CLIENT}");
    plant(&mut conn, &live, 2).await;
    let two = policy(
        Quota {
            max_active: 2,
            per_minute: 1_000,
        },
        1_000,
    );
    for _ in 0..2 {
        let admitted = backend
            .limits
            .admit(&session, 0, &two, &scope)
            .await
            .unwrap();
        assert!(admitted.is_ok(), "a lapsed slot counted: {admitted:?}");
    }
    let third = backend
        .limits
        .admit(&session, 0, &two, &scope)
        .await
        .unwrap();
    assert!(
        matches!(
            third,
            Err(Refusal::Over {
                limit: Limit::ClientCalls,
                ..
            })
        ),
        "{third:?}"
    );
    let held: usize = conn.zcard(&live).await.unwrap();
    assert_eq!(held, 2, "only the two live tickets remain");

    // The session may dial 3 times a minute; 3 dials of an hour ago are still stored.
    let other = SessionId::new("1_window").unwrap();
    backend.store.register_session(&other).await.unwrap();
    plant_dials(&mut conn, &format!("{prefix}dials:{}", other.as_str()), 3).await;
    let roomy = policy(Quota::UNLIMITED, 3);
    let scope_b = DialScope {
        client: "a:192.0.2.8",
        target: None,
    };
    for _ in 0..3 {
        let admitted = backend
            .limits
            .admit(&other, 0, &roomy, &scope_b)
            .await
            .unwrap();
        assert!(admitted.is_ok(), "an old dial counted: {admitted:?}");
    }
    let fourth = backend
        .limits
        .admit(&other, 0, &roomy, &scope_b)
        .await
        .unwrap();
    assert!(
        matches!(fourth, Err(Refusal::RateLimited { .. })),
        "{fourth:?}"
    );

    // Under a limit far away, old dials leave the window within 32 dials of any size.
    let window = format!("{prefix}cdials:a:192.0.2.9");
    plant_dials(&mut conn, &window, 100).await;
    let high = policy(
        Quota {
            max_active: 1_000,
            per_minute: 1_000_000,
        },
        1_000_000,
    );
    let scope_c = DialScope {
        client: "a:192.0.2.9",
        target: None,
    };
    let third_session = SessionId::new("1_high").unwrap();
    backend
        .store
        .register_session(&third_session)
        .await
        .unwrap();
    for _ in 0..32 {
        let ticket = backend
            .limits
            .admit(&third_session, 0, &high, &scope_c)
            .await
            .unwrap()
            .unwrap();
        backend
            .limits
            .release(&third_session, &ticket)
            .await
            .unwrap();
    }
    let kept: usize = conn.llen(&window).await.unwrap();
    assert!(kept <= 32, "{kept} members: the 100 old dials stayed");
}
