//! Which calls are retried and how: hang-up, force-mute and stream list after transient
//! failures, within one deadline, honouring `Retry-After`; dial, session creation and
//! DTMF never, whatever the failure (the platform sees exactly one request).

mod common;

use std::time::{Duration, Instant};

use common::{Kind, fake};
use reqwest::Method;
use sipdial_core::{
    ConnectionData, DialError, DialRequest, Dtmf, DtmfTarget, SessionId, SessionOptions, SipCall,
    SipDialer, SipUri, TokenOptions,
};
use sipdial_opentok::{OpenTokDialer, RetryPolicy};
use sipdial_testing::{FakePlatform, Fault, FaultRule};

fn status(status: u16, retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status,
        body: None,
        retry_after,
    }
}

/// How many requests with `method` and a path containing `path` the fake received.
fn seen(fake: &FakePlatform, method: &Method, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == *method && r.path.contains(path))
        .count()
}

async fn session_and_call(dialer: &OpenTokDialer) -> (SessionId, SipCall) {
    let sid = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap();
    let call = dialer.dial(dial_request(dialer, &sid)).await.unwrap();
    (sid, call)
}

fn dial_request(dialer: &OpenTokDialer, sid: &SessionId) -> DialRequest {
    let token = dialer
        .issue_token(
            sid,
            TokenOptions {
                data: Some(ConnectionData::new("sip=true").unwrap()),
                ..TokenOptions::default()
            },
        )
        .unwrap();
    DialRequest::new(
        sid.clone(),
        token,
        SipUri::new("sip:a@example.com").unwrap(),
    )
}

#[tokio::test]
async fn hang_up_is_retried_after_a_503_and_a_reset_then_succeeds() {
    let fake = fake().await;
    let dialer = Kind::Project.dialer(&fake);
    for faults in [
        vec![status(503, None)],
        vec![Fault::DropConnection],
        vec![status(502, None), Fault::DropConnection],
        vec![status(429, None)],
    ] {
        let (sid, call) = session_and_call(&dialer).await;
        fake.clear_requests();
        for f in &faults {
            fake.inject(FaultRule::new(f.clone()).method(Method::DELETE).once());
        }
        dialer.hang_up(&sid, &call.connection_id).await.unwrap();
        assert_eq!(
            seen(&fake, &Method::DELETE, "/connection/"),
            faults.len() + 1,
            "{faults:?}"
        );
        assert!(
            fake.connections(sid.as_str())
                .iter()
                .all(|c| c.connection_id != call.connection_id.as_str()),
            "the call is over on the platform"
        );
    }
}

#[tokio::test]
async fn force_mute_and_list_streams_are_retried() {
    let fake = fake().await;
    let dialer = Kind::Application.dialer(&fake);
    let (sid, call) = session_and_call(&dialer).await;
    fake.clear_requests();
    fake.inject(
        FaultRule::new(status(500, None))
            .path_contains("/mute")
            .once(),
    );
    dialer.force_mute(&sid, &call.stream_id).await.unwrap();
    assert_eq!(seen(&fake, &Method::POST, "/mute"), 2);

    fake.inject(
        FaultRule::new(Fault::DropConnection)
            .method(Method::GET)
            .once(),
    );
    let streams = dialer.list_streams(&sid).await.unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(seen(&fake, &Method::GET, "/stream"), 2);
}

#[tokio::test]
async fn dial_session_creation_and_dtmf_are_never_retried() {
    let fake = fake().await;
    let dialer = Kind::Project.dialer(&fake);
    let (sid, call) = session_and_call(&dialer).await;
    let digits = Dtmf::new("12#").unwrap();
    let target = DtmfTarget::Connection(sid.clone(), call.connection_id.clone());
    for fault in [
        status(500, None),
        status(503, None),
        status(429, None),
        status(429, Some(0)),
        Fault::DropConnection,
    ] {
        fake.clear_requests();
        fake.inject(FaultRule::new(fault.clone()).path_contains("/dial").once());
        let err = dialer.dial(dial_request(&dialer, &sid)).await.unwrap_err();
        assert!(err.is_transient(), "{fault:?} -> {err:?}");
        assert_eq!(seen(&fake, &Method::POST, "/dial"), 1, "{fault:?}");

        fake.inject(
            FaultRule::new(fault.clone())
                .path_contains("/session/create")
                .once(),
        );
        let err = dialer
            .create_session(SessionOptions::default())
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{fault:?} -> {err:?}");
        assert_eq!(seen(&fake, &Method::POST, "/session/create"), 1);

        fake.inject(
            FaultRule::new(fault.clone())
                .path_contains("/play-dtmf")
                .once(),
        );
        let err = dialer.play_dtmf(&target, &digits).await.unwrap_err();
        assert!(err.is_transient(), "{fault:?} -> {err:?}");
        assert_eq!(seen(&fake, &Method::POST, "/play-dtmf"), 1);
    }
    // Nothing was placed twice: one SIP leg, the one dialled before the faults.
    let sip_legs = fake
        .connections(sid.as_str())
        .iter()
        .filter(|c| c.sip.is_some())
        .count();
    assert_eq!(sip_legs, 1);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_its_cap() {
    let fake = fake().await;
    let dialer = Kind::Project
        .builder(&fake)
        .timeout(Duration::from_secs(3))
        .retry_policy(RetryPolicy::default().max_retry_after(Duration::from_secs(2)))
        .build()
        .unwrap();
    let (sid, call) = session_and_call(&dialer).await;

    fake.clear_requests();
    fake.inject(
        FaultRule::new(status(429, Some(1)))
            .method(Method::DELETE)
            .once(),
    );
    let started = Instant::now();
    dialer.hang_up(&sid, &call.connection_id).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(seen(&fake, &Method::DELETE, "/connection/"), 2);

    // Longer than the cap: no retry, the caller learns how long to wait.
    let (sid, call) = session_and_call(&dialer).await;
    fake.clear_requests();
    fake.inject(
        FaultRule::new(status(429, Some(30)))
            .method(Method::DELETE)
            .once(),
    );
    let started = Instant::now();
    let err = dialer.hang_up(&sid, &call.connection_id).await.unwrap_err();
    assert_eq!(
        err,
        DialError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(seen(&fake, &Method::DELETE, "/connection/"), 1);

    // A 503 with a Retry-After is honoured too.
    fake.clear_requests();
    fake.inject(
        FaultRule::new(status(503, Some(1)))
            .method(Method::DELETE)
            .once(),
    );
    let started = Instant::now();
    dialer.hang_up(&sid, &call.connection_id).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(seen(&fake, &Method::DELETE, "/connection/"), 2);
}

#[tokio::test]
async fn persistent_failures_end_after_the_attempts_within_the_deadline() {
    let fake = fake().await;
    let dialer = Kind::Project
        .builder(&fake)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (sid, call) = session_and_call(&dialer).await;

    fake.clear_requests();
    fake.inject(FaultRule::new(status(503, None)).method(Method::DELETE));
    let err = dialer.hang_up(&sid, &call.connection_id).await.unwrap_err();
    assert!(
        matches!(err, DialError::Upstream { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(seen(&fake, &Method::DELETE, "/connection/"), 3);
    fake.clear_faults();

    // A stalled platform: the first attempt uses the whole deadline (the request
    // timeout by default), so the caller waits no longer than without retries.
    fake.clear_requests();
    fake.inject(FaultRule::new(Fault::Delay(Duration::from_secs(2))).method(Method::DELETE));
    let started = Instant::now();
    let err = dialer.hang_up(&sid, &call.connection_id).await.unwrap_err();
    assert_eq!(err, DialError::Timeout);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(450), "{took:?}");
    assert_eq!(seen(&fake, &Method::DELETE, "/connection/"), 1);

    // With a longer total deadline, stalled attempts are retried, all within it.
    let patient = Kind::Project
        .builder(&fake)
        .timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::default().deadline(Duration::from_secs(1)))
        .build()
        .unwrap();
    fake.clear_requests();
    let started = Instant::now();
    let err = patient
        .hang_up(&sid, &call.connection_id)
        .await
        .unwrap_err();
    assert_eq!(err, DialError::Timeout);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1150), "{took:?}");
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(seen(&fake, &Method::DELETE, "/connection/") >= 2);
    fake.clear_faults();
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let fake = fake().await;
    let dialer = Kind::Project
        .builder(&fake)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let (sid, call) = session_and_call(&dialer).await;
    fake.clear_requests();
    fake.inject(
        FaultRule::new(status(503, None))
            .method(Method::DELETE)
            .once(),
    );
    let err = dialer.hang_up(&sid, &call.connection_id).await.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(seen(&fake, &Method::DELETE, "/connection/"), 1);
    assert!(format!("{dialer:?}").contains("max_attempts: 1"));
}
