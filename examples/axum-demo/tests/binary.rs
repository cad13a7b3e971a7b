//! The axum-demo binary: demo-mode start-up line and banner, real-mode start-up,
//! malformed configuration and graceful shutdown. The checks and their list live once
//! in `sipdial_demo_support::harness::checks`.

sipdial_demo_support::binary_tests!(env!("CARGO_BIN_EXE_axum-demo"), "axum-demo");
