//! The sample page in real headless Chromium against the axum-demo binary.
//!
//! - Demo mode with its single built-in target: dial, state, DTMF, hang up, End SIP
//!   Calls, live states over SSE (progression, server close, fallback), a rate-limit
//!   error on the page, phone width (target/artifacts/axum-demo.png).
//! - Real mode: the real `OpenTokDialer` against the `FakePlatform` (which rings and
//!   answers every call through signed callbacks), with OpenTok.js unreachable: the
//!   video panels say so and the same SIP flow still works
//!   (target/artifacts/axum-demo-real-dialer.png).
//! - End to end: real mode against a `FakePlatform` that sends signed callbacks to the
//!   app on a script; the page shows ringing, active, and the far end's reason
//!   (target/artifacts/axum-demo-lifecycle.png).
//! - Access token: real mode on `HOST=0.0.0.0` behind `SIPDIAL_ACCESS_TOKEN`: the page
//!   asks for the token once, keeps it in its cookie and still places and follows calls
//!   (target/artifacts/axum-demo-access-token.png).
//! - Policies: demo mode with `DEMO_POLICY_TARGETS`: a call the ring timeout ends
//!   ("No answer") and one the maximum duration ends ("Hit the time limit"), muted
//!   first (target/artifacts/axum-demo-policies.png).

use sipdial_demo_support::harness;
use std::time::Duration;

use sipdial_testing::{CallScript, FakePlatform};

const BIN: &str = env!("CARGO_BIN_EXE_axum-demo");

#[test]
fn the_page_works_in_chromium() {
    harness::browser_test(BIN, "axum-demo", &[], &[]);
}

#[test]
fn the_page_dials_through_the_real_dialer_when_opentok_js_cannot_load() {
    let tools = match harness::browser_tools() {
        Ok(tools) => tools,
        Err(reason) => return harness::skip_browser_test("axum-demo-real-dialer", &reason),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // The platform rings and answers every call through signed callbacks, so the page
    // shows the same progression as in demo mode.
    let platform = runtime
        .block_on(
            FakePlatform::builder()
                .callback_secret(harness::CALLBACK_SECRET)
                .script_calls(CallScript::new(
                    Duration::from_millis(800),
                    Duration::from_millis(2_000),
                ))
                .start(),
        )
        .expect("start the fake platform");
    let demo = harness::start_real_mode(BIN, &platform, &[]);
    harness::run_browser_flow(
        &tools,
        &demo,
        "axum-demo-real-dialer",
        &["--video=unavailable"],
    );

    let requests = platform.requests();
    let dials = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/dial"))
        .count();
    let hangups = requests.iter().filter(|r| r.method == "DELETE").count();
    assert!(
        dials >= 4,
        "the page's dials reached the platform ({dials})"
    );
    assert!(hangups >= 3, "hang-ups reached the platform ({hangups})");
    assert!(
        platform.callback_failures().is_empty(),
        "every callback was accepted: {:?}",
        platform.callback_failures()
    );
    drop(demo);
    runtime.block_on(platform.shutdown());
}

#[test]
fn the_page_follows_the_platforms_callbacks() {
    harness::lifecycle_browser_test(BIN, "axum-demo-lifecycle");
}

#[test]
fn the_page_shows_a_ring_timeout_and_a_time_limit_with_their_outcomes() {
    harness::policies_browser_test(BIN, "axum-demo-policies", true);
}

#[test]
fn the_page_asks_for_the_access_token_in_real_mode_and_still_dials() {
    sipdial_demo_support::harness::safety::guarded_real_mode_browser_test(
        BIN,
        "axum-demo-access-token",
    );
}
