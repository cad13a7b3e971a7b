//! No secret in any response or log line: the SIP password of a target, the API
//! secret, and every token except the one `/token` hands to its caller.
#![cfg(feature = "fake")]

mod http_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use http::Method;
use http_support::*;
use serde_json::json;
use sipdial_core::DialError;
use sipdial_core::fake::{Operation, Script};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn all_text(res: &Res) -> String {
    let mut s = format!("{:?}\n", res.headers);
    s.push_str(&String::from_utf8_lossy(&res.body));
    s
}

#[tokio::test]
async fn secrets_reach_neither_responses_nor_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let f = fixture_with(|b| b.dials_per_minute(100).max_active_calls_per_session(10));
    let mut responses: Vec<(String, Res)> = Vec::new();
    let mut go =
        async |label: &str, method: Method, path: &str, body: Option<serde_json::Value>| {
            let res = f.send(method, path, body).await;
            let json = res.json_or_null();
            responses.push((label.to_owned(), res));
            json
        };

    let session = go(
        "session",
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "r" })),
    )
    .await;
    let sid = session["sessionId"].as_str().unwrap().to_owned();
    let token = go(
        "token",
        Method::POST,
        "/sip/token",
        Some(json!({ "sessionId": sid })),
    )
    .await;
    let handed_out = token["token"].as_str().unwrap().to_owned();
    go("targets", Method::GET, "/sip/targets", None).await;
    let call = go(
        "dial",
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": sid, "headers": { "X-Ref": "1" } })),
    )
    .await;
    let id = call["id"].as_str().unwrap().to_owned();
    go(
        "custom",
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": sid, "uri": "sip:+15550001@gw.example.com" })),
    )
    .await;
    go(
        "list",
        Method::GET,
        &format!("/sip/calls?sessionId={sid}&all=true"),
        None,
    )
    .await;
    go("get", Method::GET, &format!("/sip/calls/{id}"), None).await;
    go(
        "dtmf",
        Method::POST,
        &format!("/sip/calls/{id}/dtmf"),
        Some(json!({ "digits": "1" })),
    )
    .await;
    for e in [
        DialError::RejectedCredentials,
        DialError::Config {
            message: "missing private key".into(),
        },
        DialError::Timeout,
        DialError::invalid("token", "bad token"),
    ] {
        f.fake.script_once(Operation::Dial, Script::Fail(e));
        go(
            "dial-error",
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid })),
        )
        .await;
    }
    go(
        "moderator",
        Method::POST,
        "/sip/token",
        Some(json!({ "sessionId": sid, "role": "moderator" })),
    )
    .await;
    go(
        "bad",
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": sid, "headers": { "Via": SIP_PASSWORD } })),
    )
    .await;
    go("hangup", Method::DELETE, &format!("/sip/calls/{id}"), None).await;

    assert!(f.fake.count(Operation::Dial) >= 6);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request answered"),
        "logs were captured: {logs}"
    );
    assert!(
        logs.contains("route=/dial") || logs.contains("route=\"/dial\""),
        "{logs}"
    );
    assert!(logs.contains("call_id="), "{logs}");

    for (label, res) in &responses {
        let text = all_text(res);
        assert!(!text.contains(SIP_PASSWORD), "{label}: {text}");
        assert!(!text.contains(API_SECRET), "{label}: {text}");
        // Every JWT starts with its header, `{"alg":...` in base64url.
        let jwts = text.matches("eyJhbGci").count();
        if label == "token" {
            assert_eq!(jwts, 1, "{label}: only the token handed out: {text}");
        } else {
            assert_eq!(jwts, 0, "{label}: {text}");
        }
    }
    assert!(!logs.contains(SIP_PASSWORD), "{logs}");
    assert!(!logs.contains(API_SECRET), "{logs}");
    assert!(!logs.contains("eyJhbGci"), "no token in logs: {logs}");
    assert!(!logs.contains(&handed_out));

    let debug = format!("{:?} {:?}", f.api, builder(&f.fake));
    assert!(
        !debug.contains(SIP_PASSWORD) && !debug.contains(API_SECRET),
        "{debug}"
    );
}

trait JsonOrNull {
    fn json_or_null(&self) -> serde_json::Value;
}

impl JsonOrNull for Res {
    fn json_or_null(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}
