//! Every operation against `FakePlatform`, for both credential kinds: method, path,
//! headers, the decoded REST JWT and the exact bodies, and what the platform did.

mod common;

use std::net::Ipv4Addr;

use common::{KINDS, Kind, assert_common_headers, assert_rest_auth, fake, verify};
use reqwest::Method;
use sipdial_core::session_format::{self, SessionIdParts};
use sipdial_core::{
    ArchiveMode, ConnectionData, ConnectionState, DialError, DialRequest, Dtmf, DtmfTarget,
    LayoutClasses, Role, SessionId, SessionOptions, SipAuth, SipDialer, SipFrom, SipHeaders,
    SipUri, StreamId, TokenOptions,
};
use sipdial_opentok::{Credentials, OpenTokDialer, TokenFormat};
use sipdial_testing::{
    CallProgress, ConnectionKind, FakePlatform, MediaMode, TEST_API_KEY, TEST_API_SECRET,
    TokenFormat as Seen,
};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

fn sip_token_options() -> TokenOptions {
    TokenOptions {
        data: Some(ConnectionData::new("sip=true").unwrap()),
        ..TokenOptions::default()
    }
}

async fn routed_session(dialer: &OpenTokDialer) -> SessionId {
    dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn platform_info_is_the_key_or_application_id() {
    let fake = fake().await;
    for kind in KINDS {
        assert_eq!(kind.dialer(&fake).platform().api_key, kind.id());
    }
}

#[tokio::test]
async fn create_session_sends_a_routed_form_and_reads_the_id() {
    let fake = fake().await;
    for kind in KINDS {
        fake.clear_requests();
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(
            (r.method.clone(), r.path.as_str()),
            (Method::POST, "/session/create")
        );
        assert_common_headers(r, FORM);
        assert_rest_auth(kind, r);
        assert_eq!(r.body_text(), "archiveMode=manual&p2p.preference=disabled");
        let snap = fake.session(sid.as_str()).unwrap();
        assert_eq!(snap.media_mode, MediaMode::Routed);
        assert_eq!(snap.project_key, kind.id());
        assert_eq!(
            session_format::decode(&sid).unwrap().api_key,
            kind.id(),
            "the id carries the key"
        );

        fake.clear_requests();
        let sid = dialer
            .create_session(SessionOptions {
                location: Some(Ipv4Addr::new(12, 34, 56, 78)),
                archive_mode: ArchiveMode::Always,
                e2ee: false,
            })
            .await
            .unwrap();
        assert_eq!(
            fake.requests()[0].body_text(),
            "location=12.34.56.78&archiveMode=always&p2p.preference=disabled"
        );
        let snap = fake.session(sid.as_str()).unwrap();
        assert_eq!(snap.location.as_deref(), Some("12.34.56.78"));
        assert_eq!(snap.archive_mode, "always");

        fake.clear_requests();
        let sid = dialer
            .create_session(SessionOptions {
                e2ee: true,
                ..SessionOptions::default()
            })
            .await
            .unwrap();
        assert_eq!(
            fake.requests()[0].body_text(),
            "archiveMode=manual&p2p.preference=disabled&e2ee=true"
        );
        assert!(fake.session(sid.as_str()).unwrap().e2ee);

        // The platform refuses e2ee with automatic archiving: a 400 with its message.
        let err = dialer
            .create_session(SessionOptions {
                e2ee: true,
                archive_mode: ArchiveMode::Always,
                location: None,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DialError::InvalidInput { message, .. } if message.contains("e2ee")),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn issued_tokens_are_signed_as_the_sdks_sign_them() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        let options = TokenOptions {
            role: Role::Moderator,
            data: Some(ConnectionData::new("name=Alice").unwrap()),
            layout_classes: LayoutClasses::new(vec!["full".into(), "focus".into()]).unwrap(),
            expiry: None,
        };
        let token = dialer.issue_token(&sid, options).unwrap();
        let (header, _) = common::decode_parts(token.expose_secret());
        let claims = verify(kind, token.expose_secret());
        let now = common::now_secs();
        assert_eq!(claims["session_id"], sid.as_str());
        assert_eq!(claims["role"], "moderator");
        assert_eq!(claims["connection_data"], "name=Alice");
        assert_eq!(claims["initial_layout_class_list"], "full focus");
        assert_eq!(claims["scope"], "session.connect");
        let exp = claims["exp"].as_u64().unwrap();
        assert!((now + 86_395..=now + 86_405).contains(&exp));
        assert_eq!(token.expires_at(), exp);
        match kind {
            Kind::Project => {
                assert_eq!(header["alg"], "HS256");
                assert_eq!(claims["iss"], TEST_API_KEY);
                assert_eq!(claims["ist"], "project");
                assert_eq!(claims["expire_time"], exp);
                assert!(claims["nonce"].is_f64());
            }
            Kind::Application => {
                assert_eq!(header["alg"], "RS256");
                assert_eq!(claims["application_id"], kind.id());
                assert_eq!(claims["sub"], "video");
                assert_eq!(
                    claims["acl"],
                    serde_json::json!({"paths": {"/session/**": {}}})
                );
                assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
                assert!(claims["iat"].as_u64().unwrap() <= now);
                assert!(claims.get("connection_data").is_some());
            }
        }
        // Without data, connection_data is absent, not blank.
        let token = dialer.issue_token(&sid, TokenOptions::default()).unwrap();
        assert!(
            verify(kind, token.expose_secret())
                .get("connection_data")
                .is_none()
        );
    }
}

#[tokio::test]
async fn dial_sends_only_set_fields_and_reads_the_call() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        let client = fake.add_client(sid.as_str(), Some("browser")).unwrap();
        let token = dialer.issue_token(&sid, sip_token_options()).unwrap();
        fake.clear_requests();

        let mut request = DialRequest::new(
            sid.clone(),
            token.clone(),
            SipUri::new("sip:siptesturl@tokbox.com").unwrap(),
        );
        request.streams = vec![StreamId::new(client.stream_id.clone()).unwrap()];
        let call = dialer.dial(request).await.unwrap();
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.path, format!("/v2/project/{}/dial", kind.id()));
        assert_common_headers(r, JSON);
        assert_rest_auth(kind, r);
        assert_eq!(
            r.body_text(),
            format!(
                r#"{{"sessionId":"{sid}","token":"{}","sip":{{"uri":"sip:siptesturl@tokbox.com","streams":["{}"]}}}}"#,
                token.expose_secret(),
                client.stream_id
            )
        );
        assert_eq!(call.session_id, sid);
        let conns = fake.connections(sid.as_str());
        let leg = conns
            .iter()
            .find(|c| c.connection_id == call.connection_id.as_str())
            .expect("the SIP connection exists");
        assert_eq!(leg.kind, ConnectionKind::Sip);
        assert_eq!(leg.data.as_deref(), Some("sip=true"));
        let sip = leg.sip.as_ref().unwrap();
        assert_eq!(sip.call_id, call.id.as_str());
        assert_eq!(
            sip.token_format,
            Some(match kind {
                Kind::Project => Seen::ProjectJwt,
                Kind::Application => Seen::ApplicationJwt,
            })
        );
        assert!(!sip.secure && !sip.video && !sip.observe_force_mute);
        assert!(
            fake.streams(sid.as_str())
                .iter()
                .any(|s| s.stream_id == call.stream_id.as_str())
        );
        let now_ms = common::now_secs() * 1000;
        assert!(call.created_at.as_millis() <= now_ms + 1000);
        assert!(call.created_at.as_millis() + 10_000 >= now_ms);

        // Every option set.
        fake.clear_requests();
        let mut headers = SipHeaders::new();
        headers.insert("X-Customer-Id", "42").unwrap();
        let mut request = DialRequest::new(
            sid.clone(),
            token.clone(),
            SipUri::new("sip:user@sip.partner.com;transport=tls").unwrap(),
        );
        request.from = Some(SipFrom::new("14155550101@example.com").unwrap());
        request.headers = headers;
        request.auth = Some(SipAuth::new("alice", "s3cr3t-sip-pw"));
        request.secure = true;
        request.video = true;
        request.observe_force_mute = true;
        let call = dialer.dial(request).await.unwrap();
        let r = &fake.requests()[0];
        assert_eq!(
            r.body_text(),
            format!(
                r#"{{"sessionId":"{sid}","token":"{}","sip":{{"uri":"sip:user@sip.partner.com;transport=tls","from":"14155550101@example.com","headers":{{"X-Customer-Id":"42"}},"auth":{{"username":"alice","password":"s3cr3t-sip-pw"}},"secure":true,"video":true,"observeForceMute":true}}}}"#,
                token.expose_secret()
            )
        );
        let sip = fake
            .connections(sid.as_str())
            .into_iter()
            .find(|c| c.connection_id == call.connection_id.as_str())
            .and_then(|c| c.sip)
            .unwrap();
        assert_eq!(sip.from.as_deref(), Some("14155550101@example.com"));
        assert_eq!(sip.auth_username.as_deref(), Some("alice"));
        assert_eq!(
            sip.headers.get("X-Customer-Id").map(String::as_str),
            Some("42")
        );
        assert!(sip.secure && sip.video && sip.observe_force_mute);
    }
}

#[tokio::test]
async fn dial_accepts_a_legacy_t1_token() {
    let fake = fake().await;
    let dialer = OpenTokDialer::builder(Credentials::project(TEST_API_KEY, TEST_API_SECRET))
        .base_url(fake.url())
        .token_format(TokenFormat::LegacyT1)
        .build()
        .unwrap();
    let sid = routed_session(&dialer).await;
    let token = dialer.issue_token(&sid, sip_token_options()).unwrap();
    assert!(token.expose_secret().starts_with("T1=="));
    let call = dialer
        .dial(DialRequest::new(
            sid.clone(),
            token,
            SipUri::new("sip:a@example.com").unwrap(),
        ))
        .await
        .unwrap();
    let leg = fake
        .connections(sid.as_str())
        .into_iter()
        .find(|c| c.connection_id == call.connection_id.as_str())
        .unwrap();
    assert_eq!(leg.sip.unwrap().token_format, Some(Seen::T1));
    assert_eq!(leg.data.as_deref(), Some("sip=true"));
}

#[tokio::test]
async fn dial_into_relayed_or_unknown_sessions_fails_typed() {
    let fake = fake().await;
    // The fake mints direct sessions under the project key, so the token comes from the
    // project; the REST call is made with each kind.
    let project = Kind::Project.dialer(&fake);
    let relayed = SessionId::new(fake.create_session(MediaMode::Relayed)).unwrap();
    let token = project.issue_token(&relayed, sip_token_options()).unwrap();
    let unknown = session_format::encode(&SessionIdParts {
        api_key: TEST_API_KEY.into(),
        location: String::new(),
        create_time: "Mon Jan 01 00:00:00 UTC 2024".into(),
        random: "nope".into(),
    })
    .unwrap();
    let unknown_token = project.issue_token(&unknown, sip_token_options()).unwrap();
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let err = dialer
            .dial(DialRequest::new(
                relayed.clone(),
                token.clone(),
                SipUri::new("sip:a@example.com").unwrap(),
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DialError::Conflict { message } if message.contains("not routed")),
            "{err:?}"
        );
        let err = dialer
            .dial(DialRequest::new(
                unknown.clone(),
                unknown_token.clone(),
                SipUri::new("sip:a@example.com").unwrap(),
            ))
            .await
            .unwrap_err();
        assert_eq!(err, DialError::not_found("session"));
    }
}

#[tokio::test]
async fn play_dtmf_to_a_session_and_to_a_connection() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        let token = dialer.issue_token(&sid, sip_token_options()).unwrap();
        let call = dialer
            .dial(DialRequest::new(
                sid.clone(),
                token,
                SipUri::new("sip:a@example.com").unwrap(),
            ))
            .await
            .unwrap();
        fake.clear_requests();

        let all = Dtmf::new("0123456789*#p").unwrap();
        dialer
            .play_dtmf(&DtmfTarget::Session(sid.clone()), &all)
            .await
            .unwrap();
        let one = Dtmf::new("6").unwrap();
        dialer
            .play_dtmf(
                &DtmfTarget::Connection(sid.clone(), call.connection_id.clone()),
                &one,
            )
            .await
            .unwrap();
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].method, Method::POST);
        assert_eq!(
            reqs[0].path,
            format!("/v2/project/{}/session/{sid}/play-dtmf", kind.id())
        );
        assert_eq!(reqs[0].body_text(), r#"{"digits":"0123456789*#p"}"#);
        assert_eq!(
            reqs[1].path,
            format!(
                "/v2/project/{}/session/{sid}/connection/{}/play-dtmf",
                kind.id(),
                call.connection_id
            )
        );
        assert_eq!(reqs[1].body_text(), r#"{"digits":"6"}"#);
        for r in &reqs {
            assert_common_headers(r, JSON);
            assert_rest_auth(kind, r);
        }
        assert_eq!(
            fake.session(sid.as_str()).unwrap().dtmf,
            vec!["0123456789*#p"]
        );
        let leg = fake
            .connections(sid.as_str())
            .into_iter()
            .find(|c| c.connection_id == call.connection_id.as_str())
            .unwrap();
        assert_eq!(leg.dtmf, vec!["6"]);

        // To a connection that is not there.
        let gone = sipdial_core::ConnectionId::new("no-such-connection").unwrap();
        let err = dialer
            .play_dtmf(&DtmfTarget::Connection(sid.clone(), gone), &one)
            .await
            .unwrap_err();
        assert_eq!(err, DialError::not_found("connection"));
    }
}

#[tokio::test]
async fn force_mute_and_list_streams() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        // A session that never had a stream lists as empty (the platform's 404).
        assert!(dialer.list_streams(&sid).await.unwrap().is_empty());

        let client = fake.add_client(sid.as_str(), None).unwrap();
        let token = dialer.issue_token(&sid, sip_token_options()).unwrap();
        let mut request = DialRequest::new(
            sid.clone(),
            token,
            SipUri::new("sip:a@example.com").unwrap(),
        );
        request.observe_force_mute = true;
        let call = dialer.dial(request).await.unwrap();
        fake.clear_requests();

        let streams = dialer.list_streams(&sid).await.unwrap();
        let r = &fake.requests()[0];
        assert_eq!(r.method, Method::GET);
        assert_eq!(
            r.path,
            format!("/v2/project/{}/session/{sid}/stream", kind.id())
        );
        assert!(r.body.is_empty());
        assert_common_headers(r, None);
        assert_rest_auth(kind, r);
        assert_eq!(streams.len(), 2);
        let cam = streams
            .iter()
            .find(|s| s.id.as_str() == client.stream_id)
            .unwrap();
        assert_eq!(cam.video_type.as_deref(), Some("camera"));
        let sip = streams.iter().find(|s| s.id == call.stream_id).unwrap();
        assert_eq!(
            sip.video_type, None,
            "an audio-only SIP leg has no videoType"
        );

        fake.clear_requests();
        dialer.force_mute(&sid, &call.stream_id).await.unwrap();
        let r = &fake.requests()[0];
        assert_eq!(r.method, Method::POST);
        assert_eq!(
            r.path,
            format!(
                "/v2/project/{}/session/{sid}/stream/{}/mute",
                kind.id(),
                call.stream_id
            )
        );
        assert_eq!(r.body_text(), "{}");
        assert_common_headers(r, JSON);
        assert_rest_auth(kind, r);
        let muted = fake
            .streams(sid.as_str())
            .into_iter()
            .find(|s| s.stream_id == call.stream_id.as_str())
            .unwrap();
        assert!(muted.force_muted);

        let err = dialer
            .force_mute(&sid, &StreamId::new("no-such-stream").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err, DialError::not_found("stream"));
    }
}

#[tokio::test]
async fn list_connections_reads_each_legs_true_state() {
    let fake = fake().await;
    fake.clear_call_script();
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        assert!(dialer.lists_connections());
        let sid = routed_session(&dialer).await;
        let token = dialer.issue_token(&sid, sip_token_options()).unwrap();
        let call = dialer
            .dial(DialRequest::new(
                sid.clone(),
                token,
                SipUri::new("sip:a@example.com").unwrap(),
            ))
            .await
            .unwrap();
        fake.clear_requests();
        let listed = dialer.list_connections(&sid).await.unwrap();
        let r = &fake.requests()[0];
        assert_eq!(r.method, Method::GET);
        assert_eq!(
            r.path,
            format!("/v2/project/{}/session/{sid}/connection", kind.id())
        );
        assert!(r.body.is_empty());
        assert_common_headers(r, None);
        assert_rest_auth(kind, r);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].connection_id, call.connection_id);
        assert_eq!(listed[0].state, ConnectionState::Connecting, "ringing");
        assert!(listed[0].created_at.is_some());
        assert!(fake.advance_call(call.id.as_str(), CallProgress::Answer));
        let listed = dialer.list_connections(&sid).await.unwrap();
        assert_eq!(listed[0].state, ConnectionState::Connected, "answered");
        assert!(fake.advance_call(
            call.id.as_str(),
            CallProgress::HangUp {
                code: 200,
                message: "OK".into()
            }
        ));
        let listed = dialer.list_connections(&sid).await.unwrap();
        assert!(listed.is_empty(), "an ended leg has left the session");
    }
    let unknown = SessionId::new("1_not-a-session").unwrap();
    assert_eq!(
        Kind::Project
            .dialer(&fake)
            .list_connections(&unknown)
            .await
            .unwrap_err(),
        DialError::not_found("session")
    );
}

#[tokio::test]
async fn list_streams_of_an_unknown_session_is_not_found() {
    let fake = fake().await;
    let dialer = Kind::Project.dialer(&fake);
    let unknown = SessionId::new("1_not-a-session").unwrap();
    assert_eq!(
        dialer.list_streams(&unknown).await.unwrap_err(),
        DialError::not_found("session")
    );
}

#[tokio::test]
async fn hang_up_deletes_the_connection_and_a_second_is_not_found() {
    let fake = fake().await;
    for kind in KINDS {
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        let token = dialer.issue_token(&sid, sip_token_options()).unwrap();
        let call = dialer
            .dial(DialRequest::new(
                sid.clone(),
                token,
                SipUri::new("sip:a@example.com").unwrap(),
            ))
            .await
            .unwrap();
        fake.clear_requests();
        dialer.hang_up(&sid, &call.connection_id).await.unwrap();
        let r = &fake.requests()[0];
        assert_eq!(r.method, Method::DELETE);
        assert_eq!(
            r.path,
            format!(
                "/v2/project/{}/session/{sid}/connection/{}",
                kind.id(),
                call.connection_id
            )
        );
        assert_eq!(r.status, Some(204));
        assert!(r.body.is_empty());
        assert_common_headers(r, None);
        assert_rest_auth(kind, r);
        assert!(fake.connections(sid.as_str()).is_empty());
        assert!(fake.streams(sid.as_str()).is_empty());

        assert_eq!(
            dialer.hang_up(&sid, &call.connection_id).await.unwrap_err(),
            DialError::not_found("connection")
        );
    }
}

#[tokio::test]
async fn every_request_carries_a_fresh_jwt() {
    let fake = fake().await;
    for kind in KINDS {
        fake.clear_requests();
        let dialer = kind.dialer(&fake);
        let sid = routed_session(&dialer).await;
        let _ = dialer.list_streams(&sid).await.unwrap();
        let reqs = fake.requests();
        let a = assert_rest_auth(kind, &reqs[0]);
        let b = assert_rest_auth(kind, &reqs[1]);
        assert_ne!(a["jti"], b["jti"]);
        assert_ne!(common::auth_jwt(&reqs[0]).0, common::auth_jwt(&reqs[1]).0);
    }
}

#[tokio::test]
async fn wrong_credentials_are_rejected() {
    let fake = FakePlatform::start().await.unwrap();
    let wrong_secret = OpenTokDialer::builder(Credentials::project(TEST_API_KEY, "not-the-secret"))
        .base_url(fake.url())
        .build()
        .unwrap();
    assert_eq!(
        wrong_secret
            .create_session(SessionOptions::default())
            .await
            .unwrap_err(),
        DialError::RejectedCredentials
    );
    let fake = FakePlatform::builder()
        .without_application()
        .start()
        .await
        .unwrap();
    assert_eq!(
        Kind::Application
            .dialer(&fake)
            .create_session(SessionOptions::default())
            .await
            .unwrap_err(),
        DialError::RejectedCredentials
    );
}
