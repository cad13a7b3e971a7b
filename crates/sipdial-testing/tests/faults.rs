//! Scripted faults, each kind seen from a raw HTTP client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use sipdial_testing::{FakePlatform, Fault, FaultRule, TEST_API_KEY};

fn pauth() -> Auth {
    Auth::Project(project_jwt())
}

async fn create(c: &Client) -> reqwest::Response {
    c.form("/session/create", "p2p.preference=disabled", &pauth())
        .await
}

#[tokio::test]
async fn status_with_default_body_and_retry_after() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(
        FaultRule::new(Fault::Status {
            status: 429,
            body: None,
            retry_after: Some(7),
        })
        .method(Method::POST)
        .path_contains("/session/create")
        .once(),
    );
    let resp = create(&c).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"code": 429, "message": "Too Many Requests"})
    );
    assert!(
        fake.sessions().is_empty(),
        "a status fault touches no state"
    );
    // used up: the next one is served normally
    assert_eq!(create(&c).await.status(), 200);
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(429), Some(200)]);
}

#[tokio::test]
async fn status_with_custom_bodies() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(
        FaultRule::new(Fault::Status {
            status: 500,
            body: Some(r#"{"code":500,"message":"boom"}"#.into()),
            retry_after: None,
        })
        .once(),
    );
    fake.inject(
        FaultRule::new(Fault::Status {
            status: 502,
            body: Some("<html>bad gateway</html>".into()),
            retry_after: None,
        })
        .once(),
    );
    fake.inject(FaultRule::new(Fault::status(503)).once());
    let resp = create(&c).await;
    assert_eq!(resp.status(), 500);
    assert!(resp.headers().get("retry-after").is_none());
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"code":500,"message":"boom"}"#
    );
    let resp = create(&c).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.text().await.unwrap(), "<html>bad gateway</html>");
    expect_error(create(&c).await, 503).await;
    assert_eq!(create(&c).await.status(), 200);
}

#[tokio::test]
async fn rules_match_by_method_and_path_and_can_be_cleared() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(FaultRule::new(Fault::status(500)).method(Method::DELETE));
    fake.inject(
        FaultRule::new(Fault::status(504))
            .path_contains("/dial")
            .times(2),
    );
    assert_eq!(create(&c).await.status(), 200);
    let sid = fake.sessions()[0].session_id.clone();
    for _ in 0..2 {
        assert_eq!(
            c.dial(&sid, json!({"uri": "sip:a@b.example"}))
                .await
                .status(),
            504
        );
    }
    let v: Value = c
        .dial(&sid, json!({"uri": "sip:a@b.example"}))
        .await
        .json()
        .await
        .unwrap();
    let p = format!(
        "/v2/project/{TEST_API_KEY}/session/{sid}/connection/{}",
        v["connectionId"].as_str().unwrap()
    );
    for _ in 0..3 {
        assert_eq!(c.send(Method::DELETE, &p, &pauth()).await.status(), 500);
    }
    fake.clear_faults();
    assert_eq!(c.send(Method::DELETE, &p, &pauth()).await.status(), 204);
}

#[tokio::test]
async fn delay_then_normal_handling() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(FaultRule::new(Fault::Delay(Duration::from_millis(300))).once());
    let start = Instant::now();
    assert_eq!(create(&c).await.status(), 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.sessions().len(), 1);
    // a client timeout shorter than the delay fails
    fake.inject(FaultRule::new(Fault::Delay(Duration::from_secs(2))).once());
    let err = c
        .req(Method::POST, "/session/create", &pauth())
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn drop_connection_sends_no_response() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(
        FaultRule::new(Fault::DropConnection)
            .path_contains("/session/create")
            .once(),
    );
    let err = c
        .req(Method::POST, "/session/create", &pauth())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("p2p.preference=disabled")
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err}");
    assert!(fake.sessions().is_empty());
    assert_eq!(fake.requests()[0].status, None);
    // the fake keeps serving other connections
    assert_eq!(
        Client::new(&fake)
            .form("/session/create", "p2p.preference=disabled", &pauth())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(FaultRule::new(Fault::MalformedJson).once());
    let resp = create(&c).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let text = resp.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn slow_body_arrives_late_but_whole() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    fake.inject(FaultRule::new(Fault::SlowBody(Duration::from_millis(400))).once());
    let start = Instant::now();
    let resp = create(&c).await;
    assert_eq!(resp.status(), 200);
    let head_at = start.elapsed();
    let v: Value = resp.json().await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(400));
    assert!(
        head_at < Duration::from_millis(400),
        "the head is not delayed: {head_at:?}"
    );
    assert!(v[0]["session_id"].is_string());
    assert_eq!(
        fake.sessions().len(),
        1,
        "a slow body is a normal request, served slowly"
    );

    // with a whole-request timeout shorter than the pause, the body read fails
    fake.inject(FaultRule::new(Fault::SlowBody(Duration::from_secs(2))).once());
    let resp = c
        .req(Method::POST, "/session/create", &pauth())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("p2p.preference=disabled")
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap();
    assert!(resp.bytes().await.unwrap_err().is_timeout());
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let fake = FakePlatform::start().await.unwrap();
    let addr = fake.local_addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(fake.url(), format!("http://127.0.0.1:{}", addr.port()));
    fake.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
