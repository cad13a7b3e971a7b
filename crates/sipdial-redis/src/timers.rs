//! The call policies' timers of a fleet: one sorted set of `{kind}:{call id}` by
//! deadline, in milliseconds of the Redis server's clock (so replicas' clocks never
//! matter). Claiming is one script that moves each due timer to the end of its lease,
//! so exactly one replica gets it; a replica that dies before completing it leaves it
//! due again when the lease runs out, for any other replica's poller.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::CallId;
use sipdial_core::api::{CallTimers, DueTimer, StoreError, TimerKind, TimerOp};

use crate::conn::{Redis, script, script_with};

/// The schedule as a Lua function (`schedule_timers(id, first)`), for a script that sets
/// a call's timers along with other work (the store's dial script).
pub(crate) const SCHEDULE_LIB: &str = include_str!("lua/timers_lib.lua");

struct Scripts {
    schedule: Script,
    claim: Script,
    complete: Script,
}

/// The [`CallTimers`] of a fleet.
#[derive(Clone)]
pub struct RedisCallTimers {
    redis: Redis,
    scripts: Arc<Scripts>,
}

impl std::fmt::Debug for RedisCallTimers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCallTimers")
            .field("redis", &self.redis)
            .finish()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn member(call: &CallId, kind: TimerKind) -> String {
    format!("{}:{}", kind.as_str(), call.as_str())
}

/// `ops` as the arguments [`SCHEDULE_LIB`] reads: pairs of kind and milliseconds from
/// now (negative: disarm).
pub(crate) fn schedule_args(inv: &mut redis::ScriptInvocation<'_>, ops: &[TimerOp]) {
    for op in ops {
        match *op {
            TimerOp::Arm(kind, after) => inv.arg(kind.as_str()).arg(ms(after)),
            TimerOp::Disarm(kind) => inv.arg(kind.as_str()).arg(-1),
        };
    }
}

impl RedisCallTimers {
    pub(crate) fn new(redis: Redis) -> Self {
        Self {
            redis,
            scripts: Arc::new(Scripts {
                schedule: script_with(&[SCHEDULE_LIB, include_str!("lua/timers_schedule.lua")]),
                claim: script(include_str!("lua/timers_claim.lua")),
                complete: script(include_str!("lua/timers_complete.lua")),
            }),
        }
    }

    fn prefix(&self) -> &str {
        &self.redis.opts.prefix
    }
}

#[async_trait]
impl CallTimers for RedisCallTimers {
    async fn schedule(&self, call: &CallId, ops: &[TimerOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut inv = self.scripts.schedule.prepare_invoke();
        inv.arg(self.prefix()).arg(call.as_str());
        schedule_args(&mut inv, ops);
        let _: i64 = self.redis.run("schedule timers", &inv).await?;
        Ok(())
    }

    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<DueTimer>, StoreError> {
        let mut inv = self.scripts.claim.prepare_invoke();
        inv.arg(self.prefix()).arg(max).arg(ms(lease));
        let got: Vec<String> = self.redis.run("claim timers", &inv).await?;
        let mut got = got.into_iter();
        let lease = got
            .next()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or_else(|| StoreError::new("the timer claim answered no lease"))?;
        Ok(got
            .filter_map(|m| {
                // A member this version cannot read (another version's kind, a bad
                // id) stays held by its lease, never firing here.
                let (kind, id) = m.split_once(':')?;
                Some(DueTimer {
                    call: CallId::new(id).ok()?,
                    kind: TimerKind::parse(kind)?,
                    lease,
                })
            })
            .collect())
    }

    async fn complete(&self, timer: &DueTimer) -> Result<(), StoreError> {
        let mut inv = self.scripts.complete.prepare_invoke();
        inv.arg(self.prefix())
            .arg(member(&timer.call, timer.kind))
            .arg(timer.lease);
        let _: i64 = self.redis.run("complete timer", &inv).await?;
        Ok(())
    }
}
