//! Shared harness of sipdial's reliability tests and of the `soak` load driver: the
//! whole production path (the HTTP API of `sipdial-core` over the real
//! `OpenTokDialer`) against the `FakePlatform` with scripted faults, plus the probes that
//! count what could leak (runtime tasks, sockets, file descriptors, memory).
//!
//! The fake platform runs on a runtime of its own ([`PlatformHost`]) so that the task
//! count of the runtime under test holds only the application's tasks.

pub mod platform;
pub mod probe;
pub mod server;
pub mod stack;

pub use platform::PlatformHost;
pub use server::AppServer;
pub use stack::{Reply, Stack, StackConfig};
