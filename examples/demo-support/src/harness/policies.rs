//! The call policies in the browser: demo mode on real SIP with
//! [`crate::DEMO_POLICY_TARGETS`], one call the ring timeout ends and one the maximum
//! duration ends, each with its outcome on the page.

use super::{RunningDemo, browser_tools, run_browser_flow, skip_browser_test};

/// Runs `--scenario=policies` of the page flow against `bin` in demo mode; `mute` also
/// mutes the answered call from its button first.
pub fn policies_browser_test(bin: &str, name: &str, mute: bool) {
    let tools = match browser_tools() {
        Ok(tools) => tools,
        Err(reason) => return skip_browser_test(name, &reason),
    };
    let demo = RunningDemo::start(bin, &[("SIP_TARGETS", crate::DEMO_POLICY_TARGETS)]);
    let ring = format!("--ring-timeout={}", crate::DEMO_RING_TIMEOUT_LABEL);
    let limit = format!("--time-limit={}", crate::DEMO_TIME_LIMIT_LABEL);
    let mut args = vec!["--scenario=policies", "--expect-targets=3", &ring, &limit];
    if mute {
        args.push("--mute");
    }
    run_browser_flow(&tools, &demo, name, &args);
    // The far end really rang without answering, and sipdial's hang-up reached it.
    for needle in [
        "SIP endpoint: incoming call user=noanswer",
        "SIP endpoint: ringing",
        "SIP endpoint: answered the call",
        "SIP endpoint: call ended",
    ] {
        assert!(
            demo.wait_for_stderr(needle),
            "the app's log lacks {needle:?}\n--- stderr ---\n{}",
            demo.stderr()
        );
    }
}
