//! The sample page in real headless Chromium against the actix-demo binary in demo mode,
//! mounted below `SIPDIAL_MOUNT=/app/tenant` (page at /app/tenant/, API at
//! /app/tenant/sip/…, two levels as a host nests them), with extra targets from
//! SIP_TARGETS so the target picker is exercised: dial the picked
//! target, state, DTMF, hang up, End SIP Calls, live states (SSE, reconnect, fallback),
//! a rate-limit error on the page, phone width. Screenshot:
//! target/artifacts/actix-demo.png.
//!
//! End to end: real mode against a `FakePlatform` that sends signed callbacks to the
//! app on a script; the page shows ringing, active, and the far end's reason
//! (target/artifacts/actix-demo-lifecycle.png).
//!
//! Access token: real mode on `HOST=0.0.0.0` behind `SIPDIAL_ACCESS_TOKEN`: the page asks
//! for the token once, keeps it in its cookie and still places and follows calls
//! (target/artifacts/actix-demo-access-token.png).
//!
//! Policies: demo mode with `DEMO_POLICY_TARGETS`: a call the ring timeout ends and one
//! the maximum duration ends, each with its outcome (target/artifacts/actix-demo-policies.png).

const TARGETS: &str = r#"{
  "support": {"uri": "sip:support@pbx.example.com", "label": "Support desk"},
  "sales": {"uri": "sip:sales@pbx.example.com", "label": "Sales line", "secure": true}
}"#;

#[test]
fn the_page_works_in_chromium_with_a_target_picker() {
    sipdial_demo_support::harness::browser_test(
        env!("CARGO_BIN_EXE_actix-demo"),
        "actix-demo",
        &[("SIP_TARGETS", TARGETS), ("SIPDIAL_MOUNT", "/app/tenant")],
        &["--expect-targets=3", "--pick=Support desk"],
    );
}

#[test]
fn the_page_follows_the_platforms_callbacks() {
    sipdial_demo_support::harness::lifecycle_browser_test(
        env!("CARGO_BIN_EXE_actix-demo"),
        "actix-demo-lifecycle",
    );
}

#[test]
fn the_page_shows_a_ring_timeout_and_a_time_limit_with_their_outcomes() {
    sipdial_demo_support::harness::policies_browser_test(
        env!("CARGO_BIN_EXE_actix-demo"),
        "actix-demo-policies",
        false,
    );
}

#[test]
fn the_page_asks_for_the_access_token_in_real_mode_and_still_dials() {
    sipdial_demo_support::harness::safety::guarded_real_mode_browser_test(
        env!("CARGO_BIN_EXE_actix-demo"),
        "actix-demo-access-token",
    );
}
