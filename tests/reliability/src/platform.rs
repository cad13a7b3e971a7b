//! [`PlatformHost`]: a `FakePlatform` on a dedicated Tokio runtime.
//!
//! Its connection tasks (some deliberately stalled by `Delay` and `SlowBody` faults)
//! then never show up in the task count of the runtime under test, and it keeps serving
//! while that runtime is being shut down.

use std::net::SocketAddr;
use std::ops::Deref;

use sipdial_testing::{FakePlatform, FakePlatformBuilder};
use tokio::runtime::{Builder, Runtime};

/// A running `FakePlatform` and the runtime it serves on; start and stop it from sync or
/// async code alike.
pub struct PlatformHost {
    platform: Option<FakePlatform>,
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for PlatformHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformHost")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

impl PlatformHost {
    /// A fake with the test credentials on an ephemeral loopback port.
    pub fn start() -> std::io::Result<Self> {
        Self::start_with(FakePlatform::builder())
    }

    /// A fake configured by `builder` (e.g. bound to a given address).
    pub fn start_with(builder: FakePlatformBuilder) -> std::io::Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-platform")
            .enable_all()
            .build()?;
        // On a thread of its own: this may be called from async code, where blocking
        // on another runtime is refused.
        let platform = std::thread::scope(|s| {
            s.spawn(|| runtime.block_on(builder.start()))
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the fake platform panicked")))
        })?;
        Ok(Self {
            platform: Some(platform),
            runtime: Some(runtime),
        })
    }

    /// A fake bound to `addr` (a platform "coming back" on the port a dialer uses).
    pub fn start_at(addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with(FakePlatform::builder().bind(addr))
    }

    /// Stops the fake and closes its port; usable from async code too (nothing blocks).
    pub fn stop(&mut self) {
        // Dropping the fake tells its accept loop to stop; shutting the runtime down
        // then closes the listener and every connection.
        drop(self.platform.take());
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Deref for PlatformHost {
    type Target = FakePlatform;

    fn deref(&self) -> &FakePlatform {
        self.platform
            .as_ref()
            .expect("the fake platform was stopped")
    }
}

impl Drop for PlatformHost {
    fn drop(&mut self) {
        self.stop();
    }
}
