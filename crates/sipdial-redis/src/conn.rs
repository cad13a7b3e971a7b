//! One shared connection to Redis (a `ConnectionManager`: multiplexed, reconnecting by
//! itself), the key layout, and the bounded wait every command runs under.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Script, ScriptInvocation};
use sipdial_core::api::StoreError;

use crate::RedisOptions;

/// A connection with the backend's options.
#[derive(Clone)]
pub(crate) struct Redis {
    conn: ConnectionManager,
    pub(crate) opts: RedisOptions,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.opts.prefix)
            .finish_non_exhaustive()
    }
}

/// The reconnecting connection's settings: each attempt and each answer bounded by
/// the command timeout, a few quick retries, then the next command tries again.
pub(crate) fn manager_config(
    response_timeout: Option<Duration>,
    opts: &RedisOptions,
) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(opts.command_timeout))
        .set_response_timeout(response_timeout)
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// A redis error as a store error (no URL, so no password, ever reaches it).
pub(crate) fn store_err(op: &str, e: &redis::RedisError) -> StoreError {
    StoreError::new(format!(
        "redis {op}: {:?}: {}",
        e.kind(),
        e.detail().unwrap_or("")
    ))
}

impl Redis {
    pub(crate) fn new(conn: ConnectionManager, opts: RedisOptions) -> Self {
        Self { conn, opts }
    }

    /// `{prefix}{kind}:{id}`.
    pub(crate) fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.opts.prefix)
    }

    async fn bounded<T, F>(&self, op: &str, fut: F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.opts.command_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(store_err(op, &e)),
            Err(_) => Err(StoreError::new(format!(
                "redis {op}: no answer within {:?}",
                self.opts.command_timeout
            ))),
        }
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        op: &str,
        cmd: &Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.bounded(op, async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// Runs one script (loaded on first use).
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        op: &str,
        call: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.bounded(op, async move { call.invoke_async(&mut conn).await })
            .await
    }
}

/// A script with the shared Lua helpers in front.
pub(crate) fn script(body: &str) -> Script {
    script_with(&[body])
}

/// A script of `parts` (function libraries, then the body), the shared helpers in front.
pub(crate) fn script_with(parts: &[&str]) -> Script {
    let mut text = include_str!("lua/common.lua").to_owned();
    for part in parts {
        text.push('\n');
        text.push_str(part);
    }
    Script::new(&text)
}
