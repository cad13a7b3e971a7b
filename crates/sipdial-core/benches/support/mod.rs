//! Builds stores of a given size for the store and API benchmarks.

use std::sync::Arc;

use futures_util::FutureExt as _;
use sipdial_core::api::{CallRecord, CallState, CallStore, InMemoryCallStore};
use sipdial_core::{CallId, ConnectionId, Room, SessionId, StreamId, Timestamp};

/// Calls in each session of a filled store: a realistic handful.
pub const CALLS_PER_SESSION: usize = 10;

/// Store sizes the benchmarks compare.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Runs a store operation; the in-memory store never waits.
pub fn now<F: std::future::Future>(f: F) -> F::Output {
    f.now_or_never().expect("the in-memory store never waits")
}

/// A call record with ids derived from `i`.
pub fn record(i: usize, session: &SessionId) -> CallRecord {
    CallRecord {
        id: CallId::new(format!("call-{i:09}")).expect("id"),
        session_id: session.clone(),
        target: Some("default".to_owned()),
        connection_id: ConnectionId::new(format!("conn-{i:09}")).expect("id"),
        stream_id: StreamId::new(format!("stream-{i:09}")).expect("id"),
        state: CallState::Dialing,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        ended_at: None,
    }
}

/// A session id shaped like the platform's (about as long).
pub fn session(n: usize) -> SessionId {
    SessionId::new(format!(
        "1_MX40NzAwMDAwMX5-MTcwMDAwMDAwMDAwMH5iZW5jaC1zZXNzaW9u-{n:09}-fg"
    ))
    .expect("id")
}

/// A store holding `total` calls in known sessions of [`CALLS_PER_SESSION`] calls;
/// returns it and the first session.
pub fn filled_store(total: usize) -> (Arc<InMemoryCallStore>, SessionId) {
    let store = Arc::new(InMemoryCallStore::new());
    for s in 0..total / CALLS_PER_SESSION {
        let id = session(s);
        let room = Room::new(format!("room-{s}")).expect("room");
        now(store.insert_room_session(&room, &id)).expect("room");
        for i in 0..CALLS_PER_SESSION {
            now(store.insert_call(record(s * CALLS_PER_SESSION + i, &id))).expect("insert");
        }
    }
    (store, session(0))
}
