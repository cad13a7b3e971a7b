//! Three replicas of one app (Axum, Actix, Axum) on one Redis and one `FakePlatform`.

use std::time::Duration;

use serde_json::{Value, json};
use sipdial_core::api::Backend;
use sipdial_testing::FakePlatform;

use super::replica::{Replica, api_with};
use super::{RedisServer, backend, fresh_prefix};
use sipdial_core::api::SipDialApiBuilder;

pub struct Fleet {
    pub platform: FakePlatform,
    pub replicas: Vec<Replica>,
    pub prefix: String,
}

impl Fleet {
    /// Replicas A (Axum), B (Actix) and C (Axum), sharing one key prefix.
    pub async fn start(redis: &RedisServer) -> Self {
        Self::start_with(redis, |b| b).await
    }

    /// [`Fleet::start`] with more configuration (the same on every replica).
    pub async fn start_with(
        redis: &RedisServer,
        configure: impl Fn(SipDialApiBuilder) -> SipDialApiBuilder,
    ) -> Self {
        let platform = FakePlatform::start()
            .await
            .expect("the fake platform starts");
        platform.clear_call_script();
        let prefix = fresh_prefix();
        let mut replicas = Vec::new();
        for name in ["A", "B", "C"] {
            let b = Backend::from(backend(&redis.url(), &prefix).await);
            let api = api_with(&platform.url(), b, &configure);
            replicas.push(if name == "B" {
                Replica::actix(name, api)
            } else {
                Replica::axum(name, api).await
            });
        }
        Self {
            platform,
            replicas,
            prefix,
        }
    }

    pub fn a(&self) -> &Replica {
        &self.replicas[0]
    }

    pub fn b(&self) -> &Replica {
        &self.replicas[1]
    }

    pub fn c(&self) -> &Replica {
        &self.replicas[2]
    }

    /// A session for `room` (created through A).
    pub async fn session(&self, room: &str) -> String {
        let res = self.a().post("/session", json!({ "room": room })).await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json().unwrap()["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned()
    }

    /// Dials into `session` through `replica` and returns the call.
    pub async fn dial(&self, replica: &Replica, session: &str) -> Value {
        let res = replica.post("/dial", json!({ "sessionId": session })).await;
        assert_eq!(res.status, 201, "dial on {}: {}", replica.name, res.text());
        res.json().unwrap()
    }
}

/// Polls `check` until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
