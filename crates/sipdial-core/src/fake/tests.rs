use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::{
    ConnectionData, LayoutClasses, Role, SipAuth, SipFrom, SipHeaders, SipUri, TokenExpiry,
};

const OTHER_SECRET: &str = "another-secret-another-secret-another-secret";

fn uri() -> SipUri {
    SipUri::new("sip:alice@sip.example.com;transport=tls").unwrap()
}

async fn session(f: &FakeDialer) -> SessionId {
    f.create_session(SessionOptions::default()).await.unwrap()
}

fn dial_request(f: &FakeDialer, sid: &SessionId) -> DialRequest {
    let token = f.issue_token(sid, TokenOptions::default()).unwrap();
    DialRequest::new(sid.clone(), token, uri())
}

async fn call(f: &FakeDialer) -> SipCall {
    let sid = session(f).await;
    f.dial(dial_request(f, &sid)).await.unwrap()
}

fn decode_claims(token: &ClientToken, secret: &str) -> ClientTokenClaims {
    ensure_crypto_provider();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.leeway = 0;
    jsonwebtoken::decode::<ClientTokenClaims>(
        token.expose_secret(),
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .unwrap()
    .claims
}

#[tokio::test]
async fn sessions_are_in_platform_format_for_the_configured_key() {
    let f = FakeDialer::builder().api_key("45328772").build();
    let opts = SessionOptions {
        location: Some("12.34.56.78".parse().unwrap()),
        ..SessionOptions::default()
    };
    let a = f.create_session(opts).await.unwrap();
    let b = f.create_session(SessionOptions::default()).await.unwrap();
    assert_ne!(a, b, "every session id is new");
    let parts = session_format::decode(&a).unwrap();
    assert_eq!(parts.api_key, "45328772");
    assert_eq!(parts.location, "12.34.56.78");
    assert!(parts.create_time.parse::<u64>().is_ok());
    assert_eq!(session_format::decode(&b).unwrap().location, "");
    assert_eq!(f.platform().api_key, "45328772");
}

#[tokio::test]
async fn default_dialer_uses_test_project() {
    let f = FakeDialer::new();
    assert_eq!(f.platform().api_key, "123456");
    let sid = session(&f).await;
    assert_eq!(session_format::decode(&sid).unwrap().api_key, "123456");
}

#[tokio::test]
async fn tokens_are_real_hs256_jwts_with_the_requested_grants() {
    let f = FakeDialer::builder().api_secret(OTHER_SECRET).build();
    let sid = session(&f).await;
    let expiry = TokenExpiry::after(Duration::from_secs(3600)).unwrap();
    let token = f
        .issue_token(
            &sid,
            TokenOptions {
                role: Role::Moderator,
                data: Some(ConnectionData::new("sip=true").unwrap()),
                expiry: Some(expiry),
                layout_classes: LayoutClasses::new(vec!["full".into(), "focus".into()]).unwrap(),
            },
        )
        .unwrap();
    assert_eq!(token.expires_at(), expiry.unix_secs());
    let claims = decode_claims(&token, OTHER_SECRET);
    assert_eq!(claims.iss, "123456");
    assert_eq!(claims.session_id, sid.as_str());
    assert_eq!(claims.role, "moderator");
    assert_eq!(claims.connection_data.as_deref(), Some("sip=true"));
    assert_eq!(claims.initial_layout_class_list, "full focus");
    assert_eq!(claims.exp, expiry.unix_secs());
    assert_eq!(claims.scope, "session.connect");
}

#[tokio::test]
async fn token_signed_with_another_secret_does_not_verify() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    let token = f.issue_token(&sid, TokenOptions::default()).unwrap();
    ensure_crypto_provider();
    let v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let bad = jsonwebtoken::decode::<ClientTokenClaims>(
        token.expose_secret(),
        &jsonwebtoken::DecodingKey::from_secret(OTHER_SECRET.as_bytes()),
        &v,
    );
    assert!(bad.is_err());
}

#[test]
fn token_for_a_session_of_another_key_is_refused() {
    let f = FakeDialer::new();
    // §9 vector of key 45328772
    let foreign = SessionId::new("2_MX40NTMyODc3Mn5-fg").unwrap();
    let err = f
        .issue_token(&foreign, TokenOptions::default())
        .unwrap_err();
    assert!(matches!(err, DialError::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
async fn dial_returns_a_call_with_uuid_ids_and_tracks_it() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    let before = Timestamp::now();
    let c = f.dial(dial_request(&f, &sid)).await.unwrap();
    assert_eq!(c.session_id, sid);
    for id in [
        c.id.as_str(),
        c.connection_id.as_str(),
        c.stream_id.as_str(),
    ] {
        let u = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(u.get_version_num(), 4);
    }
    assert_ne!(c.connection_id.as_str(), c.stream_id.as_str());
    assert!(c.created_at >= before);
    assert_eq!(f.active_calls(), vec![c]);
}

#[tokio::test]
async fn dial_into_unknown_session_is_not_found() {
    let f = FakeDialer::new();
    let sid = SessionId::new("1_unknown").unwrap();
    let err = f.dial(dial_request(&f, &sid)).await.unwrap_err();
    assert_eq!(err, DialError::not_found("session"));
    assert!(f.active_calls().is_empty());
}

#[tokio::test]
async fn dial_into_relayed_session_is_conflict() {
    let f = FakeDialer::new();
    let sid = f.create_relayed_session();
    assert_eq!(session_format::decode(&sid).unwrap().api_key, "123456");
    let err = f.dial(dial_request(&f, &sid)).await.unwrap_err();
    assert!(matches!(err, DialError::Conflict { .. }), "{err:?}");
    assert!(f.active_calls().is_empty());
    // test setup, not a request
    assert_eq!(f.count(Operation::CreateSession), 0);
}

#[tokio::test]
async fn dial_checks_the_token_like_the_platform() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    let other = session(&f).await;

    // not a JWT at all
    let req = DialRequest::new(sid.clone(), ClientToken::new("garbage", 0), uri());
    let err = f.dial(req).await.unwrap_err();
    assert!(
        matches!(err, DialError::InvalidInput { ref field, .. } if field.as_deref() == Some("token"))
    );
    assert!(!err.to_string().contains("garbage"));

    // signed by another project
    let stranger = FakeDialer::builder().api_secret(OTHER_SECRET).build();
    let token = stranger.issue_token(&sid, TokenOptions::default()).unwrap();
    let err = f
        .dial(DialRequest::new(sid.clone(), token, uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::InvalidInput { .. }), "{err:?}");

    // issued for another session
    let token = f.issue_token(&other, TokenOptions::default()).unwrap();
    let err = f
        .dial(DialRequest::new(sid.clone(), token, uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::InvalidInput { .. }), "{err:?}");

    // expired
    let now = unix_now_secs();
    let claims =
        ClientTokenClaims::new("123456", &sid, &TokenOptions::default(), now - 90_000, 0.5);
    let expired = claims.sign_hs256(DEFAULT_API_SECRET.as_bytes()).unwrap();
    let err = f
        .dial(DialRequest::new(sid.clone(), expired, uri()))
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::InvalidInput { .. }), "{err:?}");

    assert!(f.active_calls().is_empty());
}

#[tokio::test]
async fn hang_up_removes_the_call_and_twice_is_not_found() {
    let f = FakeDialer::new();
    let c = call(&f).await;
    let keep = f.dial(dial_request(&f, &c.session_id)).await.unwrap();
    f.hang_up(&c.session_id, &c.connection_id).await.unwrap();
    assert_eq!(f.active_calls(), vec![keep]);
    let err = f
        .hang_up(&c.session_id, &c.connection_id)
        .await
        .unwrap_err();
    assert_eq!(err, DialError::not_found("connection"));
}

#[tokio::test]
async fn hang_up_of_unknown_connection_or_session_is_not_found() {
    let f = FakeDialer::new();
    let c = call(&f).await;
    let unknown = ConnectionId::new("no-such-connection").unwrap();
    assert_eq!(
        f.hang_up(&c.session_id, &unknown).await.unwrap_err(),
        DialError::not_found("connection")
    );
    // a real connection id, but named under another session
    let other = session(&f).await;
    assert_eq!(
        f.hang_up(&other, &c.connection_id).await.unwrap_err(),
        DialError::not_found("connection")
    );
    let nowhere = SessionId::new("1_nowhere").unwrap();
    assert_eq!(
        f.hang_up(&nowhere, &c.connection_id).await.unwrap_err(),
        DialError::not_found("session")
    );
    assert_eq!(f.active_calls().len(), 1);
}

#[tokio::test]
async fn dtmf_reaches_known_targets_only() {
    let f = FakeDialer::new();
    let c = call(&f).await;
    let digits = Dtmf::new("1p#*").unwrap();
    f.play_dtmf(&DtmfTarget::Session(c.session_id.clone()), &digits)
        .await
        .unwrap();
    f.play_dtmf(
        &DtmfTarget::Connection(c.session_id.clone(), c.connection_id.clone()),
        &digits,
    )
    .await
    .unwrap();

    let nowhere = SessionId::new("1_nowhere").unwrap();
    assert_eq!(
        f.play_dtmf(&DtmfTarget::Session(nowhere.clone()), &digits)
            .await
            .unwrap_err(),
        DialError::not_found("session")
    );
    assert_eq!(
        f.play_dtmf(
            &DtmfTarget::Connection(nowhere, c.connection_id.clone()),
            &digits
        )
        .await
        .unwrap_err(),
        DialError::not_found("session")
    );
    let unknown = ConnectionId::new("gone").unwrap();
    assert_eq!(
        f.play_dtmf(
            &DtmfTarget::Connection(c.session_id.clone(), unknown),
            &digits
        )
        .await
        .unwrap_err(),
        DialError::not_found("connection")
    );
    // after hang-up the connection is gone
    f.hang_up(&c.session_id, &c.connection_id).await.unwrap();
    assert_eq!(
        f.play_dtmf(
            &DtmfTarget::Connection(c.session_id.clone(), c.connection_id.clone()),
            &digits
        )
        .await
        .unwrap_err(),
        DialError::not_found("connection")
    );
    let rec = f.recorded();
    let dtmf: Vec<_> = rec.iter().filter(|r| r.op == Operation::PlayDtmf).collect();
    assert_eq!(dtmf.len(), 6);
    assert!(dtmf[0].detail.contains("digits=1p#*"));
    assert!(dtmf[1].detail.contains(c.connection_id.as_str()));
}

#[tokio::test]
async fn force_mute_marks_the_sip_stream() {
    let f = FakeDialer::new();
    let c = call(&f).await;
    assert!(!f.is_muted(&c.stream_id));
    f.force_mute(&c.session_id, &c.stream_id).await.unwrap();
    assert!(f.is_muted(&c.stream_id));

    let unknown = StreamId::new("not-a-stream").unwrap();
    assert_eq!(
        f.force_mute(&c.session_id, &unknown).await.unwrap_err(),
        DialError::not_found("stream")
    );
    let nowhere = SessionId::new("1_nowhere").unwrap();
    assert_eq!(
        f.force_mute(&nowhere, &c.stream_id).await.unwrap_err(),
        DialError::not_found("session")
    );
    let other = session(&f).await;
    assert_eq!(
        f.force_mute(&other, &c.stream_id).await.unwrap_err(),
        DialError::not_found("stream")
    );
}

#[tokio::test]
async fn list_streams_lists_the_sip_legs_of_the_session() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    assert!(f.list_streams(&sid).await.unwrap().is_empty());
    let a = f.dial(dial_request(&f, &sid)).await.unwrap();
    let b = f.dial(dial_request(&f, &sid)).await.unwrap();
    let elsewhere = call(&f).await;
    let streams = f.list_streams(&sid).await.unwrap();
    let ids: Vec<_> = streams.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, vec![a.stream_id.clone(), b.stream_id]);
    assert!(!ids.contains(&elsewhere.stream_id));
    assert!(streams.iter().all(|s| s.video_type.is_none()));

    f.hang_up(&sid, &a.connection_id).await.unwrap();
    assert_eq!(f.list_streams(&sid).await.unwrap().len(), 1);

    let nowhere = SessionId::new("1_nowhere").unwrap();
    assert_eq!(
        f.list_streams(&nowhere).await.unwrap_err(),
        DialError::not_found("session")
    );
}

#[tokio::test]
async fn every_request_is_recorded_in_order_without_secrets() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    let token = f.issue_token(&sid, TokenOptions::default()).unwrap();
    let secret_token = token.expose_secret().to_owned();
    let mut headers = SipHeaders::new();
    headers.insert("X-Customer", "42").unwrap();
    let req = DialRequest {
        from: Some(SipFrom::new("14155550101@example.com").unwrap()),
        headers,
        auth: Some(SipAuth::new("alice", "hunter2-sip-password")),
        secure: true,
        ..DialRequest::new(sid.clone(), token, uri())
    };
    let c = f.dial(req).await.unwrap();
    f.hang_up(&sid, &c.connection_id).await.unwrap();
    let _ = f.list_streams(&sid).await.unwrap();

    let rec = f.recorded();
    let ops: Vec<_> = rec.iter().map(|r| r.op).collect();
    assert_eq!(
        ops,
        vec![
            Operation::CreateSession,
            Operation::IssueToken,
            Operation::Dial,
            Operation::HangUp,
            Operation::ListStreams
        ]
    );
    assert_eq!(rec[0].session_id, None);
    assert!(rec[1..].iter().all(|r| r.session_id.as_ref() == Some(&sid)));
    let dial = &rec[2].detail;
    assert!(
        dial.contains("uri=sip:alice@sip.example.com;transport=tls"),
        "{dial}"
    );
    assert!(dial.contains("from=14155550101@example.com"), "{dial}");
    assert!(dial.contains("X-Customer: 42"), "{dial}");
    assert!(dial.contains("auth_user=alice"), "{dial}");
    assert!(dial.contains("secure=true"), "{dial}");
    assert!(rec[3].detail.contains(c.connection_id.as_str()));
    for r in &rec {
        assert!(!r.detail.contains(&secret_token), "{r:?}");
        assert!(!r.detail.contains("hunter2"), "{r:?}");
        assert!(!format!("{r:?}").contains(DEFAULT_API_SECRET));
    }
    assert_eq!(f.count(Operation::Dial), 1);
    assert_eq!(f.count(Operation::ForceMute), 0);
}

#[tokio::test]
async fn script_once_fails_the_next_call_only() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    f.script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    let err = f.dial(dial_request(&f, &sid)).await.unwrap_err();
    assert_eq!(err, DialError::Timeout);
    assert!(f.active_calls().is_empty(), "a failed dial has no effect");
    f.dial(dial_request(&f, &sid)).await.unwrap();
    assert_eq!(
        f.count(Operation::Dial),
        2,
        "failed requests are recorded too"
    );
}

#[tokio::test]
async fn script_once_queues_in_order_and_targets_its_operation() {
    let f = FakeDialer::new();
    f.script_once(Operation::CreateSession, Script::Fail(DialError::Timeout));
    f.script_once(
        Operation::CreateSession,
        Script::Fail(DialError::RejectedCredentials),
    );
    f.script_once(Operation::ListStreams, Script::Fail(DialError::Timeout));
    assert_eq!(
        f.create_session(SessionOptions::default())
            .await
            .unwrap_err(),
        DialError::Timeout
    );
    assert_eq!(
        f.create_session(SessionOptions::default())
            .await
            .unwrap_err(),
        DialError::RejectedCredentials
    );
    let sid = session(&f).await;
    assert_eq!(f.list_streams(&sid).await.unwrap_err(), DialError::Timeout);
    assert!(f.list_streams(&sid).await.is_ok());
}

#[tokio::test]
async fn script_always_applies_until_cleared_and_once_wins() {
    let f = FakeDialer::new();
    let c = call(&f).await;
    let limited = DialError::RateLimited {
        retry_after: Some(Duration::from_secs(3)),
    };
    f.script_always(Operation::ForceMute, Script::Fail(limited.clone()));
    f.script_once(Operation::ForceMute, Script::Fail(DialError::Timeout));
    assert_eq!(
        f.force_mute(&c.session_id, &c.stream_id).await.unwrap_err(),
        DialError::Timeout
    );
    for _ in 0..3 {
        assert_eq!(
            f.force_mute(&c.session_id, &c.stream_id).await.unwrap_err(),
            limited
        );
    }
    assert!(!f.is_muted(&c.stream_id));
    f.clear_scripts();
    f.force_mute(&c.session_id, &c.stream_id).await.unwrap();
    assert!(f.is_muted(&c.stream_id));
}

#[tokio::test]
async fn script_fails_every_operation_kind() {
    let f = FakeDialer::new();
    let c = call(&f).await;
    let digits = Dtmf::new("1").unwrap();
    let fail = || {
        Script::Fail(DialError::Transport {
            message: "x".into(),
        })
    };
    for op in [
        Operation::CreateSession,
        Operation::IssueToken,
        Operation::Dial,
        Operation::HangUp,
        Operation::PlayDtmf,
        Operation::ForceMute,
        Operation::ListStreams,
    ] {
        f.script_always(op, fail());
    }
    let sid = &c.session_id;
    assert!(f.create_session(SessionOptions::default()).await.is_err());
    assert!(f.issue_token(sid, TokenOptions::default()).is_err());
    f.clear_scripts();
    let req = dial_request(&f, sid);
    f.script_always(Operation::Dial, fail());
    f.script_always(Operation::HangUp, fail());
    f.script_always(Operation::PlayDtmf, fail());
    f.script_always(Operation::ForceMute, fail());
    f.script_always(Operation::ListStreams, fail());
    assert!(f.dial(req).await.is_err());
    assert!(f.hang_up(sid, &c.connection_id).await.is_err());
    assert!(
        f.play_dtmf(&DtmfTarget::Session(sid.clone()), &digits)
            .await
            .is_err()
    );
    assert!(f.force_mute(sid, &c.stream_id).await.is_err());
    assert!(f.list_streams(sid).await.is_err());
    assert_eq!(f.active_calls(), vec![c], "failed hang-up left the call up");
}

#[tokio::test]
async fn script_delay_waits_then_behaves_normally() {
    let f = FakeDialer::new();
    let sid = session(&f).await;
    f.script_once(Operation::Dial, Script::Delay(Duration::from_millis(150)));
    let start = Instant::now();
    let c = f.dial(dial_request(&f, &sid)).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(f.active_calls(), vec![c]);
    // and only once
    let start = Instant::now();
    f.dial(dial_request(&f, &sid)).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn script_delay_lets_a_caller_time_out() {
    let f = FakeDialer::new();
    f.script_always(
        Operation::CreateSession,
        Script::Delay(Duration::from_secs(30)),
    );
    let res = tokio::time::timeout(
        Duration::from_millis(50),
        f.create_session(SessionOptions::default()),
    )
    .await;
    assert!(res.is_err(), "the delay must outlast the timeout");
    assert_eq!(f.count(Operation::CreateSession), 1);
}

#[test]
fn script_delay_on_issue_token_blocks() {
    let f = FakeDialer::new();
    let sid = SessionId::new("1_anything").unwrap();
    f.script_once(
        Operation::IssueToken,
        Script::Delay(Duration::from_millis(100)),
    );
    let start = Instant::now();
    f.issue_token(&sid, TokenOptions::default()).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_dials_are_all_tracked() {
    let f = Arc::new(FakeDialer::new());
    let sid = session(&f).await;
    f.script_always(Operation::Dial, Script::Delay(Duration::from_millis(20)));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let f = Arc::clone(&f);
        let req = dial_request(&f, &sid);
        tasks.push(tokio::spawn(async move { f.dial(req).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(f.active_calls().len(), 16);
    assert_eq!(f.count(Operation::Dial), 16);
}

#[tokio::test]
async fn shared_as_dyn_dialer() {
    let f = Arc::new(FakeDialer::new());
    let dyn_dialer: Arc<dyn SipDialer> = f.clone();
    let sid = dyn_dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap();
    let token = dyn_dialer
        .issue_token(&sid, TokenOptions::default())
        .unwrap();
    dyn_dialer
        .dial(DialRequest::new(sid, token, uri()))
        .await
        .unwrap();
    assert_eq!(f.active_calls().len(), 1);
}

#[tokio::test]
async fn debug_redacts_the_secret() {
    let f = FakeDialer::builder().api_secret(OTHER_SECRET).build();
    let _ = call(&f).await;
    for s in [format!("{f:?}"), format!("{f:#?}")] {
        assert!(!s.contains(OTHER_SECRET), "{s}");
        assert!(s.contains("REDACTED"), "{s}");
        assert!(s.contains("123456"), "{s}");
    }
    let b = FakeDialer::builder().api_secret(OTHER_SECRET);
    assert!(!format!("{b:?}").contains(OTHER_SECRET));
}

#[tokio::test]
async fn unencodable_key_is_a_config_error_not_a_panic() {
    let f = FakeDialer::builder().api_key("12~34").build();
    let err = f
        .create_session(SessionOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Config { .. }), "{err:?}");
    // the relayed helper still hands out a usable, unique id
    let a = f.create_relayed_session();
    let b = f.create_relayed_session();
    assert_ne!(a, b);
}
