//! Configuring webhooks: typed errors for a short secret, a bad URL or no transport;
//! a target's own webhook; and neither the secret nor a signature in any log line
//! or `Debug` output.

#[path = "webhooks/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sipdial_core::SipDialApi;
use sipdial_core::api::webhooks::{StatusWebhook, WebhookConfigError};
use sipdial_core::api::{ApiConfigError, SipTarget};
use sipdial_core::fake::FakeDialer;
use sipdial_opentok::webhooks::ReqwestTransport;
use support::*;

fn builder() -> sipdial_core::SipDialApiBuilder {
    SipDialApi::builder(Arc::new(FakeDialer::new()))
        .anonymous()
        .target(SipTarget::parse("desk", "sip:desk@pbx.example.com"))
        .webhook_transport(Arc::new(ReqwestTransport::new().unwrap()))
}

#[test]
fn bad_webhooks_are_typed_configuration_errors() {
    let short = builder()
        .status_webhook(StatusWebhook::new(
            "https://hooks.example/sip",
            "fifteen-chars-x",
        ))
        .build()
        .unwrap_err();
    assert_eq!(
        short,
        ApiConfigError::Webhook(WebhookConfigError::Secret("default".to_owned()))
    );
    assert!(!short.to_string().contains("fifteen"), "{short}");
    let target = SipDialApi::builder(Arc::new(FakeDialer::new()))
        .anonymous()
        .target(
            SipTarget::parse("desk", "sip:desk@pbx.example.com")
                .status_webhook(StatusWebhook::new("https://hooks.example/sip", "short")),
        )
        .webhook_transport(Arc::new(ReqwestTransport::new().unwrap()))
        .build()
        .unwrap_err();
    assert_eq!(
        target,
        ApiConfigError::Webhook(WebhookConfigError::Secret("desk".to_owned()))
    );
    let url = builder()
        .status_webhook(StatusWebhook::new("ftp://hooks.example/sip", SECRET))
        .build()
        .unwrap_err();
    assert!(
        matches!(url, ApiConfigError::Webhook(WebhookConfigError::Url { ref owner, .. }) if owner == "default"),
        "{url:?}"
    );
    let no_transport = SipDialApi::builder(Arc::new(FakeDialer::new()))
        .anonymous()
        .status_webhook(StatusWebhook::new("https://hooks.example/sip", SECRET))
        .build()
        .unwrap_err();
    assert_eq!(
        no_transport,
        ApiConfigError::Webhook(WebhookConfigError::NoTransport)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targets_own_webhook_replaces_the_global_one_for_its_calls() {
    let global = Receiver::start().await;
    let own = Receiver::start().await;
    let own_secret = "the-desk-targets-own-secret";
    let api = SipDialApi::builder(Arc::new(FakeDialer::new()))
        .anonymous()
        .target(
            SipTarget::parse("desk", "sip:desk@pbx.example.com")
                .status_webhook(StatusWebhook::new(own.url(), own_secret)),
        )
        .target(SipTarget::parse("sales", "sip:sales@pbx.example.com"))
        .default_target("desk")
        .status_webhook(StatusWebhook::new(global.url(), SECRET))
        .webhook_transport(Arc::new(ReqwestTransport::new().unwrap()))
        .build()
        .unwrap();
    let s = session(&api, "targets").await;
    let desk = dial(&api, &s).await;
    let (status, sales) = send(
        &api,
        http::Method::POST,
        "/sip/dial",
        Some(serde_json::json!({ "sessionId": s, "target": "sales" })),
    )
    .await;
    assert_eq!(status, 201, "{sales}");
    own.wait_for(Duration::from_secs(5), |r| !r.is_empty())
        .await;
    global
        .wait_for(Duration::from_secs(5), |r| !r.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let own_got = own.received();
    let global_got = global.received();
    assert_eq!(own_got.len(), 1);
    assert_eq!(global_got.len(), 1);
    assert_eq!(own_got[0].json()["callId"], desk["id"]);
    assert_eq!(global_got[0].json()["callId"], sales["id"]);
    verify_independently(&own_got[0], own_secret).unwrap();
    verify_independently(&global_got[0], SECRET).unwrap();
    assert!(verify_independently(&own_got[0], SECRET).is_err());
}

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

/// One thread (the default test runtime), so the subscriber sees the dispatcher too.
#[tokio::test]
async fn neither_the_secret_nor_a_signature_reaches_logs_or_debug() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let rx = Receiver::start().await;
    rx.reply(&[Reply::Status(500), Reply::Status(200), Reply::Status(400)]);
    rx.otherwise(Reply::Status(503));
    let api = api(&rx, Duration::from_millis(300), quick_retry(2), None);
    let s = session(&api, "quiet").await;
    let call = dial(&api, &s).await;
    callback(&api, &s, &call, "RINGING").await;
    callback(&api, &s, &call, "ACTIVE").await;
    rx.wait_for(Duration::from_secs(10), |r| r.len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("webhook"), "the failures are logged: {logs}");
    let mut shown = logs.clone();
    shown.push_str(&format!("{api:?}"));
    shown.push_str(&format!("{:?}", StatusWebhook::new(rx.url(), SECRET)));
    assert!(!shown.contains(SECRET), "the secret leaked");
    for r in rx.received() {
        let auth = r.headers["authorization"].to_str().unwrap();
        let token = auth.trim_start_matches("Bearer ");
        let signature = token.rsplit('.').next().unwrap();
        assert!(!shown.contains(signature), "a signature leaked");
    }
    assert!(!shown.contains("/hooks/sip"), "the URL's path leaked");
}
