//! Digest algorithms beyond SIPp's MD5: a SHA-256 challenge (RFC 7616 spelling
//! `SHA-256`) is answered with a correct SHA-256 digest, and a challenge with an
//! algorithm the gateway cannot compute ends the call with an error naming it.

mod common;
mod sip;

use std::time::Duration;

use serde_json::json;
use sip::raw::{RawFarEnd, SDP, contact, sdp_answer};
use sip::{dial, fake_with_sip, progress, wait_for};
use sipdial_testing::SipConfig;

const WITHIN: Duration = Duration::from_secs(5);

fn sha256_hex(s: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of `name` in a digest header's parameter list.
fn param(header: &str, name: &str) -> String {
    let rest = header.split_once("Digest").map_or(header, |(_, r)| r);
    rest.split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_sha256_challenge_is_answered_with_a_sha256_digest() {
    for (status, challenge_header, answer_header) in [
        ("401 Unauthorized", "WWW-Authenticate", "Authorization"),
        (
            "407 Proxy Authentication Required",
            "Proxy-Authenticate",
            "Proxy-Authorization",
        ),
    ] {
        let fake = fake_with_sip(SipConfig::new()).await;
        let far = RawFarEnd::bind().await;
        let (_, _, call) = dial(
            &fake,
            json!({"uri": far.uri(), "auth": {"username": "shauser", "password": "pa55"}}),
        )
        .await;
        let (invite, from) = far.expect("INVITE").await;
        let challenge = format!(
            "{challenge_header}: Digest realm=\"sipdial.test\", nonce=\"n0nce\", algorithm=SHA-256, qop=\"auth\"\r\n"
        );
        far.send(from, invite.response(status, &challenge, ""))
            .await;
        let (retry, from) = far.expect("INVITE").await;
        let auth = retry.header(answer_header);
        assert!(!auth.is_empty(), "{}", retry.text);
        assert!(
            !retry.text.contains("pa55"),
            "the password never goes on the wire"
        );
        assert_eq!(param(&auth, "algorithm"), "SHA-256", "{auth}");
        assert_eq!(param(&auth, "username"), "shauser");
        let ha1 = sha256_hex("shauser:sipdial.test:pa55");
        let ha2 = sha256_hex(&format!("INVITE:{}", param(&auth, "uri")));
        let expected = sha256_hex(&format!(
            "{ha1}:n0nce:{}:{}:auth:{ha2}",
            param(&auth, "nc"),
            param(&auth, "cnonce")
        ));
        assert_eq!(param(&auth, "response"), expected, "{auth}");
        far.send(
            from,
            retry.response("200 OK", &format!("{}{SDP}", contact(&far)), sdp_answer()),
        )
        .await;
        wait_for(&fake, &call, "ACTIVE", WITHIN).await;
    }
}

#[tokio::test]
async fn an_unknown_digest_algorithm_fails_the_call_naming_it() {
    let fake = fake_with_sip(SipConfig::new()).await;
    let far = RawFarEnd::bind().await;
    let (_, _, call) = dial(
        &fake,
        json!({"uri": far.uri(), "auth": {"username": "u", "password": "p"}}),
    )
    .await;
    let (invite, from) = far.expect("INVITE").await;
    let challenge = "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256, qop=\"auth\"\r\n";
    far.send(from, invite.response("401 Unauthorized", challenge, ""))
        .await;
    wait_for(&fake, &call, "destroyed", WITHIN).await;
    assert_eq!(
        progress(&fake, &call),
        [
            "DIALING",
            "destroyed:401:digest algorithm SHA-512-256 is not supported by the SIP gateway emulation"
        ]
    );
}

#[tokio::test]
async fn a_challenge_without_credentials_is_the_final_answer() {
    let fake = fake_with_sip(SipConfig::new()).await;
    let far = RawFarEnd::bind().await;
    let (_, _, call) = dial(&fake, json!({"uri": far.uri()})).await;
    let (invite, from) = far.expect("INVITE").await;
    let challenge = "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=MD5\r\n";
    far.send(from, invite.response("401 Unauthorized", challenge, ""))
        .await;
    wait_for(&fake, &call, "destroyed", WITHIN).await;
    assert_eq!(
        progress(&fake, &call),
        ["DIALING", "destroyed:401:Unauthorized"]
    );
}
