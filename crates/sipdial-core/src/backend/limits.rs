//! Per-session dial limits: at most N calls active at once and at most M dial attempts
//! in any sliding minute. Both answer 429 with `Retry-After`.
//!
//! Toll fraud is paid per minute of call, so the limits count attempts, not successes,
//! and a dial in flight holds a slot until it is recorded (or failed): two concurrent
//! requests cannot both take the last slot. [`DialLimits`] checks and counts in one
//! step; the in-memory default counts this process only, a shared one (Redis) the
//! whole fleet.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
const SWEEP_THRESHOLD: usize = 1024;

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

#[derive(Debug, Default)]
struct SessionLimits {
    attempts: VecDeque<Instant>,
    in_flight: usize,
}

/// The default [`DialLimits`]: counters of this process.
#[derive(Debug, Default)]
pub struct InMemoryDialLimits {
    sessions: Mutex<HashMap<SessionId, SessionLimits>>,
}

impl InMemoryDialLimits {
    /// No dials counted.
    pub fn new() -> Self {
        Self::default()
    }

    fn admit_at(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
        now: Instant,
    ) -> Result<DialTicket, Refusal> {
        let mut map = crate::sync::lock(&self.sessions);
        if map.len() > SWEEP_THRESHOLD {
            map.retain(|_, s| {
                s.in_flight > 0
                    || s.attempts
                        .back()
                        .is_some_and(|t| now.saturating_duration_since(*t) < DIAL_RATE_WINDOW)
            });
        }
        let s = map.entry(session.clone()).or_default();
        while s
            .attempts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= DIAL_RATE_WINDOW)
        {
            s.attempts.pop_front();
        }
        if active + s.in_flight >= policy.max_active {
            return Err(Refusal::TooManyCalls {
                active: active + s.in_flight,
            });
        }
        if s.attempts.len() >= policy.per_minute as usize {
            let oldest = s.attempts.front().copied().unwrap_or(now);
            return Err(Refusal::RateLimited {
                retry_after: DIAL_RATE_WINDOW.saturating_sub(now.saturating_duration_since(oldest)),
            });
        }
        s.attempts.push_back(now);
        s.in_flight += 1;
        Ok(DialTicket(String::new()))
    }
}

#[async_trait]
impl DialLimits for InMemoryDialLimits {
    async fn admit(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
    ) -> Result<Result<DialTicket, Refusal>, StoreError> {
        Ok(self.admit_at(session, active, policy, Instant::now()))
    }

    async fn release(&self, session: &SessionId, _ticket: &DialTicket) -> Result<(), StoreError> {
        let mut map = crate::sync::lock(&self.sessions);
        if let Some(s) = map.get_mut(session) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn policy(max_active: usize, per_minute: u32) -> DialPolicy {
        DialPolicy {
            max_active,
            per_minute,
        }
    }

    #[test]
    fn rate_window_slides_and_says_when_to_retry() {
        let l = InMemoryDialLimits::new();
        let p = policy(100, 2);
        let s = SessionId::new("1_a").unwrap();
        let t0 = Instant::now();
        let t = |secs| t0 + Duration::from_secs(secs);
        for at in [0, 10] {
            l.admit_at(&s, 0, &p, t(at)).unwrap();
            l.release(&s, &DialTicket(String::new()))
                .now_or_never()
                .unwrap()
                .unwrap();
        }
        let e = l.admit_at(&s, 0, &p, t(20)).unwrap_err();
        assert_eq!(
            e,
            Refusal::RateLimited {
                retry_after: Duration::from_secs(40)
            }
        );
        let e = e.into_error(&p);
        assert_eq!(e.status().as_u16(), 429);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(40)));
        assert!(l.admit_at(&s, 0, &p, t(60)).is_ok());
        let other = SessionId::new("1_b").unwrap();
        assert!(l.admit_at(&other, 0, &p, t(20)).is_ok());
    }

    #[test]
    fn in_flight_dials_hold_active_slots() {
        let l = InMemoryDialLimits::new();
        let p = policy(2, 100);
        let s = SessionId::new("1_a").unwrap();
        let now = Instant::now();
        let t1 = l.admit_at(&s, 1, &p, now).unwrap();
        let e = l.admit_at(&s, 1, &p, now).unwrap_err().into_error(&p);
        assert_eq!(e.code(), "too_many_calls");
        assert_eq!(e.retry_after(), Some(ACTIVE_LIMIT_RETRY_AFTER));
        l.release(&s, &t1).now_or_never().unwrap().unwrap();
        assert!(l.admit_at(&s, 1, &p, now).is_ok());
    }
}
