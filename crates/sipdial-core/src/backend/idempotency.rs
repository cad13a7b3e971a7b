//! The idempotency keys of `POST /dial`: which keys a caller used, for which request
//! (a fingerprint of its body), and the answer the first request got. The engine
//! (`engine/idempotency.rs`) decides what a key means; this port only keeps keys, and
//! must make [`IdempotencyStore::begin`] atomic: two replicas receiving the same key at
//! once must not both be told to dial. The in-memory default keeps the last
//! [`IDEMPOTENCY_CAPACITY`] keys of one process; a shared one (Redis) lets every
//! replica see every key.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::backend::error::StoreError;

/// How long the answer of a dial stays replayable under its key: 24 hours, the
/// retention the IETF draft suggests and Stripe uses.
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Keys kept by the in-memory store at most (the oldest go first): a bound on memory
/// whatever the callers send; a caller retrying within minutes always finds its key.
pub const IDEMPOTENCY_CAPACITY: usize = 10_000;

/// The answer a dial got, kept to be replayed to a retry with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    /// The HTTP status (201).
    pub status: u16,
    /// The `Location` it carried, as the first request's client saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The JSON body.
    pub body: String,
}

/// What [`IdempotencyStore::begin`] found under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// The key was free and is now held for this request, by `token` (handed back to
    /// [`IdempotencyStore::complete`] or [`IdempotencyStore::release`]).
    Claimed {
        /// Who holds the key: unique in the fleet, so that a late completion of a
        /// claim that lapsed cannot overwrite another request's.
        token: String,
    },
    /// Another request with this key and fingerprint is still being answered.
    InFlight,
    /// The key was used with another fingerprint (another body).
    Mismatch,
    /// A request with this key and fingerprint was answered with this.
    Done(StoredAnswer),
}

/// Keeps the idempotency keys of dials. Keys arrive scoped to their caller (the engine
/// puts the caller's key in front), so an implementation never has to.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Atomically: when `key` is free, holds it for a request with `fingerprint` for
    /// at most `in_flight` (a replica that dies mid-dial frees it then) and answers
    /// [`KeyState::Claimed`]; otherwise answers what the key holds, compared with
    /// `fingerprint`.
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        in_flight: Duration,
    ) -> Result<KeyState, StoreError>;

    /// Keeps `answer` under `key` for [`IDEMPOTENCY_RETENTION`], if `token` still holds
    /// it.
    async fn complete(
        &self,
        key: &str,
        token: &str,
        fingerprint: &str,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError>;

    /// Frees `key`, if `token` still holds it: the request placed no call, and a
    /// retry with the key may try again.
    async fn release(&self, key: &str, token: &str) -> Result<(), StoreError>;
}
