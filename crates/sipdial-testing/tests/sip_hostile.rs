//! Hostile input from the SIP side: garbage datagrams, responses for dialogs that do
//! not exist, a 200 without SDP, floods of 180s, requests outside any dialog. A raw UDP
//! socket plays the far end (or the attacker) with hand-made datagrams; after each case
//! the call it concerns must have ended or moved exactly as the table says, and the
//! gateway must still place and answer calls.

mod common;
mod sip;

use std::time::Duration;

use serde_json::json;
use sip::raw::{RawFarEnd, Received, SDP, contact, sdp_answer};
use sip::{dial, fake_with_sip, progress, wait_for};
use sipdial_testing::{FakePlatform, SipConfig};

const WITHIN: Duration = Duration::from_secs(5);

/// Datagrams that are not SIP, or broken SIP.
fn garbage() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"\r\n\r\n".to_vec(),
        vec![0xff; 1500],
        (0..=255u8).cycle().take(65_000).collect(),
        b"SIP/2.0 200 OK\r\n".to_vec(),
        b"SIP/2.0 999999999999 Huge\r\nContent-Length: -5\r\n\r\n".to_vec(),
        b"INVITE sip: SIP/2.0\r\nVia: \r\n\r\n".to_vec(),
        b"INVITE sip:x@y SIP/2.0\r\nContent-Length: 99999999\r\n\r\nshort".to_vec(),
        "BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n\u{0}\u{1}\r\n\r\n"
            .as_bytes()
            .to_vec(),
        b"OPTIONS sip:a@b SIP/2.0\r\n".repeat(500),
    ]
}

/// A response for a dialog the gateway never started.
fn stray_response(status: &str, call_id: &str) -> String {
    format!(
        "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnope{call_id}\r\n\
         From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// After a case: the gateway still answers OPTIONS and still places a call to a
/// well-behaved far end that answers.
async fn gateway_still_works(fake: &FakePlatform) {
    let gateway = fake.sip_addr().unwrap();
    let probe = RawFarEnd::bind().await;
    probe
        .send(
            gateway,
            "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKprobe1\r\n\
             From: <sip:p@q>;tag=9\r\nTo: <sip:x@y>\r\nCall-ID: probe-1\r\nCSeq: 1 OPTIONS\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                .replace("127.0.0.1:9", &probe.socket.local_addr().unwrap().to_string()),
        )
        .await;
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(WITHIN, probe.socket.recv_from(&mut buf))
        .await
        .expect("an answer to OPTIONS")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200"));

    let far = RawFarEnd::bind().await;
    let (_, _, call) = dial(fake, json!({"uri": far.uri()})).await;
    let (invite, from) = far.expect("INVITE").await;
    far.send(
        from,
        invite.response("200 OK", &format!("{}{SDP}", contact(&far)), sdp_answer()),
    )
    .await;
    wait_for(fake, &call, "ACTIVE", WITHIN).await;
}

#[tokio::test]
async fn garbage_and_stray_datagrams_change_nothing() {
    let fake = fake_with_sip(SipConfig::new()).await;
    let gateway = fake.sip_addr().unwrap();
    // An answered call that must come through untouched.
    let far = RawFarEnd::bind().await;
    let (_, _, call) = dial(&fake, json!({"uri": far.uri()})).await;
    let (invite, from) = far.expect("INVITE").await;
    far.send(
        from,
        invite.response("200 OK", &format!("{}{SDP}", contact(&far)), sdp_answer()),
    )
    .await;
    wait_for(&fake, &call, "ACTIVE", WITHIN).await;

    let attacker = RawFarEnd::bind().await;
    for datagram in garbage() {
        attacker.send(gateway, &datagram).await;
    }
    for (i, status) in ["180 Ringing", "200 OK", "486 Busy Here", "401 Unauthorized"]
        .iter()
        .enumerate()
    {
        attacker
            .send(gateway, stray_response(status, &format!("stray-{i}")))
            .await;
    }
    // A response that names the live call's Call-ID but another branch and tags.
    let live_call_id = invite.header("Call-ID");
    let live_call_id = live_call_id.split_once(':').unwrap().1.trim();
    attacker
        .send(
            gateway,
            stray_response("503 Service Unavailable", live_call_id),
        )
        .await;
    // A BYE outside any dialog.
    attacker
        .send(
            gateway,
            format!(
                "BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbye1\r\n\
                 From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: nope\r\nCSeq: 1 BYE\r\n\
                 Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                attacker.socket.local_addr().unwrap()
            ),
        )
        .await;
    let (answer, _) = attacker
        .socket
        .recv_from(&mut [0u8; 2048])
        .await
        .map_or((0, gateway), |x| x);
    assert!(answer > 0, "the stray BYE gets an answer (481)");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        progress(&fake, &call),
        ["DIALING", "ACTIVE"],
        "the live call is untouched"
    );
    gateway_still_works(&fake).await;
}

/// What the far end answers to the INVITE, and what the call's progress must be.
struct Case {
    name: &'static str,
    replies: fn(&Received, &RawFarEnd) -> Vec<String>,
    progress: &'static [&'static str],
    /// Whether the gateway must then send a BYE (it answered a 200 it will not keep).
    expect_bye: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a 200 without SDP is ACKed, BYEd and fails the call",
            replies: |inv, far| vec![inv.response("200 OK", &contact(far), "")],
            progress: &[
                "DIALING",
                "destroyed:488:Not Acceptable Here (the 200 OK carried no SDP answer)",
            ],
            expect_bye: true,
        },
        Case {
            name: "a 200 whose body is not SDP fails the same way",
            replies: |inv, far| {
                vec![inv.response("200 OK", &format!("{}{SDP}", contact(far)), "\u{0}garbage")]
            },
            progress: &[
                "DIALING",
                "destroyed:488:Not Acceptable Here (the 200 OK carried no SDP answer)",
            ],
            expect_bye: true,
        },
        Case {
            name: "a flood of 180s rings once, then the answer counts",
            replies: |inv, far| {
                let mut out = vec![inv.response("180 Ringing", "", ""); 500];
                out.push(inv.response("183 Session Progress", "", ""));
                out.push(inv.response("200 OK", &format!("{}{SDP}", contact(far)), sdp_answer()));
                out.extend(vec![inv.response("180 Ringing", "", ""); 50]);
                out
            },
            progress: &["DIALING", "RINGING", "ACTIVE"],
            expect_bye: false,
        },
        Case {
            name: "a final response with an odd code and reason is reported as sent",
            replies: |inv, _| vec![inv.response("699 Custom Refusal", "", "")],
            progress: &["DIALING", "destroyed:699:Custom Refusal"],
            expect_bye: false,
        },
        Case {
            name: "a 407 without a challenge header ends the call, no retry loop",
            replies: |inv, _| vec![inv.response("407 Proxy Authentication Required", "", "")],
            progress: &["DIALING", "destroyed:407:Proxy Authentication Required"],
            expect_bye: false,
        },
    ]
}

#[tokio::test]
async fn crafted_answers_move_the_call_as_the_table_says() {
    let fake = fake_with_sip(SipConfig::new()).await;
    for case in cases() {
        let far = RawFarEnd::bind().await;
        let (_, _, call) = dial(&fake, json!({"uri": far.uri()})).await;
        let (invite, from) = far.expect("INVITE").await;
        for reply in (case.replies)(&invite, &far) {
            far.send(from, reply).await;
        }
        let last = case.progress.last().unwrap();
        wait_for(&fake, &call, last, WITHIN).await;
        if case.expect_bye {
            let (bye, from) = far.expect("BYE").await;
            far.send(from, bye.response("200 OK", "", "")).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(progress(&fake, &call), case.progress, "{}", case.name);
    }
    gateway_still_works(&fake).await;
}

#[tokio::test]
async fn garbage_streams_on_the_tcp_listener_change_nothing() {
    use tokio::io::AsyncWriteExt as _;
    let fake = fake_with_sip(SipConfig::new()).await;
    let gateway = fake.sip_addr().unwrap();
    for datagram in garbage() {
        let Ok(mut stream) = tokio::net::TcpStream::connect(gateway).await else {
            continue;
        };
        let _ = stream.write_all(&datagram).await;
        let _ = stream.write_all(b"\r\n\r\n").await;
        let _ = stream.shutdown().await;
    }
    // A connection that is opened and left silent.
    let _idle = tokio::net::TcpStream::connect(gateway).await.unwrap();
    gateway_still_works(&fake).await;
}
