//! Every error status, timeout and transport failure, mapped to the right `DialError`.

mod common;

use std::time::{Duration, Instant};

use common::{KINDS, Kind, fake};
use reqwest::Method;
use sipdial_core::{
    ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, SessionId, SessionOptions, SipDialer,
    SipUri, StreamId, TokenOptions,
};
use sipdial_opentok::OpenTokDialer;
use sipdial_testing::{FakePlatform, Fault, FaultRule};

fn status_fault(status: u16, body: Option<&str>, retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status,
        body: body.map(str::to_owned),
        retry_after,
    }
}

/// Runs every operation once against `dialer`, returning each error (the fake has a
/// fault injected for all of them).
async fn all_operations(dialer: &OpenTokDialer, sid: &SessionId) -> Vec<(&'static str, DialError)> {
    let token = dialer.issue_token(sid, TokenOptions::default()).unwrap();
    let conn = ConnectionId::new("c1").unwrap();
    let stream = StreamId::new("s1").unwrap();
    let dtmf = Dtmf::new("1").unwrap();
    vec![
        (
            "create_session",
            dialer
                .create_session(SessionOptions::default())
                .await
                .unwrap_err(),
        ),
        (
            "dial",
            dialer
                .dial(DialRequest::new(
                    sid.clone(),
                    token,
                    SipUri::new("sip:a@example.com").unwrap(),
                ))
                .await
                .unwrap_err(),
        ),
        ("hang_up", dialer.hang_up(sid, &conn).await.unwrap_err()),
        (
            "play_dtmf",
            dialer
                .play_dtmf(&DtmfTarget::Session(sid.clone()), &dtmf)
                .await
                .unwrap_err(),
        ),
        (
            "force_mute",
            dialer.force_mute(sid, &stream).await.unwrap_err(),
        ),
        ("list_streams", dialer.list_streams(sid).await.unwrap_err()),
    ]
}

/// Whether the error an operation (named) returned is the expected one.
type Check = Box<dyn Fn(&str, &DialError) -> bool>;

async fn session_for(kind: Kind, fake: &FakePlatform) -> SessionId {
    kind.dialer(fake)
        .create_session(SessionOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn statuses_map_for_every_operation() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let sid = session_for(kind, &fake).await;
        let cases: Vec<(Fault, Check)> = vec![
            (
                status_fault(
                    400,
                    Some(r#"{"code":400,"message":"Invalid sessionId"}"#),
                    None,
                ),
                Box::new(|_, e| {
                    *e == DialError::InvalidInput {
                        field: None,
                        message: "Invalid sessionId".into(),
                    }
                }),
            ),
            (
                status_fault(400, None, None),
                Box::new(|_, e| matches!(e, DialError::InvalidInput { .. })),
            ),
            (
                status_fault(401, None, None),
                Box::new(|_, e| *e == DialError::RejectedCredentials),
            ),
            (
                status_fault(403, Some(r#"{"code":403,"message":"Invalid token"}"#), None),
                Box::new(|_, e| *e == DialError::RejectedCredentials),
            ),
            (
                status_fault(
                    404,
                    Some(r#"{"code":404,"message":"Session not found"}"#),
                    None,
                ),
                Box::new(|op, e| {
                    let what = match op {
                        "create_session" => "project",
                        "hang_up" => "connection",
                        "force_mute" => "stream",
                        _ => "session",
                    };
                    *e == DialError::not_found(what)
                }),
            ),
            (
                status_fault(409, Some(r#"{"code":409,"message":"Conflict here"}"#), None),
                Box::new(|op, e| match e {
                    DialError::Conflict { message } if op == "dial" => {
                        message.contains("not routed")
                    }
                    DialError::Conflict { message } => message == "Conflict here",
                    _ => false,
                }),
            ),
            (
                status_fault(429, None, Some(17)),
                Box::new(|_, e| {
                    *e == DialError::RateLimited {
                        retry_after: Some(Duration::from_secs(17)),
                    }
                }),
            ),
            (
                status_fault(429, Some("{}"), None),
                Box::new(|_, e| *e == DialError::RateLimited { retry_after: None }),
            ),
            (
                status_fault(
                    500,
                    Some(r#"{"code":15001,"message":"Media router unavailable"}"#),
                    None,
                ),
                Box::new(|_, e| {
                    *e == DialError::Upstream {
                        status: 500,
                        code: Some(15001),
                        message: Some("Media router unavailable".into()),
                    }
                }),
            ),
            (
                status_fault(503, Some(""), None),
                Box::new(|_, e| {
                    *e == DialError::Upstream {
                        status: 503,
                        code: None,
                        message: None,
                    }
                }),
            ),
            (
                status_fault(502, Some("<html>Bad Gateway</html>"), None),
                Box::new(|_, e| {
                    matches!(
                        e,
                        DialError::Upstream {
                            status: 502,
                            code: None,
                            message: None
                        }
                    )
                }),
            ),
            (
                status_fault(418, None, None),
                Box::new(|_, e| matches!(e, DialError::Upstream { status: 418, .. })),
            ),
        ];
        for (fault, check) in cases {
            fake.inject(FaultRule::new(fault.clone()));
            for (op, err) in all_operations(&dialer, &sid).await {
                assert!(check(op, &err), "{kind:?} {op} {fault:?} -> {err:?}");
            }
            fake.clear_faults();
        }
    }
}

#[tokio::test]
async fn long_platform_messages_are_truncated() {
    let fake = fake().await;
    let dialer = Kind::Project.dialer(&fake);
    let long = "m".repeat(5000);
    fake.inject(FaultRule::new(status_fault(
        500,
        Some(&format!(r#"{{"code":1,"message":"{long}"}}"#)),
        None,
    )));
    let err = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap_err();
    let DialError::Upstream {
        message: Some(m), ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(m.chars().count() <= 201, "{}", m.len());
}

#[tokio::test]
async fn a_slow_platform_times_out() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind
            .builder(&fake)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        fake.inject(FaultRule::new(Fault::Delay(Duration::from_secs(3))).once());
        let started = Instant::now();
        let err = dialer
            .create_session(SessionOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err, DialError::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        // A body that stalls halfway also times out: the timeout covers the answer.
        fake.inject(
            FaultRule::new(Fault::SlowBody(Duration::from_secs(3)))
                .method(Method::POST)
                .once(),
        );
        let started = Instant::now();
        let err = dialer
            .create_session(SessionOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err, DialError::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(err.is_transient());
    }
}

#[tokio::test]
async fn the_request_timeout_applies_to_a_shared_client_too() {
    let fake = fake().await;
    let dialer = Kind::Project
        .builder(&fake)
        .client(reqwest::Client::new())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    fake.inject(FaultRule::new(Fault::Delay(Duration::from_secs(3))).once());
    let started = Instant::now();
    assert_eq!(
        dialer
            .create_session(SessionOptions::default())
            .await
            .unwrap_err(),
        DialError::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    let fake = fake().await;
    let dialer = Kind::Project.dialer(&fake);
    fake.inject(FaultRule::new(Fault::DropConnection).once());
    let err = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Transport { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_unreachable_platform_is_a_transport_error_without_the_url() {
    // Bind, note the port, close it: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let dialer = OpenTokDialer::builder(Kind::Project.credentials())
        .base_url(format!("http://{addr}/secret-path-marker"))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap_err();
    let DialError::Transport { message } = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.starts_with("could not connect to the platform"),
        "{message}"
    );
    assert!(!message.contains("secret-path-marker"), "{message}");
    assert!(!message.contains(&addr.port().to_string()), "{message}");
}

#[tokio::test]
async fn malformed_answers_are_upstream_errors() {
    let fake = fake().await;
    let dialer = Kind::Project.dialer(&fake);
    let sid = session_for(Kind::Project, &fake).await;
    fake.inject(FaultRule::new(Fault::MalformedJson));
    let err = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DialError::Upstream { status: 200, .. }),
        "{err:?}"
    );
    let token = dialer.issue_token(&sid, TokenOptions::default()).unwrap();
    let err = dialer
        .dial(DialRequest::new(
            sid.clone(),
            token,
            SipUri::new("sip:a@example.com").unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DialError::Upstream { status: 200, message: Some(m), .. } if m.contains("may have been placed")),
        "{err:?}"
    );
    let err = dialer.list_streams(&sid).await.unwrap_err();
    assert!(
        matches!(err, DialError::Upstream { status: 200, .. }),
        "{err:?}"
    );
}
