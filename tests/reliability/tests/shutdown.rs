//! Graceful shutdown of a host (Axum, `with_graceful_shutdown`) while dials are in
//! flight: every dial is answered before the server exits, and every call the platform
//! placed is in the store — none lost, none unknown. Also when the request itself is
//! dropped midway (the client went away): the call is still recorded.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sipdial_core::CallId;
use sipdial_reliability_tests::{AppServer, PlatformHost, Stack, StackConfig, probe};
use sipdial_testing::{Fault, FaultRule};

fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let res = client.post(url).json(&body).send().await.expect("answered");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// SIP legs the platform holds in `session`.
fn platform_sip_legs(host: &PlatformHost, session: &str) -> Vec<String> {
    host.connections(session)
        .into_iter()
        .filter(|c| c.sip.is_some())
        .map(|c| c.connection_id)
        .collect()
}

fn dials_seen(host: &PlatformHost) -> usize {
    host.requests()
        .iter()
        .filter(|r| r.path.ends_with("/dial"))
        .count()
}

#[test]
fn in_flight_dials_are_answered_and_recorded_before_exit() {
    const DIALS: usize = 4;
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let stack = Stack::new(
            &host.url(),
            StackConfig {
                timeout: Duration::from_secs(5),
                ..StackConfig::default()
            },
        );
        let mut server = AppServer::start(stack.api.clone()).await.expect("server");
        let client = reqwest::Client::new();
        let base = server.url();
        let (status, session) = post(
            &client,
            format!("{base}/sip/session"),
            json!({"room": "shutdown"}),
        )
        .await;
        assert_eq!(status, 200);
        let sid = session["sessionId"].as_str().expect("sessionId").to_owned();

        // Every dial stalls at the platform for 800 ms: they are all in flight when the
        // shutdown starts.
        host.inject(
            FaultRule::new(Fault::Delay(Duration::from_millis(800)))
                .path_contains("/dial")
                .times(DIALS),
        );
        let dials: Vec<_> = (0..DIALS)
            .map(|_| {
                let client = client.clone();
                let url = format!("{base}/sip/dial");
                let body = json!({ "sessionId": sid });
                tokio::spawn(async move { post(&client, url, body).await })
            })
            .collect();
        assert!(
            probe::eventually(Duration::from_secs(3), || async {
                dials_seen(&host) == DIALS
            })
            .await,
            "the dials reached the platform"
        );
        let shutdown_at = Instant::now();
        server.begin_shutdown();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!server.is_finished(), "the server waits for its dials");

        // No new connection is accepted meanwhile.
        let late = reqwest::Client::new()
            .get(format!("{base}/sip/targets"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        assert!(late.is_err(), "a new connection was served: {late:?}");

        let mut ids = Vec::new();
        for d in dials {
            let (status, call) = d.await.expect("the dial task");
            assert_eq!(status, 201, "{call}");
            ids.push(call["id"].as_str().expect("call id").to_owned());
        }
        server.wait().await.expect("clean exit");
        assert!(shutdown_at.elapsed() >= Duration::from_millis(500));

        // After exit: every answered call is in the store, and the store and the
        // platform agree on the calls.
        let mut recorded = Vec::new();
        for id in &ids {
            let call = stack
                .api
                .store()
                .call(&CallId::new(id.as_str()).expect("an id"))
                .await
                .expect("store")
                .expect("the call is recorded");
            recorded.push(call.connection_id.as_str().to_owned());
        }
        let mut on_platform = platform_sip_legs(&host, &sid);
        recorded.sort();
        on_platform.sort();
        assert_eq!(recorded, on_platform);
    });
}

#[test]
fn a_stalled_platform_still_lets_the_host_exit_within_the_dialer_timeout() {
    // The platform never answers in time: the dial in flight is answered 504 within
    // the dialer's timeout, so a host whose grace period is at least that timeout
    // exits with every request answered and no call recorded.
    let host = PlatformHost::start().expect("fake platform");
    let timeout = Duration::from_millis(700);
    run(async {
        let stack = Stack::new(
            &host.url(),
            StackConfig {
                timeout,
                ..StackConfig::default()
            },
        );
        let mut server = AppServer::start(stack.api.clone()).await.expect("server");
        let client = reqwest::Client::new();
        let base = server.url();
        let (_, session) = post(
            &client,
            format!("{base}/sip/session"),
            json!({"room": "stalled"}),
        )
        .await;
        let sid = session["sessionId"].as_str().expect("sessionId").to_owned();
        host.inject(FaultRule::new(Fault::Delay(Duration::from_secs(30))).path_contains("/dial"));
        let dial = {
            let client = client.clone();
            let url = format!("{base}/sip/dial");
            tokio::spawn(async move { post(&client, url, json!({ "sessionId": sid })).await })
        };
        assert!(
            probe::eventually(Duration::from_secs(3), || async { dials_seen(&host) == 1 }).await
        );
        server.begin_shutdown();
        let grace = timeout + Duration::from_millis(500);
        let exited = tokio::time::timeout(grace, server.wait()).await;
        assert!(matches!(exited, Ok(Ok(()))), "{exited:?}");
        let (status, body) = dial.await.expect("the dial task");
        assert_eq!(status, 504, "{body}");
        assert_eq!(body["error"]["code"], "platform_timeout");
        let session = session["sessionId"].as_str().expect("sessionId");
        let calls = stack
            .api
            .store()
            .session_calls(
                &sipdial_core::SessionId::new(session).expect("a session id"),
                true,
            )
            .await
            .expect("store");
        assert!(calls.is_empty(), "{calls:?}");
        host.clear_faults();
    });
}

#[test]
fn a_dial_whose_client_went_away_is_still_recorded() {
    // The platform places the call, then its answer is slow to arrive; the browser gives
    // up and the server drops the request. The call is live and billed: it must be in
    // the store, where the API can list it, count it and hang it up.
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let stack = Stack::new(
            &host.url(),
            StackConfig {
                timeout: Duration::from_secs(5),
                ..StackConfig::default()
            },
        );
        let server = AppServer::start(stack.api.clone()).await.expect("server");
        let sid = stack.new_session("gone").await;
        host.inject(
            FaultRule::new(Fault::SlowBody(Duration::from_millis(600)))
                .path_contains("/dial")
                .once(),
        );
        let gave_up = reqwest::Client::new()
            .post(format!("{}/sip/dial", server.url()))
            .json(&json!({ "sessionId": sid }))
            .timeout(Duration::from_millis(200))
            .send()
            .await;
        assert!(gave_up.is_err(), "{gave_up:?}");
        let legs = platform_sip_legs(&host, &sid);
        assert_eq!(legs.len(), 1, "the platform placed the call");
        let recorded = probe::eventually(Duration::from_secs(3), || async {
            calls_in_store(&stack, &sid).await == legs
        })
        .await;
        assert!(recorded, "the placed call is not in the store");
        // And it can be hung up through the API.
        let calls = stack.list_calls(&sid, false).await;
        let id = calls.json["calls"][0]["id"].as_str().expect("call id");
        assert_eq!(stack.hang_up(id).await.status, 204);
        assert!(platform_sip_legs(&host, &sid).is_empty());
    });
}

async fn calls_in_store(stack: &Stack, sid: &str) -> Vec<String> {
    let reply = stack.list_calls(sid, true).await;
    reply.json["calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| c["connectionId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
