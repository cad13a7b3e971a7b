//! Who reconciles a session: the reconcile checks of a session's calls list its
//! connections on the platform, and a fleet should not ask about one session from
//! several replicas at once (each ask counts against the platform's rate limit, and
//! two replicas acting on one listing at once would only race each other). A replica
//! takes the session's lease before listing and lets it go after; a replica that dies
//! holding it loses it after its time to live.

use std::time::Duration;

use async_trait::async_trait;

use crate::SessionId;
use crate::backend::error::StoreError;

/// How long a reconcile lease on a session lasts at most: longer than a listing takes
/// (the dialer's timeout and retries), short enough that a dead holder delays the
/// session's checks by little.
pub const SESSION_LEASE_TTL: Duration = Duration::from_secs(30);

/// The reconcile lease of sessions.
#[async_trait]
pub trait SessionLease: Send + Sync + 'static {
    /// Takes the lease on `session` for at most `ttl`; false when another holder has
    /// it.
    async fn try_lease(&self, session: &SessionId, ttl: Duration) -> Result<bool, StoreError>;

    /// Lets the lease on `session` go, if this holder has it.
    async fn release(&self, session: &SessionId) -> Result<(), StoreError>;
}

/// The lease of one process: always granted. Its reconcile checks run on the one
/// poller task of the API, one session after another, so there is nobody to exclude.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleProcessLease;

#[async_trait]
impl SessionLease for SingleProcessLease {
    async fn try_lease(&self, _session: &SessionId, _ttl: Duration) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn release(&self, _session: &SessionId) -> Result<(), StoreError> {
        Ok(())
    }
}
