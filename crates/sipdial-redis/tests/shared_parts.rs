//! The backend's parts between two replicas' connections: the event log's resume rules
//! (replay, trimmed, never issued), parked events and dedupe crossing replicas.

mod support;

use sipdial_core::api::{
    CallRecord, CallState, DeliveryDedupe, EventId, EventLog, ParkedEvents, PendingDtmf, Since,
};
use sipdial_core::events::{CallRef, PlatformCallState};
use sipdial_core::{CallId, ConnectionId, PlatformEvent, PlatformEventKind, SessionId, Timestamp};
use sipdial_redis::{RedisBackend, RedisOptions};

fn call(n: u32) -> CallRecord {
    CallRecord {
        state: CallState::Ringing,
        ..CallRecord::new(
            CallId::new(format!("c{n}")).unwrap(),
            SessionId::new("1_log").unwrap(),
            ConnectionId::new(format!("k{n}")).unwrap(),
            Timestamp::from_millis(1),
        )
    }
}

#[tokio::test]
async fn the_event_log_replays_what_it_holds_and_nothing_it_lost() {
    let redis = redis_or_skip!();
    let prefix = support::fresh_prefix();
    let mut opts = RedisOptions::with_prefix(&prefix);
    opts.stream_len = 4;
    let a = RedisBackend::connect(&redis.url(), opts.clone())
        .await
        .unwrap()
        .events;
    let b = RedisBackend::connect(&redis.url(), opts)
        .await
        .unwrap()
        .events;
    let s = SessionId::new("1_log").unwrap();
    let start = a.position(&s).await.unwrap();
    assert_eq!(start.as_str(), "0-0");
    assert_eq!(
        b.since(&s, &start).await.unwrap(),
        Since::Entries(vec![], start.clone())
    );
    let first = a.append(&call(0)).await.unwrap();
    let second = a.append(&call(1)).await.unwrap();
    // Replica B reads what A appended, from A's ids.
    let Since::Entries(entries, last) = b.since(&s, &first).await.unwrap() else {
        panic!("lagged")
    };
    assert_eq!(last, second);
    assert_eq!(entries.len(), 1);
    assert!(String::from_utf8_lossy(&entries[0].data).contains("\"c1\""));
    // An id never issued here starts over.
    let foreign = EventId::new("1-0").unwrap();
    assert_eq!(b.since(&s, &foreign).await.unwrap(), Since::Lagged);
    assert_eq!(
        b.since(&s, &EventId::new("garbage").unwrap())
            .await
            .unwrap(),
        Since::Lagged
    );
    // Trimmed past an id (MAXLEN ~ trims whole nodes of 100 entries): start over.
    for n in 0..300 {
        a.append(&call(n)).await.unwrap();
    }
    assert_eq!(b.since(&s, &first).await.unwrap(), Since::Lagged);
    let now = b.position(&s).await.unwrap();
    assert_eq!(
        b.since(&s, &now).await.unwrap(),
        Since::Entries(vec![], now.clone())
    );
}

#[tokio::test]
async fn parked_events_and_dedupe_cross_replicas() {
    let redis = redis_or_skip!();
    let prefix = support::fresh_prefix();
    let a = support::backend(&redis.url(), &prefix).await;
    let b = support::backend(&redis.url(), &prefix).await;
    let id = CallId::new("early").unwrap();
    let conn = ConnectionId::new("early-conn").unwrap();
    let event = PlatformEvent::new(
        SessionId::new("1_s").unwrap(),
        PlatformEventKind::CallUpdated {
            call: CallRef::new(id.clone(), conn.clone()),
            state: PlatformCallState::Ringing,
        },
    )
    .at(Timestamp::from_millis(42));
    b.parked.park(&event).await.unwrap();
    let taken = a.parked.take(&id, &conn).await.unwrap();
    assert_eq!(taken, vec![event]);
    assert!(
        a.parked.take(&id, &conn).await.unwrap().is_empty(),
        "taken once"
    );

    assert!(a.dedupe.first_delivery("k1").await.unwrap());
    assert!(!b.dedupe.first_delivery("k1").await.unwrap());
    b.dedupe.forget("k1").await.unwrap();
    assert!(a.dedupe.first_delivery("k1").await.unwrap());
}

#[tokio::test]
async fn pending_digits_are_taken_once_across_replicas() {
    let redis = redis_or_skip!();
    let opts = RedisOptions::with_prefix(support::fresh_prefix());
    let a = RedisBackend::connect(&redis.url(), opts.clone())
        .await
        .unwrap()
        .pending_dtmf;
    let b = RedisBackend::connect(&redis.url(), opts)
        .await
        .unwrap()
        .pending_dtmf;
    let id = CallId::new("c-pin").unwrap();
    let digits = sipdial_core::Dtmf::new("1234#").unwrap();
    a.put(&id, &digits).await.unwrap();
    // Both replicas race for them: exactly one gets them.
    let (x, y) = tokio::join!(a.take(&id), b.take(&id));
    let got: Vec<_> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
    assert_eq!(got, [digits]);
    assert_eq!(b.take(&id).await.unwrap(), None);
}

#[tokio::test]
async fn one_replica_at_a_time_holds_a_sessions_reconcile_lease() {
    use sipdial_core::api::SessionLease;
    use std::time::Duration;
    let redis = redis_or_skip!();
    let opts = RedisOptions::with_prefix(support::fresh_prefix());
    let a = RedisBackend::connect(&redis.url(), opts.clone())
        .await
        .unwrap()
        .session_lease;
    let b = RedisBackend::connect(&redis.url(), opts)
        .await
        .unwrap()
        .session_lease;
    let s = SessionId::new("1_lease").unwrap();
    let other = SessionId::new("1_other").unwrap();
    let ttl = Duration::from_secs(30);
    let (x, y) = tokio::join!(a.try_lease(&s, ttl), b.try_lease(&s, ttl));
    assert!(x.unwrap() ^ y.unwrap(), "exactly one replica takes it");
    let (holder, waiter) = if a.try_lease(&s, ttl).await.unwrap() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(waiter.try_lease(&other, ttl).await.unwrap(), "per session");
    // Only its holder lets it go.
    waiter.release(&s).await.unwrap();
    assert!(!waiter.try_lease(&s, ttl).await.unwrap());
    holder.release(&s).await.unwrap();
    assert!(waiter.try_lease(&s, ttl).await.unwrap());
    // A holder that dies loses it when it lapses.
    assert!(!holder.try_lease(&s, ttl).await.unwrap());
    let short = SessionId::new("1_short").unwrap();
    assert!(
        holder
            .try_lease(&short, Duration::from_millis(50))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(waiter.try_lease(&short, ttl).await.unwrap(), "lapsed");
}

/// A session keeps its last 100 ended calls: older ones go with their connection
/// index, whether they ended through an update or were recorded ended; live calls stay
/// and the live-call count follows.
#[tokio::test]
async fn a_session_keeps_its_last_ended_calls_with_their_indexes() {
    use sipdial_core::api::{CallChange, CallStore, CallUpdate, MAX_ENDED_CALLS_PER_SESSION};
    let redis = redis_or_skip!();
    let prefix = support::fresh_prefix();
    let store = RedisBackend::connect(&redis.url(), RedisOptions::with_prefix(&prefix))
        .await
        .unwrap()
        .store;
    let s = SessionId::new("1_log").unwrap();
    let live = call(10_000);
    store.insert_call(live.clone()).await.unwrap();
    let n = u32::try_from(MAX_ENDED_CALLS_PER_SESSION).unwrap() + 3;
    let end = CallUpdate::new(
        CallChange::Ended {
            reason: Some("Hung up".to_owned()),
            sip_code: None,
            authoritative: true,
        },
        Timestamp::from_millis(2),
    );
    for i in 0..n {
        let c = call(i);
        if i % 2 == 0 {
            store.insert_call(c.clone()).await.unwrap();
            let u = store.update_call(&c.id, &end).await.unwrap().unwrap();
            assert!(u.changed);
        } else {
            // Recorded ended (a callback for a call this server did not place).
            let mut ended = c.clone();
            ended.state = CallState::Ended;
            store.insert_call(ended).await.unwrap();
        }
    }
    let calls = store.session_calls(&s, true).await.unwrap();
    assert_eq!(calls.len(), MAX_ENDED_CALLS_PER_SESSION + 1);
    assert_eq!(store.active_call_count(&s).await.unwrap(), 1);
    for i in 0..3 {
        let c = call(i);
        assert!(store.call(&c.id).await.unwrap().is_none(), "c{i} kept");
        assert!(
            store
                .call_by_connection(&c.connection_id)
                .await
                .unwrap()
                .is_none(),
            "k{i} kept"
        );
        let mut conn = redis::Client::open(redis.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let left: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}conn:k{i}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "the connection index of c{i} is gone too");
    }
    let kept = call(3);
    assert!(
        store
            .call_by_connection(&kept.connection_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.call(&live.id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_sessions_room_is_read_back_across_replicas() {
    use sipdial_core::Room;
    use sipdial_core::api::CallStore;
    let redis = redis_or_skip!();
    let prefix = support::fresh_prefix();
    let a = support::backend(&redis.url(), &prefix).await;
    let b = support::backend(&redis.url(), &prefix).await;
    let room = Room::new("team-a").unwrap();
    let s = SessionId::new("1_room").unwrap();
    a.store.insert_room_session(&room, &s).await.unwrap();
    // What an authorizer on another replica sees as the room of the session's calls.
    assert_eq!(b.store.session_room(&s).await.unwrap(), Some(room));
    let bare = SessionId::new("1_bare").unwrap();
    assert_eq!(b.store.session_room(&bare).await.unwrap(), None);
    a.store.register_session(&bare).await.unwrap();
    assert!(b.store.is_known_session(&bare).await.unwrap());
    assert_eq!(b.store.session_room(&bare).await.unwrap(), None);
}
