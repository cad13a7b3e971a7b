//! Compile-time checks of sipdial's public API, run with trybuild from `tests/ui.rs`.
//!
//! `cases/pass` must compile (e.g. `Arc<dyn SipDialer>`); every file in `cases/fail`
//! must fail to compile with the diagnostic in its `.stderr` snapshot: a dialer that is
//! not `Send + Sync`, printing or serialising a secret, and an exhaustive `match` on
//! the `#[non_exhaustive]` `DialError`.
//!
//! `tests/msrv.rs` checks that the workspace `rust-version`, the `rust-toolchain.toml`
//! channel CI builds with, the compiler that built the tests and the README's MSRV line
//! all name the same Rust release.
