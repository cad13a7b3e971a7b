//! The dials' idempotency keys, shared by the fleet: a retry reaching another replica
//! finds the first request's claim or answer. One string per key,
//! `{prefix}idem:{caller}|{key}`, holding `i|{token}|{fingerprint}` while the first
//! request runs (expiring with the claim) and `d|{fingerprint}|{answer JSON}` after
//! (expiring after the retention); every step is one Lua script.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::api::{
    IDEMPOTENCY_RETENTION, IdempotencyStore, KeyState, StoreError, StoredAnswer,
};

use crate::conn::{Redis, script};

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The [`IdempotencyStore`] of a fleet.
#[derive(Clone)]
pub struct RedisIdempotency {
    redis: Redis,
    script: Arc<Script>,
    /// This replica's id in the fleet: with the counter, a claim token no other
    /// replica can hold.
    replica: String,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedisIdempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisIdempotency")
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

impl RedisIdempotency {
    pub(crate) fn new(redis: Redis, replica: String) -> Self {
        Self {
            redis,
            script: Arc::new(script(include_str!("lua/idempotency.lua"))),
            replica,
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

fn in_flight_value(token: &str, fingerprint: &str) -> String {
    format!("i|{token}|{fingerprint}")
}

/// What a held value means for a request of `fingerprint`.
fn read_held(held: &str, fingerprint: &str) -> Result<KeyState, StoreError> {
    let garbled = || StoreError::new("redis idempotency: a key holds an unknown value");
    let (kind, rest) = held.split_once('|').ok_or_else(garbled)?;
    match kind {
        "i" => {
            let (_token, fp) = rest.split_once('|').ok_or_else(garbled)?;
            Ok(if fp == fingerprint {
                KeyState::InFlight
            } else {
                KeyState::Mismatch
            })
        }
        "d" => {
            let (fp, json) = rest.split_once('|').ok_or_else(garbled)?;
            if fp != fingerprint {
                return Ok(KeyState::Mismatch);
            }
            let answer: StoredAnswer = serde_json::from_str(json).map_err(|_| garbled())?;
            Ok(KeyState::Done(answer))
        }
        _ => Err(garbled()),
    }
}

#[async_trait]
impl IdempotencyStore for RedisIdempotency {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        in_flight: Duration,
    ) -> Result<KeyState, StoreError> {
        let token = format!(
            "{}.{}",
            self.replica,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("begin")
            .arg(key)
            .arg(in_flight_value(&token, fingerprint))
            .arg(ms(in_flight));
        let held: Option<String> = self.redis.run("idempotency begin", &inv).await?;
        match held {
            None => Ok(KeyState::Claimed { token }),
            Some(held) => read_held(&held, fingerprint),
        }
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        fingerprint: &str,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(answer)
            .map_err(|_| StoreError::new("redis idempotency: the answer could not be encoded"))?;
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("complete")
            .arg(key)
            .arg(in_flight_value(token, fingerprint))
            .arg(format!("d|{fingerprint}|{json}"))
            .arg(ms(IDEMPOTENCY_RETENTION));
        let _: i64 = self.redis.run("idempotency complete", &inv).await?;
        Ok(())
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), StoreError> {
        // The value names the fingerprint too; release knows only the token, so the
        // script compares the prefix the token fixes.
        let mut inv = self.script.prepare_invoke();
        inv.arg(&self.redis.opts.prefix)
            .arg("release")
            .arg(key)
            .arg(format!("i|{token}|"));
        let _: i64 = self.redis.run("idempotency release", &inv).await?;
        Ok(())
    }
}
