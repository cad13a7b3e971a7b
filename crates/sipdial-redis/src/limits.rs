//! The dial limits of a fleet: one Lua script checks that the store knows the session,
//! then the session's live calls (the store's count), its dials in flight and its dials
//! in the last window, then the same of the client, the total and the target, and
//! counts the new dial everywhere, atomically and on the Redis server's clock, so N
//! replicas admit exactly what one would and their clocks do not matter (and a dial
//! costs one round trip here, not two). The store's scripts hand a dial's client,
//! target and total slots over to its call when they record it and free them when it
//! ends, in the same step; a slot whose end was lost lapses after the session
//! retention.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::SessionId;
use sipdial_core::api::{
    ACTIVE_LIMIT_RETRY_AFTER, DIAL_RATE_WINDOW, DialLimits, DialPolicy, DialScope, DialTicket,
    Limit, Quota, Refusal, StoreError,
};

use crate::conn::{Redis, script};

/// How long a dial may stay in flight before its slot frees itself (a replica that
/// died mid-dial cannot release it).
pub const IN_FLIGHT_TTL: Duration = Duration::from_secs(30);

/// The [`DialLimits`] of a fleet.
#[derive(Clone)]
pub struct RedisDialLimits {
    redis: Redis,
    admit: Arc<Script>,
    release: Arc<Script>,
    admit_session: Arc<Script>,
    /// This replica's tickets: unique per replica with `replica`, per dial with `next`.
    replica: String,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedisDialLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDialLimits").finish_non_exhaustive()
    }
}

impl RedisDialLimits {
    pub(crate) fn new(redis: Redis, replica: String) -> Self {
        Self {
            redis,
            admit: Arc::new(script(include_str!("lua/admit.lua"))),
            release: Arc::new(script(include_str!("lua/release_slot.lua"))),
            admit_session: Arc::new(script(include_str!("lua/admit_session.lua"))),
            replica,
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl DialLimits for RedisDialLimits {
    async fn admit(
        &self,
        session: &SessionId,
        _active: usize,
        policy: &DialPolicy,
        scope: &DialScope<'_>,
    ) -> Result<Result<DialTicket, Refusal>, StoreError> {
        let ticket = format!(
            "{}-{}",
            self.replica,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let mut inv = self.admit.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg(session.as_str())
            .arg(policy.max_active)
            .arg(policy.per_minute)
            .arg(ms(DIAL_RATE_WINDOW))
            .arg(ms(IN_FLIGHT_TTL))
            .arg(&ticket)
            .arg(scope.client)
            .arg(scope.target.map_or("", |(name, _)| name));
        let target = scope.target.map_or(Quota::UNLIMITED, |(_, q)| q);
        for q in [policy.client, policy.total, target] {
            inv.arg(q.max_active).arg(q.per_minute);
        }
        inv.arg(ms(self.redis.opts.session_retention + IN_FLIGHT_TTL));
        let (verdict, n): (i64, i64) = self.redis.run("admit", &inv).await?;
        let wait = Duration::from_millis(u64::try_from(n).unwrap_or(0));
        let over = |limit| Refusal::Over {
            limit,
            retry_after: wait,
        };
        let full = |limit| Refusal::Over {
            limit,
            retry_after: ACTIVE_LIMIT_RETRY_AFTER,
        };
        Ok(match verdict {
            0 => Ok(DialTicket(ticket)),
            3 => Err(Refusal::UnknownSession),
            1 => Err(Refusal::TooManyCalls {
                active: usize::try_from(n).unwrap_or(0),
            }),
            2 => Err(Refusal::RateLimited { retry_after: wait }),
            4 => Err(full(Limit::ClientCalls)),
            5 => Err(over(Limit::ClientDials)),
            6 => Err(full(Limit::TotalCalls)),
            7 => Err(over(Limit::TotalDials)),
            8 => Err(full(Limit::TargetCalls)),
            _ => Err(over(Limit::TargetDials)),
        })
    }

    async fn release(&self, session: &SessionId, ticket: &DialTicket) -> Result<(), StoreError> {
        let mut inv = self.release.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg(session.as_str())
            .arg(&ticket.0);
        let _: i64 = self.redis.run("release", &inv).await?;
        Ok(())
    }

    async fn admit_session(
        &self,
        client: &str,
        policy: &DialPolicy,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let mut inv = self.admit_session.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg(client)
            .arg(policy.client_sessions_per_minute)
            .arg(ms(DIAL_RATE_WINDOW));
        let (verdict, n): (i64, i64) = self.redis.run("admit session", &inv).await?;
        Ok(if verdict == 0 {
            Ok(())
        } else {
            Err(Refusal::Over {
                limit: Limit::ClientSessions,
                retry_after: Duration::from_millis(u64::try_from(n).unwrap_or(0)),
            })
        })
    }

    fn counts_active(&self) -> bool {
        true
    }

    fn checks_session(&self) -> bool {
        true
    }
}
