//! Demo mode runs on real SIP (`crate::sip_demo`): after the page's flow, the app's own
//! log must show the bundled SIP endpoint receiving the INVITE, answering it, hearing
//! the page's DTMF as SIP INFO, and the call ending — proof that the page's progression
//! came from SIP messages, not from a timer.

use super::RunningDemo;

/// Whether `envs` leave the demo in demo mode (no platform credentials).
pub(super) fn is_demo_mode(envs: &[(&str, &str)]) -> bool {
    envs.iter()
        .all(|(k, _)| !k.starts_with("OPENTOK_API_") && !k.starts_with("VONAGE_APPLICATION"))
}

/// Asserts the endpoint's log lines for the page's flow (one answered call with DTMF 5
/// and #, hung up).
pub(super) fn assert_real_sip(demo: &RunningDemo) {
    for needle in [
        "SIP endpoint: incoming call",
        "SIP endpoint: ringing",
        "SIP endpoint: answered the call",
        "SIP endpoint: DTMF digit=5",
        "SIP endpoint: DTMF digit=#",
        "SIP endpoint: call ended",
        "SIP call answered",
    ] {
        assert!(
            demo.wait_for_stderr(needle),
            "demo mode runs on real SIP: the app's log lacks {needle:?}\n--- stderr ---\n{}",
            demo.stderr()
        );
    }
}
