//! Dial limits: per session, per client, per target and for the whole fleet, each at
//! most N calls active at once and at most M dial attempts in any sliding minute, plus
//! the sessions one client may create a minute. All answer 429 with `Retry-After` and
//! a code naming the limit.
//!
//! Sessions are free to create, so per-session limits alone are dodged by opening
//! more rooms; the per-client and fleet-wide limits are what bound a caller's spend.
//!
//! Toll fraud is paid per minute of call, so the limits count attempts, not successes,
//! and a dial in flight holds a slot until it is recorded (or failed): two concurrent
//! requests cannot both take the last slot. [`DialLimits`] checks and counts in one
//! step; the in-memory default counts this process only, a shared one (Redis) the
//! whole fleet.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::error::StoreError;
use crate::call::CallRecord;
use crate::call::ticket::DialTicket;
use crate::{CallId, SessionId};

/// Default most calls active at once in one session.
pub const DEFAULT_MAX_ACTIVE_CALLS: usize = 3;
/// Default most dial attempts per session in a sliding minute.
pub const DEFAULT_DIALS_PER_MINUTE: u32 = 6;
/// The sliding window of the dial rate.
pub const DIAL_RATE_WINDOW: Duration = Duration::from_secs(60);
/// `Retry-After` when the active-call limit is hit: a slot frees only when a call
/// ends, which nobody can predict; this is a polling hint.
pub const ACTIVE_LIMIT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Default most calls active at once for one client (a principal, or an address).
pub const DEFAULT_CLIENT_MAX_ACTIVE_CALLS: usize = 5;
/// Default most dial attempts per client in a sliding minute.
pub const DEFAULT_CLIENT_DIALS_PER_MINUTE: u32 = 10;
/// Default most new sessions (rooms) one client may create in a sliding minute.
pub const DEFAULT_CLIENT_SESSIONS_PER_MINUTE: u32 = 10;
/// Default most calls active at once in the whole fleet (or process, in memory).
pub const DEFAULT_TOTAL_MAX_ACTIVE_CALLS: usize = 20;
/// Default most dial attempts in the whole fleet in a sliding minute.
pub const DEFAULT_TOTAL_DIALS_PER_MINUTE: u32 = 60;

/// Sessions tracked before idle ones are swept.
pub(crate) const SWEEP_THRESHOLD: usize = 1024;

/// A pair of limits on one scope: calls active (or being dialled) at once, and dial
/// attempts in [`DIAL_RATE_WINDOW`]. `usize::MAX`/`u32::MAX` mean unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Most calls active (or being dialled) at once.
    pub max_active: usize,
    /// Most dial attempts in [`DIAL_RATE_WINDOW`].
    pub per_minute: u32,
}

impl Quota {
    /// No limit.
    pub const UNLIMITED: Quota = Quota {
        max_active: usize::MAX,
        per_minute: u32::MAX,
    };
}

/// The configured limits of one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialPolicy {
    /// Most calls active (or being dialled) at once in one session.
    pub max_active: usize,
    /// Most dial attempts per session in [`DIAL_RATE_WINDOW`].
    pub per_minute: u32,
    /// Per client (see [`DialScope::client`]).
    pub client: Quota,
    /// Most new sessions one client may create in [`DIAL_RATE_WINDOW`].
    pub client_sessions_per_minute: u32,
    /// All dials together.
    pub total: Quota,
}

impl Default for DialPolicy {
    fn default() -> Self {
        Self {
            max_active: DEFAULT_MAX_ACTIVE_CALLS,
            per_minute: DEFAULT_DIALS_PER_MINUTE,
            client: Quota {
                max_active: DEFAULT_CLIENT_MAX_ACTIVE_CALLS,
                per_minute: DEFAULT_CLIENT_DIALS_PER_MINUTE,
            },
            client_sessions_per_minute: DEFAULT_CLIENT_SESSIONS_PER_MINUTE,
            total: Quota {
                max_active: DEFAULT_TOTAL_MAX_ACTIVE_CALLS,
                per_minute: DEFAULT_TOTAL_DIALS_PER_MINUTE,
            },
        }
    }
}

/// Who and what one dial counts against besides its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialScope<'a> {
    /// The client's key (a principal's subject or an address; see
    /// `policy::principal::ClientKey::to_key`): printable, at most a few hundred bytes.
    pub client: &'a str,
    /// The configured target dialled, if any, and its own limits.
    pub target: Option<(&'a str, Quota)>,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The client's calls active at once.
    ClientCalls,
    /// The client's dials per minute.
    ClientDials,
    /// The client's new sessions per minute.
    ClientSessions,
    /// The target's calls active at once.
    TargetCalls,
    /// The target's dials per minute.
    TargetDials,
    /// All calls active at once.
    TotalCalls,
    /// All dials per minute.
    TotalDials,
}

impl Limit {
    /// Whether it counts calls active at once (a slot frees only when a call ends).
    pub fn counts_calls(self) -> bool {
        matches!(
            self,
            Limit::ClientCalls | Limit::TargetCalls | Limit::TotalCalls
        )
    }
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
    /// A limit beyond the session's (client, target, total) is reached.
    Over {
        /// Which one.
        limit: Limit,
        /// When to retry: when the oldest dial leaves the window, or
        /// [`ACTIVE_LIMIT_RETRY_AFTER`] for calls active at once.
        retry_after: Duration,
    },
}

/// Checks and counts dials per session.
#[async_trait]
pub trait DialLimits: Send + Sync + 'static {
    /// Admits one dial into `session` under `policy`, counting it against every
    /// limit (the session's, the client's and target's of `scope`, the total) in one
    /// step, or refuses it. `active` is the store's count of the session's calls not
    /// ended; implementations that count them themselves ([`Self::counts_active`])
    /// ignore it.
    async fn admit(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
        scope: &DialScope<'_>,
    ) -> Result<Result<DialTicket, Refusal>, StoreError>;

    /// Frees the slots of an admitted dial that placed no call (its attempt stays
    /// counted): it failed, or its request was dropped.
    async fn release(&self, session: &SessionId, ticket: &DialTicket) -> Result<(), StoreError>;

    /// The dial of `ticket` was recorded as `call`: its in-flight slot frees and its
    /// client, target and total slots stay held by the call until [`Self::call_ended`]
    /// (at once if it is recorded ended). The default only releases, for limits whose
    /// store hands the slots over itself (it answers `slot_freed`).
    async fn recorded(
        &self,
        session: &SessionId,
        ticket: &DialTicket,
        call: &CallRecord,
    ) -> Result<(), StoreError> {
        let _ = call;
        self.release(session, ticket).await
    }

    /// `call` ended: its slots free. Called after every change to ended (it may come
    /// more than once). The default does nothing, for limits whose store frees them in
    /// the same step as it records the end.
    async fn call_ended(&self, call: &CallId) -> Result<(), StoreError> {
        let _ = call;
        Ok(())
    }

    /// Admits one new session for `client` under `policy`
    /// ([`DialPolicy::client_sessions_per_minute`]), counting it, or refuses it.
    async fn admit_session(
        &self,
        client: &str,
        policy: &DialPolicy,
    ) -> Result<Result<(), Refusal>, StoreError>;

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
