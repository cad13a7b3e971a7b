//! The sample page in real headless Chromium against the axum-demo binary.
//!
//! - Demo mode with its single built-in target: dial, state, DTMF, hang up, End SIP
//!   Calls, polling, a rate-limit error on the page, phone width
//!   (target/artifacts/axum-demo.png).
//! - Real mode: the real `OpenTokDialer` against the `FakePlatform`, with OpenTok.js
//!   unreachable: the video panels say so and the same SIP flow still works
//!   (target/artifacts/axum-demo-real-dialer.png).

use sipdial_demo_support::harness::{self, RunningDemo};
use sipdial_testing::{FakePlatform, TEST_API_KEY, TEST_API_SECRET};

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
    let platform = runtime
        .block_on(FakePlatform::start())
        .expect("start the fake platform");
    let api_url = platform.url();
    let demo = RunningDemo::start(
        BIN,
        &[
            ("OPENTOK_API_KEY", TEST_API_KEY),
            ("OPENTOK_API_SECRET", TEST_API_SECRET),
            ("OPENTOK_API_URL", &api_url),
            ("SIP_URI", "sip:desk@pbx.example.com"),
            ("SIP_LABEL", "Front desk"),
            ("OPENTOK_JS_URL", "/assets/no-such-opentok.js"),
        ],
    );
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
    drop(demo);
    runtime.block_on(platform.shutdown());
}
