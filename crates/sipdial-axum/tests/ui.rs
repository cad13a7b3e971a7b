//! Compile-time checks that the Axum forms fit the ways hosts compose apps.
//!
//! Only `pass` cases: they check that code compiles, not a compiler message, so unlike
//! the snapshot cases of `tests/ui` they hold on every toolchain and are not gated.

#[test]
fn ui() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
