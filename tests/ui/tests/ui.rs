//! Runs the trybuild cases under `cases/`.
//!
//! rustc's diagnostics change wording between releases, so the `.stderr` snapshots only
//! mean something on the toolchain they were recorded with (1.95, pinned by
//! `rust-toolchain.toml`). On any other toolchain the real test is compiled out and an
//! `#[ignore]`d placeholder takes its place, so `cargo test` reports "1 ignored" instead
//! of failing on a reworded message, or, worse, passing silently. After a toolchain bump:
//! update the version below, run `TRYBUILD=overwrite cargo test -p sipdial-ui-tests`,
//! and review every changed snapshot (each must still fail for the reason in its name).

#[rustversion::stable(1.95)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("cases/pass/*.rs");
    t.compile_fail("cases/fail/*.rs");
}

#[rustversion::not(stable(1.95))]
#[test]
#[ignore = "trybuild snapshots are recorded with Rust 1.95; see the comment at the top of tests/ui.rs"]
fn ui() {}
