//! The dial limits of a fleet: one Lua script checks that the store knows the session,
//! then the session's live calls (the store's count), its dials in flight and its dials
//! in the last window, and counts the new dial, atomically and on the Redis server's
//! clock, so N replicas admit exactly what one would and their clocks do not matter
//! (and a dial costs one round trip here, not two).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::SessionId;
use sipdial_core::api::{
    DIAL_RATE_WINDOW, DialLimits, DialPolicy, DialTicket, Refusal, StoreError,
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
            .arg(&ticket);
        let (verdict, n): (i64, i64) = self.redis.run("admit", &inv).await?;
        Ok(match verdict {
            0 => Ok(DialTicket(ticket)),
            3 => Err(Refusal::UnknownSession),
            1 => Err(Refusal::TooManyCalls {
                active: usize::try_from(n).unwrap_or(0),
            }),
            _ => Err(Refusal::RateLimited {
                retry_after: Duration::from_millis(u64::try_from(n).unwrap_or(0)),
            }),
        })
    }

    async fn release(&self, session: &SessionId, ticket: &DialTicket) -> Result<(), StoreError> {
        let key = self.redis.key("inflight", session.as_str());
        let _: i64 = self
            .redis
            .query("release", redis::cmd("ZREM").arg(&key).arg(&ticket.0))
            .await?;
        Ok(())
    }

    fn counts_active(&self) -> bool {
        true
    }

    fn checks_session(&self) -> bool {
        true
    }
}
