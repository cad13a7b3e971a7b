//! The end-to-end call lifecycle: a demo binary in real mode (the real `OpenTokDialer`)
//! against an in-process `FakePlatform` that POSTs the platform's signed callbacks to
//! the app's `/sip/callbacks` on a script, checked through the HTTP API and in the page.

use std::time::Duration;

use sipdial_testing::{
    CallProgress, CallScript, DeliveryOutcome, FakePlatform, TEST_API_KEY, TEST_API_SECRET,
};

use super::{RunningDemo, browser_tools, run_browser_flow, skip_browser_test};
use crate::CALLBACKS_PATH;

/// The signature secret the app and the fake platform share in these tests.
pub const CALLBACK_SECRET: &str = "e2e-callback-signature-secret-0123456789";

/// How long a callback may take to be delivered and applied.
const DELIVERY: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    // Multi-threaded: the fake keeps serving and sending while the test thread blocks
    // on the demo's HTTP answers or on the browser.
    tokio::runtime::Runtime::new().expect("a tokio runtime")
}

/// Starts `bin` in real mode against `platform` (target "Front desk", OpenTok.js
/// unreachable), verifying callbacks with [`CALLBACK_SECRET`], and points the
/// platform's callbacks at it.
pub fn start_real_mode(bin: &str, platform: &FakePlatform, extra: &[(&str, &str)]) -> RunningDemo {
    let api_url = platform.url();
    let mut envs = vec![
        ("OPENTOK_API_KEY", TEST_API_KEY),
        ("OPENTOK_API_SECRET", TEST_API_SECRET),
        ("OPENTOK_API_URL", api_url.as_str()),
        ("SIP_URI", "sip:desk@pbx.example.com"),
        ("SIP_LABEL", "Front desk"),
        ("SIPDIAL_CALLBACK_SECRET", CALLBACK_SECRET),
        // No video in these runs: OpenTok.js is unreachable on purpose.
        ("OPENTOK_JS_URL", "/assets/no-such-opentok.js"),
    ];
    envs.extend_from_slice(extra);
    let demo = RunningDemo::start(bin, &envs);
    platform.set_callback_url(Some(&format!("{}{CALLBACKS_PATH}", demo.url())));
    demo
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Places a call through the demo's API; returns its id.
fn dial(demo: &RunningDemo) -> String {
    let session = demo.request("POST", "/sip/session", Some(r#"{"room":"lifecycle"}"#));
    assert_eq!(session.status, 200, "{}", session.body);
    let body = serde_json::json!({ "sessionId": json(&session.body)["sessionId"] }).to_string();
    let call = demo.request("POST", "/sip/dial", Some(&body));
    assert_eq!(call.status, 201, "{}", call.body);
    json(&call.body)["id"]
        .as_str()
        .expect("a call id")
        .to_owned()
}

/// Polls `GET /sip/calls/{id}` until `done` holds for the call; panics after
/// [`DELIVERY`] with the last answer.
fn wait_call(demo: &RunningDemo, id: &str, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let deadline = std::time::Instant::now() + DELIVERY;
    loop {
        let reply = demo.get(&format!("/sip/calls/{id}"));
        let call = json(&reply.body);
        if reply.status == 200 && done(&call) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: the call is {call}\n--- demo stderr ---\n{}",
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Signed callbacks through the demo binary, without a browser: a delivery signed with
/// another secret, or not signed, is refused with 401 and changes nothing; a good one
/// moves the call; the far end's code and reason end it; duplicates change nothing more.
pub fn signed_callbacks(bin: &str) {
    let rt = runtime();
    let platform = rt
        .block_on(
            FakePlatform::builder()
                .callback_secret("not-the-secret-the-app-verifies-with")
                .start(),
        )
        .expect("start the fake platform");
    let demo = start_real_mode(bin, &platform, &[]);
    assert!(
        demo.wait_for_stderr("/sip/callbacks"),
        "the start-up log names the callback path:\n{}",
        demo.stderr()
    );

    let id = dial(&demo);
    assert!(rt.block_on(platform.wait_for_callbacks(DELIVERY, |c| c.len() >= 4)));
    assert!(
        platform
            .callbacks()
            .iter()
            .all(|c| c.outcome == DeliveryOutcome::Refused { status: 401 }),
        "a wrong signature is refused: {:?}",
        platform.callbacks()
    );
    platform.set_callback_secret(None);
    platform.clear_callbacks();
    assert!(platform.advance_call(&id, CallProgress::Ringing));
    assert!(rt.block_on(platform.wait_for_callbacks(DELIVERY, |c| !c.is_empty())));
    assert_eq!(
        platform.callbacks()[0].outcome,
        DeliveryOutcome::Refused { status: 401 },
        "an unsigned delivery is refused"
    );
    let still = json(&demo.get(&format!("/sip/calls/{id}")).body);
    assert_eq!(
        still["state"], "dialing",
        "refused deliveries change nothing"
    );

    // The right secret, every event twice: the call follows the platform.
    platform.set_callback_secret(Some(CALLBACK_SECRET));
    platform.set_callback_delivery(sipdial_testing::Delivery::new().duplicate(true));
    platform.clear_callbacks();
    assert!(platform.advance_call(&id, CallProgress::Answer));
    wait_call(&demo, &id, "answered", |c| c["state"] == "active");
    assert!(platform.advance_call(
        &id,
        CallProgress::HangUp {
            code: 486,
            message: "Busy Here".into()
        }
    ));
    wait_call(&demo, &id, "ended by the far end", |c| {
        c["state"] == "ended" && c["sipCode"] == 486
    });
    let call = json(&demo.get(&format!("/sip/calls/{id}")).body);
    assert_eq!(call["endReason"], "Busy Here", "{call}");
    assert!(
        rt.block_on(platform.wait_for_callbacks(DELIVERY, |c| {
            c.iter().filter(|r| r.event == "callDestroyed").count() == 2
        })),
        "both copies of callDestroyed delivered"
    );
    assert!(
        platform.callback_failures().is_empty(),
        "{:?}",
        platform.callback_failures()
    );
    assert!(
        platform
            .callbacks()
            .iter()
            .all(|c| c.signed && c.delivered())
    );
    for text in [demo.stderr(), demo.stdout()] {
        assert!(
            !text.contains(CALLBACK_SECRET),
            "the secret leaked:\n{text}"
        );
    }
    drop(demo);
    rt.block_on(platform.shutdown());
}

/// The page follows the platform's callbacks: call 1 rings, is answered, and the far
/// end hangs up (`700 Normal Clearing`); call 2 rings and is busy (`486 Busy Here`).
/// Deliveries are signed, duplicated and partly reordered, as an at-least-once platform
/// may. Screenshot: `target/artifacts/{name}.png`.
pub fn lifecycle_browser_test(bin: &str, name: &str) {
    lifecycle_browser_test_with(bin, name, &[], &[]);
}

/// [`lifecycle_browser_test`] with more variables for the app and arguments for the
/// page flow (e.g. `SIPDIAL_ACCESS_TOKEN` and `--access-token=`).
pub fn lifecycle_browser_test_with(bin: &str, name: &str, envs: &[(&str, &str)], args: &[&str]) {
    let tools = match browser_tools() {
        Ok(tools) => tools,
        Err(reason) => return skip_browser_test(name, &reason),
    };
    let rt = runtime();
    let ms = Duration::from_millis;
    let platform = rt
        .block_on(
            FakePlatform::builder()
                .callback_secret(CALLBACK_SECRET)
                .callback_delivery(
                    sipdial_testing::Delivery::new()
                        .duplicate(true)
                        .out_of_order(ms(150)),
                )
                // Every call without a one-off script: rings, then the far end is busy.
                .script_calls(CallScript::new(ms(1_500), ms(60_000)).hang_up_after(
                    ms(4_000),
                    486,
                    "Busy Here",
                ))
                .start(),
        )
        .expect("start the fake platform");
    // The first call: rings, is answered, the far end hangs up.
    platform.script_next_call(CallScript::new(ms(1_500), ms(3_500)).hang_up_after(
        ms(6_500),
        700,
        "Normal Clearing",
    ));
    let demo = start_real_mode(bin, &platform, envs);
    let mut flow = vec![
        "--video=unavailable",
        "--scenario=lifecycle",
        "--expect-end=Normal Clearing (SIP 700)",
        "--expect-busy=Busy Here (SIP 486)",
    ];
    flow.extend_from_slice(args);
    run_browser_flow(&tools, &demo, name, &flow);
    let records = platform.callbacks();
    assert!(
        platform.callback_failures().is_empty(),
        "every callback was accepted: {:?}",
        platform.callback_failures()
    );
    assert!(records.iter().all(|c| c.signed && c.delivered()));
    let states: Vec<String> = records.iter().filter_map(|c| c.call_state()).collect();
    for state in ["DIALING", "RINGING", "ACTIVE", "HANGUP"] {
        assert!(states.iter().any(|s| s == state), "{state} in {states:?}");
    }
    let codes: Vec<String> = records
        .iter()
        .filter(|c| c.event == "callDestroyed")
        .map(|c| c.json()["reason_code"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        codes.contains(&"700".into()) && codes.contains(&"486".into()),
        "{codes:?}"
    );
    assert!(
        platform.requests().iter().all(|r| r.method != "DELETE"),
        "the page never hung up: the far end did"
    );
    drop(demo);
    rt.block_on(platform.shutdown());
}
