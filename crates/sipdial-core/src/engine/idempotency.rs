//! What an `Idempotency-Key` on a dial means (docs/http-api.md "Idempotent dials"): the
//! first request with a key claims it and places the call; a retry with the same key
//! and the same request gets the first one's answer replayed and places nothing; a
//! retry while the first is still being answered is told so; the key with another
//! request is refused. The keys live in the backend's
//! [`IdempotencyStore`] (atomic there, so replicas racing one key place one call).
//!
//! A key is scoped to its caller (the principal, or the client's address when
//! anonymous): the store key is the caller's limit key in front of the client's key,
//! so one caller guessing another's key finds nothing of theirs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::IdempotencyKey;
use crate::backend::error::StoreError;
use crate::backend::idempotency::{IdempotencyStore, KeyState, StoredAnswer};
use crate::backend::memory::bounded::Bounded;
use crate::sync::lock;

/// How much longer than the dial's answer wait a key stays held while its request runs:
/// the platform's dial (bounded by the dialer's own timeout, well under this) and the
/// record's retries. A replica that dies mid-dial frees its keys after this; until then
/// a retry answers 409.
pub(crate) const IN_FLIGHT_ALLOWANCE: Duration = Duration::from_secs(120);

/// What a dial's key says to do.
pub(crate) enum Begun {
    /// Place the call, then complete or release the claim.
    Fresh(Claim),
    /// Answer this, place nothing.
    Replay(StoredAnswer),
    /// Another request with the key is being answered (409).
    InFlight,
    /// The key was used for another request (422).
    Mismatch,
}

/// Answers this process kept in the last minute, by scoped key: what a retry reaching
/// this replica is replayed from while the shared store is still being told.
type Recent = Bounded<String, (String, StoredAnswer), RECENT_CAPACITY, RECENT_TTL_SECS>;

/// How many recent answers a process keeps at hand, and for how long: the store has
/// them long before (its write follows the response at once).
const RECENT_CAPACITY: usize = 1024;
const RECENT_TTL_SECS: u64 = 60;

/// The dials' idempotency keys: the backend's [`IdempotencyStore`] (fleet-wide on
/// Redis), and the answers this process gave in the last minute. A keyed dial's answer
/// goes to the store after the response has left (the dial waits on one store round
/// trip for its key, the claim); a retry of it on this replica is replayed from here
/// meanwhile, and on another replica answers 409 for that moment.
pub(crate) struct Keys {
    store: Arc<dyn IdempotencyStore>,
    recent: Arc<Mutex<Recent>>,
}

impl Keys {
    pub(crate) fn new(store: Arc<dyn IdempotencyStore>) -> Self {
        Self {
            store,
            recent: Arc::default(),
        }
    }

    /// Looks `key` up for the caller `client` (its limit key) and a request of
    /// `fingerprint`, claiming it when free.
    pub(crate) async fn begin(
        &self,
        client: &str,
        key: &IdempotencyKey,
        fingerprint: String,
        in_flight: Duration,
    ) -> Result<Begun, StoreError> {
        let scoped = format!("{client}|{key}");
        if let Some((kept, answer)) = lock(&self.recent).get(&scoped) {
            return Ok(if *kept == fingerprint {
                Begun::Replay(answer.clone())
            } else {
                Begun::Mismatch
            });
        }
        Ok(
            match self.store.begin(&scoped, &fingerprint, in_flight).await? {
                KeyState::Claimed { token } => Begun::Fresh(Claim {
                    store: Arc::clone(&self.store),
                    recent: Arc::clone(&self.recent),
                    key: scoped,
                    token,
                    fingerprint,
                    open: true,
                }),
                KeyState::Done(answer) => Begun::Replay(answer),
                KeyState::InFlight => Begun::InFlight,
                KeyState::Mismatch => Begun::Mismatch,
            },
        )
    }
}

/// A key held for one request. Completed with the answer once the call is placed, or
/// released when the request placed nothing; dropped unsettled (the request was
/// refused by a limit, or cancelled before its dial began), it releases the key from a
/// task of its own, so the retry the client will send is not refused with a 409.
pub(crate) struct Claim {
    store: Arc<dyn IdempotencyStore>,
    recent: Arc<Mutex<Recent>>,
    key: String,
    token: String,
    fingerprint: String,
    open: bool,
}

impl Claim {
    /// Keeps `answer` for the retries: at once in this process, then in the store from
    /// a task of its own, so the response does not wait for it. A store failure is
    /// logged, not answered: the call was placed and the client gets it; a retry on
    /// another replica then answers 409 until the claim lapses.
    pub(crate) fn complete(mut self, answer: StoredAnswer) {
        self.open = false;
        lock(&self.recent).insert(self.key.clone(), (self.fingerprint.clone(), answer.clone()));
        let store = Arc::clone(&self.store);
        let (key, token, fingerprint) = (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.token),
            std::mem::take(&mut self.fingerprint),
        );
        let keep = async move {
            if let Err(e) = store.complete(&key, &token, &fingerprint, &answer).await {
                tracing::error!(error = %e, "a dial's idempotency key could not be completed");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(keep)),
            Err(_) => tracing::error!("no runtime to keep a dial's idempotency answer on"),
        }
    }

    /// Frees the key: nothing was placed (or the placed call was hung up), so a retry
    /// with the key dials again.
    pub(crate) async fn release(mut self) {
        self.open = false;
        if let Err(e) = self.store.release(&self.key, &self.token).await {
            tracing::warn!(error = %e, "a dial's idempotency key could not be released; it lapses by itself");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        let key = std::mem::take(&mut self.key);
        let token = std::mem::take(&mut self.token);
        drop(runtime.spawn(async move {
            let _ = store.release(&key, &token).await;
        }));
    }
}

/// The fingerprint of a request: FNV-1a (128 bits) of its canonical form, in hex.
/// Stable across processes and builds (replicas must agree). Not a cryptographic hash:
/// only the caller who owns the key could try to make two of its own requests collide,
/// and would only get its own answer back.
pub(crate) fn fingerprint(canonical: &[u8]) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let h = canonical
        .iter()
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME));
    format!("{h:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::memory::InMemoryIdempotency;

    #[test]
    fn fingerprints_are_stable_and_tell_requests_apart() {
        // The FNV-1a 128 test vector of the empty input is its offset basis.
        assert_eq!(fingerprint(b""), "6c62272e07bb014262b821756295c58d");
        assert_eq!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":1}"));
        assert_ne!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":2}"));
    }

    #[tokio::test]
    async fn keys_are_scoped_to_their_caller() {
        let store = Keys::new(Arc::new(InMemoryIdempotency::new()));
        let key = IdempotencyKey::new("k1").unwrap();
        let first = store
            .begin("s:alice", &key, "f".into(), Duration::from_secs(60))
            .await
            .unwrap();
        let Begun::Fresh(claim) = first else {
            panic!("not fresh")
        };
        let answer = StoredAnswer {
            status: 201,
            location: None,
            body: "{}".into(),
        };
        claim.complete(answer.clone());
        let bob = store
            .begin("s:bob", &key, "f".into(), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            matches!(bob, Begun::Fresh(_)),
            "bob must not see alice's dial"
        );
        let again = store
            .begin("s:alice", &key, "f".into(), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(again, Begun::Replay(a) if a == answer));
    }

    #[tokio::test]
    async fn a_dropped_claim_frees_its_key() {
        let store = Keys::new(Arc::new(InMemoryIdempotency::new()));
        let key = IdempotencyKey::new("k").unwrap();
        let first = store
            .begin("u", &key, "f".into(), Duration::from_secs(60))
            .await
            .unwrap();
        drop(first);
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let again = store
            .begin("u", &key, "f".into(), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(again, Begun::Fresh(_)));
    }
}
