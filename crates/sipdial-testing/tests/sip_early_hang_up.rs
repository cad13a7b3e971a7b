//! A hang-up whose CANCEL never reaches the far end: through a route (the demo's, a
//! PBX's), rsipstack sends the CANCEL to the Request-URI's host rather than to the
//! route the INVITE took, and gives up. The far end then answers; rsipstack ACKs that
//! 2xx and sends the BYE itself. The gateway's call must end there and let go of its
//! RTP port. Its own test binary: it counts the process's sockets.

mod common;
mod sip;

use std::time::Duration;

use serde_json::json;
use sip::{dial, fake_with_sip};
use sipdial_testing::SipConfig;
use sipdial_testing::sip::endpoint::{EndpointConfig, EndpointEvent, SipEndpoint};

fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|p| p.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Demo mode held one UDP socket and one task per call hung up before it was answered,
/// for good: found by `bench/attack.sh`, whose legitimate client hangs up at once.
#[tokio::test]
async fn a_call_whose_cancel_is_lost_ends_at_the_answer_and_lets_go_of_its_port() {
    let phone = SipEndpoint::start(EndpointConfig::timing(
        Duration::from_millis(50),
        Duration::from_millis(150),
    ))
    .await
    .unwrap();
    let fake = fake_with_sip(SipConfig::new().route(phone.local_addr())).await;
    let before = sockets();
    for _ in 0..3 {
        let (session, connection, _call) = dial(&fake, json!({"uri": "sip:eve@pbx.invalid"})).await;
        assert!(fake.end_connection(&session, &connection));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sockets() > before
        || phone
            .events()
            .iter()
            .filter(|e| **e == EndpointEvent::Ended)
            .count()
            < 3
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} sockets held after 3 calls hung up at once (from {before}); the phone saw {:?}",
            sockets(),
            phone.events()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
