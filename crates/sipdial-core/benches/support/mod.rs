//! Builds stores of a given size for the store and API benchmarks.
#![allow(dead_code)] // each benchmark uses a part of it

use std::sync::Arc;

use futures_util::FutureExt as _;
use sipdial_core::api::{CallRecord, CallStore, InMemoryCallStore};
use sipdial_core::{Room, SessionId};

/// Calls in each session of a filled store: a realistic handful.
pub(crate) const CALLS_PER_SESSION: usize = 10;

/// Store sizes the benchmarks compare.
pub(crate) const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Runs a store operation; the in-memory store never waits.
pub(crate) fn now<F: std::future::Future>(f: F) -> F::Output {
    f.now_or_never().expect("the in-memory store never waits")
}

/// A call record with ids derived from `i`, built from its JSON form so that fields
/// the record gains later take their defaults.
pub(crate) fn record(i: usize, session: &SessionId) -> CallRecord {
    serde_json::from_value(serde_json::json!({
        "id": format!("call-{i:09}"),
        "sessionId": session.as_str(),
        "target": "default",
        "connectionId": format!("conn-{i:09}"),
        "streamId": format!("stream-{i:09}"),
        "state": "dialing",
        "createdAt": 1_700_000_000_000u64,
    }))
    .expect("a call record")
}

/// A session id shaped like the platform's (about as long).
pub(crate) fn session(n: usize) -> SessionId {
    SessionId::new(format!(
        "1_MX40NzAwMDAwMX5-MTcwMDAwMDAwMDAwMH5iZW5jaC1zZXNzaW9u-{n:09}-fg"
    ))
    .expect("id")
}

/// A store holding `total` calls in known sessions of [`CALLS_PER_SESSION`] calls;
/// returns it and the first session.
pub(crate) fn filled_store(total: usize) -> (Arc<InMemoryCallStore>, SessionId) {
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
