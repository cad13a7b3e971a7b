//! The sample page in real headless Chromium against the axum-demo binary in demo mode,
//! with its single built-in target: dial, state, DTMF, hang up, End SIP Calls, polling,
//! a rate-limit error on the page, phone width. Screenshot: target/artifacts/axum-demo.png.

#[test]
fn the_page_works_in_chromium() {
    sipdial_demo_support::harness::browser_test(
        env!("CARGO_BIN_EXE_axum-demo"),
        "axum-demo",
        &[],
        &[],
    );
}
