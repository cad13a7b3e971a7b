//! What the Redis tests share: a real `redis-server` of their own (no Docker), the
//! backends over it, and replicas of a host app served by Axum or Actix.

#![allow(dead_code, unreachable_pub)]

pub mod fleet;
pub mod forms;
pub mod replica;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use sipdial_core::api::Backend;
use sipdial_core::testing::BackendFactory;
use sipdial_redis::{RedisBackend, RedisOptions};

pub use sipdial_testing::RedisServer;

/// Starts a server or returns from the test (skipped).
#[macro_export]
macro_rules! redis_or_skip {
    () => {
        match $crate::support::RedisServer::start() {
            Some(s) => s,
            None => return,
        }
    };
}

static NEXT_PREFIX: AtomicU64 = AtomicU64::new(0);

/// A prefix no other backend of this test process uses.
pub fn fresh_prefix() -> String {
    format!(
        "t{}-{}:",
        std::process::id(),
        NEXT_PREFIX.fetch_add(1, Ordering::Relaxed)
    )
}

/// A backend under `prefix`.
pub async fn backend(url: &str, prefix: &str) -> RedisBackend {
    RedisBackend::connect(url, RedisOptions::with_prefix(prefix))
        .await
        .expect("connect to the test redis-server")
}

/// A fresh backend (own prefix) per case, for the conformance suite.
pub fn factory(url: String) -> BackendFactory {
    Arc::new(move || {
        let url = url.clone();
        async move { Backend::from(backend(&url, &fresh_prefix()).await) }.boxed()
    })
}
