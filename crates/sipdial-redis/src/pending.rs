//! Digits at answer in Redis: one key per call with the digits, expiring after
//! [`PENDING_DTMF_TTL`]. `GETDEL` takes them atomically, so of the replicas that might
//! apply a call's answer exactly one plays them.

use async_trait::async_trait;
use sipdial_core::api::{PENDING_DTMF_TTL, PendingDtmf, StoreError};
use sipdial_core::{CallId, Dtmf};

use crate::conn::Redis;

/// The [`PendingDtmf`] of a fleet.
#[derive(Debug, Clone)]
pub struct RedisPendingDtmf {
    redis: Redis,
}

impl RedisPendingDtmf {
    pub(crate) fn new(redis: Redis) -> Self {
        Self { redis }
    }
}

#[async_trait]
impl PendingDtmf for RedisPendingDtmf {
    async fn put(&self, call: &CallId, digits: &Dtmf) -> Result<(), StoreError> {
        let key = self.redis.key("dtmf", call.as_str());
        let ttl = u64::try_from(PENDING_DTMF_TTL.as_millis()).unwrap_or(u64::MAX);
        let _: Option<String> = self
            .redis
            .query(
                "keep digits",
                redis::cmd("SET")
                    .arg(&key)
                    .arg(digits.as_str())
                    .arg("PX")
                    .arg(ttl),
            )
            .await?;
        Ok(())
    }

    async fn take(&self, call: &CallId) -> Result<Option<Dtmf>, StoreError> {
        let key = self.redis.key("dtmf", call.as_str());
        let got: Option<String> = self
            .redis
            .query("take digits", redis::cmd("GETDEL").arg(&key))
            .await?;
        // Only this crate writes the key; anything unreadable is dropped, not played.
        Ok(got.and_then(|d| Dtmf::new(d).ok()))
    }
}
