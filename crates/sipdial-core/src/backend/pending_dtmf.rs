//! Digits waiting for a call to be answered ([`PendingDtmf`]): written by the dial
//! that placed the call, taken by whichever replica applies the answer.
//!
//! They are kept apart from the call record so that they never reach a client (a
//! conference PIN has no business in a browser) while every replica of a fleet can
//! still find them: a shared backend keeps them where the store is. Taking is atomic,
//! so of two replicas racing for one call's digits exactly one gets them.

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::error::StoreError;
use crate::{CallId, Dtmf};

/// Calls with pending digits kept at most by [`InMemoryPendingDtmf`](crate::backend::memory::InMemoryPendingDtmf); beyond it the
/// oldest entry goes (its call has long been answered or forgotten).
pub const PENDING_DTMF_CAPACITY: usize = 4096;
/// How long digits wait for an answer at most: the platform's own cap on a call
/// (docs/platform-api.md §7), after which no answer can come.
pub const PENDING_DTMF_TTL: Duration = Duration::from_secs(6 * 3600);

/// Where the digits of unanswered calls wait.
#[async_trait]
pub trait PendingDtmf: Send + Sync + 'static {
    /// Keeps `digits` for `call` (replacing earlier ones) for at most
    /// [`PENDING_DTMF_TTL`].
    async fn put(&self, call: &CallId, digits: &Dtmf) -> Result<(), StoreError>;

    /// Removes and returns the digits of `call`; `None` when there are none (never
    /// set, already taken by another replica, or expired).
    async fn take(&self, call: &CallId) -> Result<Option<Dtmf>, StoreError>;
}
