//! The reconcile lease of sessions, shared by the fleet: one replica at a time lists a
//! session's connections for its reconcile checks. One string per leased session,
//! `{prefix}reconcile-lease:{session}` holding the replica's id, expiring with the
//! lease (so a replica that dies holding one frees it by itself).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::SessionId;
use sipdial_core::api::{SessionLease, StoreError};

use crate::conn::{Redis, script};

/// The [`SessionLease`] of a fleet.
#[derive(Clone)]
pub struct RedisSessionLease {
    redis: Redis,
    script: Arc<Script>,
    replica: String,
}

impl std::fmt::Debug for RedisSessionLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionLease")
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

impl RedisSessionLease {
    pub(crate) fn new(redis: Redis, replica: String) -> Self {
        Self {
            redis,
            script: Arc::new(script(include_str!("lua/session_lease.lua"))),
            replica,
        }
    }
}

#[async_trait]
impl SessionLease for RedisSessionLease {
    async fn try_lease(&self, session: &SessionId, ttl: Duration) -> Result<bool, StoreError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("take")
            .arg(session.as_str())
            .arg(&self.replica)
            .arg(ms);
        let got: i64 = self.redis.run("reconcile lease", &inv).await?;
        Ok(got == 1)
    }

    async fn release(&self, session: &SessionId) -> Result<(), StoreError> {
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("release")
            .arg(session.as_str())
            .arg(&self.replica);
        let _: i64 = self.redis.run("reconcile lease release", &inv).await?;
        Ok(())
    }
}
