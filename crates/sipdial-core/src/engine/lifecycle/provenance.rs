//! Which platform events may make a session known: the rule that lets a shared store
//! that lost its state (Redis restarted empty) learn its sessions and calls back from
//! the platform's callbacks without letting anyone who can reach an unsigned callback
//! route plant sessions.

use super::Lifecycle;
use crate::SessionId;
use crate::backend::error::StoreError;
use crate::call::event::CallEventCause;
use crate::events::PlatformEvent;

/// Where a platform event comes from, which decides whether it may make a session
/// known (see `Lifecycle::adopts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// From the network without proof: an unsigned callback, or an event the host
    /// applied itself.
    Unverified,
    /// The platform's own: a callback whose signature verified, or an in-process event
    /// from the dialer.
    Verified,
}

impl Provenance {
    /// The cause a change from `event` carries: whether it was verified reaches the
    /// hook and the status webhooks.
    pub(crate) fn cause(self, event: &PlatformEvent) -> CallEventCause {
        match self {
            Provenance::Verified => CallEventCause::Platform(event.clone()),
            Provenance::Unverified => CallEventCause::UnverifiedPlatform(event.clone()),
        }
    }
}

impl Lifecycle {
    /// Whether calls this server did not place may be recorded in `session`: in a
    /// session the store knows; and, for an event the platform verifiably sent, in
    /// any session, which the store then registers (it may have lost its state, e.g.
    /// Redis restarted empty, and learns its sessions back from the platform's
    /// callbacks). An unverified event never makes a session known: anyone who can
    /// reach an unsigned callback route could name any session.
    pub(super) async fn adopts(
        &self,
        session: &SessionId,
        provenance: Provenance,
    ) -> Result<bool, StoreError> {
        if provenance != Provenance::Verified {
            return self.store.is_known_session(session).await;
        }
        // Registered whether or not it reads as known: registering is idempotent and
        // costs what the question would, and a store may answer "known" from what it
        // read lately (`sipdial-redis` keeps a minute of it) while its shared state
        // lost the session, which then must be written back.
        let known = self.store.register_session(session).await?;
        tracing::debug!(session_id = %session, known, "session registered from a verified platform event");
        Ok(known)
    }
}
