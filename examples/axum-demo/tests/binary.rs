//! The axum-demo binary: demo-mode start-up line and banner, real-mode start-up,
//! malformed configuration, graceful shutdown, safe by default (its own Host only, the
//! access token, real mode refusing to start open, the page's Content-Security-Policy,
//! signed callbacks) and its connection bounds. The checks and their list live once in
//! `sipdial_demo_support::harness`.

sipdial_demo_support::binary_tests!(env!("CARGO_BIN_EXE_axum-demo"), "axum-demo");
