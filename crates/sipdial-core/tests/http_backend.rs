//! The API over a backend that fails: every route answers 503 `store_unavailable`
//! (never a hang or a panic), and a call the platform placed is never silently lost
//! when recording it fails (retried, or hung up and reported with its connection).
#![cfg(feature = "fake")]

mod http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::Method;
use http_support::*;
use serde_json::json;
use sipdial_core::api::{
    CallRecord, CallStore, CallUpdate, InMemoryCallStore, StoreError, Updated,
};
use sipdial_core::async_trait;
use sipdial_core::fake::Operation;
use sipdial_core::{CallId, ConnectionId, Room, SessionId};

/// The in-memory store, with call inserts failing while `failing_inserts` > 0 and
/// every read failing while `down`.
#[derive(Default)]
struct Flaky {
    inner: InMemoryCallStore,
    failing_inserts: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::new("down"));
        }
        Ok(())
    }
}

#[async_trait]
impl CallStore for Flaky {
    async fn room_session(&self, room: &Room) -> Result<Option<SessionId>, StoreError> {
        self.check()?;
        self.inner.room_session(room).await
    }
    async fn insert_room_session(
        &self,
        room: &Room,
        s: &SessionId,
    ) -> Result<SessionId, StoreError> {
        self.check()?;
        self.inner.insert_room_session(room, s).await
    }
    async fn is_known_session(&self, s: &SessionId) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.is_known_session(s).await
    }
    async fn insert_call(&self, call: CallRecord) -> Result<(), StoreError> {
        self.check()?;
        let left = self.failing_inserts.load(Ordering::SeqCst);
        if left > 0 {
            self.failing_inserts.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::new("insert refused"));
        }
        self.inner.insert_call(call).await
    }
    async fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
        self.check()?;
        self.inner.call(id).await
    }
    async fn session_calls(&self, s: &SessionId, all: bool) -> Result<Vec<CallRecord>, StoreError> {
        self.check()?;
        self.inner.session_calls(s, all).await
    }
    async fn call_by_connection(&self, c: &ConnectionId) -> Result<Option<CallRecord>, StoreError> {
        self.check()?;
        self.inner.call_by_connection(c).await
    }
    async fn update_call(
        &self,
        id: &CallId,
        u: &CallUpdate,
    ) -> Result<Option<Updated>, StoreError> {
        self.check()?;
        self.inner.update_call(id, u).await
    }
}

fn flaky_fixture() -> (Fixture, Arc<Flaky>) {
    let store = Arc::new(Flaky::default());
    let f = fixture_with(|b| b.store(store.clone()));
    (f, store)
}

#[tokio::test]
async fn a_placed_call_is_recorded_after_a_store_blip() {
    let (f, store) = flaky_fixture();
    let s = f.session("r").await;
    store.failing_inserts.store(2, Ordering::SeqCst);
    let res = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": s })))
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let listed = f
        .send(Method::GET, &format!("/sip/calls?sessionId={s}"), None)
        .await;
    assert_eq!(listed.json()["calls"].as_array().unwrap().len(), 1);
    assert_eq!(f.fake.count(Operation::HangUp), 0);
}

#[tokio::test]
async fn a_placed_call_that_cannot_be_recorded_is_hung_up_and_named() {
    let (f, store) = flaky_fixture();
    let s = f.session("r").await;
    store.failing_inserts.store(usize::MAX, Ordering::SeqCst);
    let res = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": s })))
        .await;
    assert_eq!(res.assert_error(503), "store_unavailable");
    let tried = usize::MAX - store.failing_inserts.load(Ordering::SeqCst);
    assert_eq!(tried, 4, "recorded in four attempts before giving up");
    assert!(res.message().contains("connection"), "{}", res.message());
    assert!(res.message().contains("hung up"), "{}", res.message());
    assert_eq!(f.fake.count(Operation::Dial), 1);
    assert_eq!(
        f.fake.count(Operation::HangUp),
        1,
        "the untracked call was ended"
    );
    // Its slot was given back: the session can dial again once the store is back.
    store.failing_inserts.store(0, Ordering::SeqCst);
    let again = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": s })))
        .await;
    assert_eq!(again.status, 201);
}

#[tokio::test]
async fn every_route_answers_503_while_the_store_is_down() {
    let (f, store) = flaky_fixture();
    let s = f.session("r").await;
    let call = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": s })))
        .await
        .json();
    let id = call["id"].as_str().unwrap().to_owned();
    store.down.store(true, Ordering::SeqCst);
    for (method, path, body) in [
        (
            Method::POST,
            "/sip/session".to_owned(),
            Some(json!({ "room": "other" })),
        ),
        (
            Method::POST,
            "/sip/token".to_owned(),
            Some(json!({ "sessionId": s })),
        ),
        (
            Method::POST,
            "/sip/dial".to_owned(),
            Some(json!({ "sessionId": s })),
        ),
        (Method::GET, format!("/sip/calls?sessionId={s}"), None),
        (Method::GET, format!("/sip/calls/{id}"), None),
        (Method::DELETE, format!("/sip/calls/{id}"), None),
        (Method::GET, format!("/sip/events?sessionId={s}"), None),
    ] {
        let res = f.send(method.clone(), &path, body).await;
        assert_eq!(
            res.assert_error(503),
            "store_unavailable",
            "{method} {path}"
        );
    }
    store.down.store(false, Ordering::SeqCst);
    let back = f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(back.status, 200);
}

/// The idempotency keys in memory, with `complete` held until `open` is notified.
struct SlowCompletion {
    inner: sipdial_core::api::InMemoryIdempotency,
    open: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl sipdial_core::api::IdempotencyStore for SlowCompletion {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        in_flight: std::time::Duration,
    ) -> Result<sipdial_core::api::KeyState, StoreError> {
        self.inner.begin(key, fingerprint, in_flight).await
    }
    async fn complete(
        &self,
        key: &str,
        token: &str,
        fingerprint: &str,
        answer: &sipdial_core::api::StoredAnswer,
    ) -> Result<(), StoreError> {
        self.open.notified().await;
        self.inner.complete(key, token, fingerprint, answer).await
    }
    async fn release(&self, key: &str, token: &str) -> Result<(), StoreError> {
        self.inner.release(key, token).await
    }
}

/// A keyed dial answers once its key is claimed and its call placed: keeping the answer
/// in the shared store is not on the request's path (one store round trip for the key,
/// not two). Meanwhile a retry on the same replica is replayed from the answers it gave,
/// and on another replica answers 409 until the store has the answer, then the replay.
#[tokio::test]
async fn a_keyed_dial_answers_before_its_answer_is_kept() {
    let open = Arc::new(tokio::sync::Notify::new());
    let keys = Arc::new(SlowCompletion {
        inner: sipdial_core::api::InMemoryIdempotency::new(),
        open: open.clone(),
    });
    let backend = sipdial_core::api::Backend::in_memory().with_idempotency(keys);
    let dialer = fake();
    let replica = || builder(&dialer).backend(backend.clone()).build().unwrap();
    let (a, b) = (replica(), replica());
    let res = send(
        &a,
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "keyed" })),
    )
    .await;
    let session = res.json()["sessionId"].as_str().unwrap().to_owned();
    let keyed = || {
        let mut req = request(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": session })),
        );
        req.headers_mut()
            .insert("idempotency-key", http::HeaderValue::from_static("k-1"));
        req
    };
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), send_req(&a, keyed()))
        .await
        .expect("the dial waited for its answer to be kept");
    assert_eq!(first.status, 201, "{:?}", first.body);
    let same_replica = send_req(&a, keyed()).await;
    assert_eq!(same_replica.status, 201, "{:?}", same_replica.body);
    assert_eq!(same_replica.json()["id"], first.json()["id"]);
    let other_replica = send_req(&b, keyed()).await;
    assert_eq!(other_replica.status, 409, "{:?}", other_replica.body);
    open.notify_one();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let again = send_req(&b, keyed()).await;
        if again.status == 201 {
            assert_eq!(again.json()["id"], first.json()["id"]);
            assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
            break;
        }
        assert_eq!(again.status, 409, "{:?}", again.body);
        assert!(tokio::time::Instant::now() < deadline, "never replayed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(dialer.count(Operation::Dial), 1);
}
