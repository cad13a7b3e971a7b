//! Callback dedupe and parked early events, shared by the fleet: a delivery applied by
//! one replica is a duplicate at every other, and an event that reached replica B
//! before replica A recorded its dial is waiting when A records it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::api::{DeliveryDedupe, PARKED_CAPACITY, PARKED_TTL, ParkedEvents, StoreError};
use sipdial_core::{CallId, ConnectionId, PlatformEvent};

use crate::conn::{Redis, script};

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The [`DeliveryDedupe`] of a fleet: one key per delivery, expiring after the
/// backend's `dedupe_retention` (the platform retries within minutes).
#[derive(Debug, Clone)]
pub struct RedisDedupe {
    redis: Redis,
}

impl RedisDedupe {
    pub(crate) fn new(redis: Redis) -> Self {
        Self { redis }
    }
}

#[async_trait]
impl DeliveryDedupe for RedisDedupe {
    async fn first_delivery(&self, key: &str) -> Result<bool, StoreError> {
        let k = self.redis.key("dedupe", key);
        let ttl = ms(self.redis.opts.dedupe_retention);
        let set: Option<String> = self
            .redis
            .query(
                "dedupe",
                redis::cmd("SET")
                    .arg(&k)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        let k = self.redis.key("dedupe", key);
        let _: i64 = self
            .redis
            .query("forget", redis::cmd("DEL").arg(&k))
            .await?;
        Ok(())
    }
}

/// The [`ParkedEvents`] of a fleet: a list per call id (or per connection, for events
/// that name only the connection), each expiring [`PARKED_TTL`] after its last event.
#[derive(Clone)]
pub struct RedisParked {
    redis: Redis,
    script: Arc<Script>,
}

impl std::fmt::Debug for RedisParked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisParked").finish_non_exhaustive()
    }
}

/// The keys of the events parked for the call `id` and for its leg `connection`.
pub(crate) fn parked_keys(
    redis: &Redis,
    id: &CallId,
    connection: &ConnectionId,
) -> (String, String) {
    (
        redis.key("parked:call", id.as_str()),
        redis.key("parked:conn", connection.as_str()),
    )
}

impl RedisParked {
    pub(crate) fn new(redis: Redis) -> Self {
        Self {
            redis,
            script: Arc::new(script(include_str!("lua/parked.lua"))),
        }
    }
}

#[async_trait]
impl ParkedEvents for RedisParked {
    async fn park(&self, event: &PlatformEvent) -> Result<(), StoreError> {
        let Some(call) = event.call() else {
            return Ok(());
        };
        let key = match (&call.id, &call.connection_id) {
            (Some(id), _) => self.redis.key("parked:call", id.as_str()),
            (None, Some(conn)) => self.redis.key("parked:conn", conn.as_str()),
            (None, None) => return Ok(()),
        };
        let json = event.to_callback_json().to_string();
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("park")
            .arg(&key)
            .arg(json)
            .arg(ms(PARKED_TTL))
            .arg(PARKED_CAPACITY);
        let _: Vec<String> = self.redis.run("park", &inv).await?;
        Ok(())
    }

    async fn take(
        &self,
        id: &CallId,
        connection: &ConnectionId,
    ) -> Result<Vec<PlatformEvent>, StoreError> {
        let (by_call, by_conn) = parked_keys(&self.redis, id, connection);
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("take")
            .arg(by_call)
            .arg(by_conn);
        let got: Vec<String> = self.redis.run("take parked", &inv).await?;
        Ok(got
            .iter()
            .filter_map(|j| PlatformEvent::from_callback_json(j.as_bytes()).ok())
            .collect())
    }
}
