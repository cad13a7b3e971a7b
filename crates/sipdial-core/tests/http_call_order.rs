//! Changes are ordered per call, not per process: while the store holds one call's
//! change, another call's change goes through, and the same call's next change waits
//! its turn (it does not even reach the store).
#![cfg(feature = "fake")]

mod http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use http_support::*;
use sipdial_core::api::{
    CallRecord, CallStore, CallUpdate, InMemoryCallStore, StoreError, Updated,
};
use sipdial_core::async_trait;
use sipdial_core::{CallId, ConnectionId, Room, SessionId};
use tokio::sync::{Notify, Semaphore};

/// The in-memory store, with every update of the call `held` waiting for a permit.
struct Holding {
    inner: InMemoryCallStore,
    held: std::sync::Mutex<Option<CallId>>,
    permits: Semaphore,
    /// Updates of the held call that reached the store.
    reached: AtomicUsize,
    entered: Notify,
}

impl Default for Holding {
    fn default() -> Self {
        Self {
            inner: InMemoryCallStore::default(),
            held: std::sync::Mutex::default(),
            permits: Semaphore::new(0),
            reached: AtomicUsize::new(0),
            entered: Notify::new(),
        }
    }
}

#[async_trait]
impl CallStore for Holding {
    async fn room_session(&self, room: &Room) -> Result<Option<SessionId>, StoreError> {
        self.inner.room_session(room).await
    }
    async fn insert_room_session(
        &self,
        room: &Room,
        s: &SessionId,
    ) -> Result<SessionId, StoreError> {
        self.inner.insert_room_session(room, s).await
    }
    async fn is_known_session(&self, s: &SessionId) -> Result<bool, StoreError> {
        self.inner.is_known_session(s).await
    }
    async fn insert_call(&self, call: CallRecord) -> Result<(), StoreError> {
        self.inner.insert_call(call).await
    }
    async fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
        self.inner.call(id).await
    }
    async fn session_calls(&self, s: &SessionId, all: bool) -> Result<Vec<CallRecord>, StoreError> {
        self.inner.session_calls(s, all).await
    }
    async fn call_by_connection(&self, c: &ConnectionId) -> Result<Option<CallRecord>, StoreError> {
        self.inner.call_by_connection(c).await
    }
    async fn update_call(
        &self,
        id: &CallId,
        u: &CallUpdate,
    ) -> Result<Option<Updated>, StoreError> {
        let hold = self.held.lock().unwrap().as_ref() == Some(id);
        if hold {
            self.reached.fetch_add(1, Ordering::SeqCst);
            self.entered.notify_one();
            self.permits.acquire().await.unwrap().forget();
        }
        self.inner.update_call(id, u).await
    }
}

#[tokio::test]
async fn one_call_s_change_does_not_wait_for_another_s_and_its_own_wait_their_turn() {
    let store = Arc::new(Holding::default());
    let f = fixture_with(|b| b.store(store.clone()));
    let s = f.session("order").await;
    let a = f.dial(&s).await["id"].as_str().unwrap().to_owned();
    let b = f.dial(&s).await["id"].as_str().unwrap().to_owned();
    *store.held.lock().unwrap() = Some(CallId::new(a.clone()).unwrap());
    let path_a = format!("/sip/calls/{a}");

    // Call A's hang-up reaches the store and is held there.
    let hang_up_a = f.send(Method::DELETE, &path_a, None);
    tokio::pin!(hang_up_a);
    tokio::select! {
        res = &mut hang_up_a => panic!("A's hang-up finished while held: {res:?}"),
        () = store.entered.notified() => {}
    }

    // Call B's hang-up goes through meanwhile (a process-wide gate held it behind A).
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        f.send(Method::DELETE, &format!("/sip/calls/{b}"), None),
    )
    .await
    .expect("B's change does not wait for A's");
    assert_eq!(res.status, 204);
    let read = f.send(Method::GET, &format!("/sip/calls/{b}"), None).await;
    assert_eq!(read.json()["state"], "ended");

    // A second change of A waits for the first: it does not reach the store.
    let again_a = f.send(Method::DELETE, &path_a, None);
    tokio::pin!(again_a);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut again_a)
            .await
            .is_err(),
        "A's second change finished while its first was held"
    );
    assert_eq!(store.reached.load(Ordering::SeqCst), 1);

    // Released, both finish, in order: the first ends the call, the second finds it
    // ended.
    store.permits.add_permits(2);
    let (first, second) = tokio::join!(hang_up_a, again_a);
    assert_eq!(first.status, 204);
    assert_eq!(second.status, 204);
    assert_eq!(store.reached.load(Ordering::SeqCst), 2);
    let read = f.send(Method::GET, &format!("/sip/calls/{a}"), None).await;
    assert_eq!(read.json()["state"], "ended");
}
