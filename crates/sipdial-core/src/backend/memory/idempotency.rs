//! The in-memory idempotency keys ([`InMemoryIdempotency`]): one process's, the default
//! of [`Backend::in_memory`](crate::backend::Backend::in_memory).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::backend::error::StoreError;
use crate::backend::idempotency::{IDEMPOTENCY_CAPACITY, IdempotencyStore, KeyState, StoredAnswer};
use crate::backend::memory::bounded::Bounded;
use crate::sync::lock;

/// [`IDEMPOTENCY_RETENTION`](crate::backend::idempotency::IDEMPOTENCY_RETENTION) in
/// seconds, the map's time to live.
const RETENTION_SECS: u64 = 24 * 3600;

#[derive(Debug)]
enum Entry {
    InFlight {
        token: u64,
        fingerprint: String,
        until: Instant,
    },
    Done {
        fingerprint: String,
        answer: StoredAnswer,
    },
}

/// The default [`IdempotencyStore`]: the last [`IDEMPOTENCY_CAPACITY`] keys of this
/// process, each for at most 24 hours. One lock makes `begin` atomic.
#[derive(Debug, Default)]
pub struct InMemoryIdempotency {
    keys: Mutex<Bounded<String, Entry, IDEMPOTENCY_CAPACITY, RETENTION_SECS>>,
    next_token: AtomicU64,
}

impl InMemoryIdempotency {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }
}

fn parse_token(token: &str) -> Option<u64> {
    token.parse().ok()
}

#[async_trait]
impl IdempotencyStore for InMemoryIdempotency {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        in_flight: Duration,
    ) -> Result<KeyState, StoreError> {
        let mut keys = lock(&self.keys);
        let now = Instant::now();
        match keys.get(key) {
            Some(Entry::Done {
                fingerprint: f,
                answer,
            }) => {
                return Ok(if f == fingerprint {
                    KeyState::Done(answer.clone())
                } else {
                    KeyState::Mismatch
                });
            }
            Some(Entry::InFlight {
                fingerprint: f,
                until,
                ..
            }) if *until > now => {
                return Ok(if f == fingerprint {
                    KeyState::InFlight
                } else {
                    KeyState::Mismatch
                });
            }
            // Free, or held by a request that lapsed.
            _ => {}
        }
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        keys.insert(
            key.to_owned(),
            Entry::InFlight {
                token,
                fingerprint: fingerprint.to_owned(),
                until: now + in_flight,
            },
        );
        Ok(KeyState::Claimed {
            token: token.to_string(),
        })
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        fingerprint: &str,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let mut keys = lock(&self.keys);
        if matches!(keys.get(key), Some(Entry::InFlight { token: t, .. }) if Some(*t) == parse_token(token))
        {
            keys.insert(
                key.to_owned(),
                Entry::Done {
                    fingerprint: fingerprint.to_owned(),
                    answer: answer.clone(),
                },
            );
        }
        Ok(())
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), StoreError> {
        let mut keys = lock(&self.keys);
        if matches!(keys.get(key), Some(Entry::InFlight { token: t, .. }) if Some(*t) == parse_token(token))
        {
            keys.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn answer() -> StoredAnswer {
        StoredAnswer {
            status: 201,
            location: Some("/sip/calls/c1".into()),
            body: "{}".into(),
        }
    }

    #[tokio::test]
    async fn a_key_is_claimed_once_then_replayed() {
        let s = InMemoryIdempotency::new();
        let KeyState::Claimed { token } = s.begin("k", "f", MINUTE).await.unwrap() else {
            panic!("not claimed")
        };
        assert_eq!(s.begin("k", "f", MINUTE).await.unwrap(), KeyState::InFlight);
        assert_eq!(s.begin("k", "g", MINUTE).await.unwrap(), KeyState::Mismatch);
        s.complete("k", &token, "f", &answer()).await.unwrap();
        assert_eq!(
            s.begin("k", "f", MINUTE).await.unwrap(),
            KeyState::Done(answer())
        );
        assert_eq!(s.begin("k", "g", MINUTE).await.unwrap(), KeyState::Mismatch);
    }

    #[tokio::test]
    async fn a_released_or_lapsed_claim_frees_the_key_and_a_stale_token_does_nothing() {
        let s = InMemoryIdempotency::new();
        let KeyState::Claimed { token } = s.begin("k", "f", MINUTE).await.unwrap() else {
            panic!("not claimed")
        };
        s.release("k", &token).await.unwrap();
        assert!(matches!(
            s.begin("k", "f", Duration::ZERO).await.unwrap(),
            KeyState::Claimed { .. }
        ));
        // That claim lapsed at once: the next request takes the key over, and the
        // lapsed one's completion cannot overwrite it.
        let KeyState::Claimed { token: second } = s.begin("k", "f", MINUTE).await.unwrap() else {
            panic!("a lapsed claim still holds the key")
        };
        s.complete("k", &token, "f", &answer()).await.unwrap();
        assert_eq!(s.begin("k", "f", MINUTE).await.unwrap(), KeyState::InFlight);
        s.release("k", &token).await.unwrap();
        assert_eq!(s.begin("k", "f", MINUTE).await.unwrap(), KeyState::InFlight);
        s.complete("k", &second, "f", &answer()).await.unwrap();
        assert_eq!(
            s.begin("k", "f", MINUTE).await.unwrap(),
            KeyState::Done(answer())
        );
    }

    #[tokio::test]
    async fn keys_are_bounded_in_count() {
        let s = InMemoryIdempotency::new();
        for i in 0..IDEMPOTENCY_CAPACITY + 10 {
            s.begin(&format!("k{i}"), "f", MINUTE).await.unwrap();
        }
        assert!(lock(&s.keys).len() <= IDEMPOTENCY_CAPACITY);
    }
}
