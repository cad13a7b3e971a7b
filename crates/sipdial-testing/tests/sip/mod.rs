//! Helpers for the SIP tests: a fake platform with SIP on, dialing over REST, and the
//! call's progress as the callbacks tell it.
#![allow(dead_code, unreachable_pub)]

pub mod raw;

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use sipdial_testing::{FakePlatform, MediaMode, SipConfig, TEST_API_KEY};

use crate::common::{Auth, Client, project_jwt};

/// Logs to the test output with `RUST_LOG` (e.g. `RUST_LOG=rsipstack=debug`).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub async fn fake_with_sip(config: SipConfig) -> FakePlatform {
    init_logs();
    FakePlatform::builder().sip(config).start().await.unwrap()
}

/// Dials `sip` into a new routed session: (session, connection id, call id).
pub async fn dial(fake: &FakePlatform, sip: Value) -> (String, String, String) {
    let session = fake.create_session(MediaMode::Routed);
    let resp = Client::new(fake).dial(&session, sip).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    (
        session,
        v["connectionId"].as_str().unwrap().to_owned(),
        v["id"].as_str().unwrap().to_owned(),
    )
}

pub async fn hang_up(fake: &FakePlatform, session: &str, connection: &str) -> u16 {
    Client::new(fake)
        .send(
            Method::DELETE,
            &format!("/v2/project/{TEST_API_KEY}/session/{session}/connection/{connection}"),
            &Auth::Project(project_jwt()),
        )
        .await
        .status()
        .as_u16()
}

pub async fn play_dtmf(fake: &FakePlatform, session: &str, connection: &str, digits: &str) -> u16 {
    Client::new(fake)
        .json(
            Method::POST,
            &format!(
                "/v2/project/{TEST_API_KEY}/session/{session}/connection/{connection}/play-dtmf"
            ),
            &serde_json::json!({ "digits": digits }),
            &Auth::Project(project_jwt()),
        )
        .await
        .status()
        .as_u16()
}

/// The call's progress from its callbacks: `DIALING`, `RINGING`, `ACTIVE`, `ON_HOLD`,
/// `HANGUP`, `destroyed:CODE:MESSAGE`.
pub fn progress(fake: &FakePlatform, call_id: &str) -> Vec<String> {
    fake.callbacks()
        .iter()
        .filter(|r| r.call_id.as_deref() == Some(call_id) && r.copy == 1 && r.attempt == 1)
        .filter_map(|r| {
            let v = r.json();
            match r.event.as_str() {
                "callUpdated" => v["state"].as_str().map(str::to_owned),
                "callDestroyed" => Some(format!(
                    "destroyed:{}:{}",
                    v["reason_code"].as_str().unwrap_or(""),
                    v["reason_message"].as_str().unwrap_or("")
                )),
                _ => None,
            }
        })
        .collect()
}

/// Waits until the call's progress has `step`; panics with the progress otherwise.
pub async fn wait_for(fake: &FakePlatform, call_id: &str, step: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let p = progress(fake, call_id);
        if p.iter().any(|s| s.starts_with(step)) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("no {step:?} within {within:?}; progress: {p:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
