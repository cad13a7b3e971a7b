//! Per-session dial limits: at most N calls active at once and at most M dial attempts
//! in any sliding minute. Both answer 429 with `Retry-After`.
//!
//! Toll fraud is paid per minute of call, so the limits count attempts, not successes,
//! and a dial in flight holds a slot until it is recorded (or failed): two concurrent
//! requests cannot both take the last slot. [`DialLimits`] checks and counts in one
//! step; the in-memory default counts this process only, a shared one (Redis) the
//! whole fleet.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::SessionId;
use crate::backend::error::StoreError;
use crate::call::ticket::DialTicket;

/// Default most calls active at once in one session.
pub const DEFAULT_MAX_ACTIVE_CALLS: usize = 3;
/// Default most dial attempts per session in a sliding minute.
pub const DEFAULT_DIALS_PER_MINUTE: u32 = 6;
/// The sliding window of the dial rate.
pub const DIAL_RATE_WINDOW: Duration = Duration::from_secs(60);
/// `Retry-After` when the active-call limit is hit: a slot frees only when a call
/// ends, which nobody can predict; this is a polling hint.
pub const ACTIVE_LIMIT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Sessions tracked before idle ones are swept.
pub(crate) const SWEEP_THRESHOLD: usize = 1024;

/// The configured limits of one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialPolicy {
    /// Most calls active (or being dialled) at once in one session.
    pub max_active: usize,
    /// Most dial attempts per session in [`DIAL_RATE_WINDOW`].
    pub per_minute: u32,
}

/// Why a dial was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The session has `active` calls live or being dialled.
    TooManyCalls {
        /// Calls counted.
        active: usize,
    },
    /// The session used its dials of the window; the oldest leaves it after this.
    RateLimited {
        /// When to retry.
        retry_after: Duration,
    },
    /// The session is unknown to the store (only from limits that check it, see
    /// [`DialLimits::checks_session`]).
    UnknownSession,
}

/// Checks and counts dials per session.
#[async_trait]
pub trait DialLimits: Send + Sync + 'static {
    /// Admits one dial into `session` under `policy`, counting it against both
    /// limits, or refuses it. `active` is the store's count of calls not ended;
    /// implementations that count them themselves ([`Self::counts_active`]) ignore it.
    async fn admit(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
    ) -> Result<Result<DialTicket, Refusal>, StoreError>;

    /// Frees the in-flight slot of an admitted dial (its attempt stays counted).
    async fn release(&self, session: &SessionId, ticket: &DialTicket) -> Result<(), StoreError>;

    /// Whether [`Self::admit`] reads the active-call count itself, so the API need not
    /// ask the store first.
    fn counts_active(&self) -> bool {
        false
    }

    /// Whether [`Self::admit`] also refuses a session the store does not know
    /// ([`Refusal::UnknownSession`], in the same step), so the API need not ask the
    /// store first: one round trip less per dial for limits that share the store's
    /// data. The API then asks the authorizer before the session is checked.
    fn checks_session(&self) -> bool {
        false
    }
}

/// An admitted dial's slot; released when the dial is recorded or failed, and by a
/// task of its own if dropped unreleased.
pub(crate) struct DialSlot {
    limits: Arc<dyn DialLimits>,
    session: SessionId,
    ticket: Option<DialTicket>,
}

impl DialSlot {
    pub(crate) fn new(limits: Arc<dyn DialLimits>, session: SessionId, ticket: DialTicket) -> Self {
        Self {
            limits,
            session,
            ticket: Some(ticket),
        }
    }

    /// The slot's ticket (until released).
    pub(crate) fn ticket(&self) -> Option<&DialTicket> {
        self.ticket.as_ref()
    }

    /// Forgets the slot without a release: the store freed it already.
    pub(crate) fn disarm(mut self) {
        self.ticket = None;
    }

    /// Frees the slot.
    pub(crate) async fn release(mut self) {
        if let Some(t) = self.ticket.take()
            && let Err(e) = self.limits.release(&self.session, &t).await
        {
            // A shared limiter expires in-flight slots by itself.
            tracing::warn!(error = %e, "a dial slot could not be released");
        }
    }
}

impl Drop for DialSlot {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let limits = Arc::clone(&self.limits);
        let session = self.session.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = limits.release(&session, &ticket).await {
                    tracing::warn!(error = %e, "a dial slot could not be released");
                }
            });
        }
    }
}
