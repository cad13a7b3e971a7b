//! What the Redis tests share: a real `redis-server` of their own (no Docker), the
//! backends over it, and replicas of a host app served by Axum or Actix.

#![allow(dead_code, unreachable_pub)]

pub mod fleet;
pub mod forms;
pub mod replica;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use sipdial_core::api::Backend;
use sipdial_core::testing::BackendFactory;
use sipdial_redis::{RedisBackend, RedisOptions};

/// A `redis-server` on a free loopback port, stopped by PID when dropped (a panicking
/// test too), with no persistence.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts one; `None` (after a loud SKIPPED) when `redis-server` is not installed,
    /// which fails the test under `CI=true`.
    pub fn start() -> Option<Self> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is not installed: CI must run the Redis tests (apt-get install redis-server)"
            );
            eprintln!(
                "\n*** SKIPPED: redis-server is not installed; the Redis tests did not run ***\n"
            );
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("sipdial-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let mut server = Self {
            child: None,
            port,
            dir,
        };
        server.resume();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// (Re)starts the server on its port, empty, and waits until it answers.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (by its PID); its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
