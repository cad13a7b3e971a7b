//! Every route with a raw HTTP client: what it accepts, what it refuses, what it does to
//! the fake's state.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use sipdial_core::SessionId;
use sipdial_core::session_format;
use sipdial_testing::{
    ConnectionKind, FakePlatform, MediaMode, TEST_API_KEY, TEST_APPLICATION_ID, TokenFormat,
};

fn path(rest: &str) -> String {
    format!("/v2/project/{TEST_API_KEY}{rest}")
}

fn pauth() -> Auth {
    Auth::Project(project_jwt())
}

#[tokio::test]
async fn create_session_routed_returns_an_id_the_sdks_decode() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let resp = c
        .form(
            "/session/create",
            "archiveMode=manual&p2p.preference=disabled",
            &pauth(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["project_id"], TEST_API_KEY);
    assert_eq!(arr[0]["partner_id"], TEST_API_KEY);
    assert!(arr[0]["create_dt"].as_str().unwrap().contains(" UTC 20"));
    let sid = arr[0]["session_id"].as_str().unwrap();
    let parts = session_format::decode(&SessionId::new(sid).unwrap()).unwrap();
    assert_eq!(parts.api_key, TEST_API_KEY);
    assert_eq!(parts.location, "");
    let sessions = fake.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].session_id, sid);
    assert_eq!(sessions[0].media_mode, MediaMode::Routed);
    assert_eq!(sessions[0].archive_mode, "manual");
    let rec = &fake.requests()[0];
    assert_eq!(
        rec.form().unwrap(),
        vec![
            ("archiveMode".to_owned(), "manual".to_owned()),
            ("p2p.preference".to_owned(), "disabled".to_owned())
        ]
    );
}

#[tokio::test]
async fn create_session_options_and_defaults() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    // no p2p.preference: relayed (see the README for why)
    assert_eq!(c.form("/session/create", "", &pauth()).await.status(), 200);
    assert_eq!(
        c.form("/session/create", "p2p.preference=enabled", &pauth())
            .await
            .status(),
        200
    );
    let resp = c
        .form(
            "/session/create",
            "location=12.34.56.78&p2p.preference=disabled&e2ee=true",
            &pauth(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let sid = SessionId::new(v[0]["session_id"].as_str().unwrap()).unwrap();
    assert_eq!(
        session_format::decode(&sid).unwrap().location,
        "12.34.56.78"
    );
    assert_eq!(
        c.form(
            "/session/create",
            "archiveMode=always&p2p.preference=disabled&archiveName=daily&archiveResolution=1280x720",
            &pauth()
        )
        .await
        .status(),
        200
    );
    let s = fake.sessions();
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].media_mode, MediaMode::Relayed);
    assert_eq!(s[1].media_mode, MediaMode::Relayed);
    assert!(s[2].is_routed() && s[2].e2ee);
    assert_eq!(s[2].location.as_deref(), Some("12.34.56.78"));
    assert_eq!(s[3].archive_mode, "always");
}

#[tokio::test]
async fn create_session_refuses_bad_forms() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    for form in [
        "p2p.preference=maybe",
        "p2p.preference=disabled&archiveMode=sometimes",
        "p2p.preference=enabled&archiveMode=always",
        "p2p.preference=disabled&location=example.com",
        "p2p.preference=disabled&location=1.2.3.4.5",
        "p2p.preference=disabled&e2ee=yes",
        "p2p.preference=enabled&e2ee=true",
        "p2p.preference=disabled&archiveMode=always&e2ee=true",
        "p2p.preference=disabled&archiveName=x",
        "p2p.preference=disabled&archiveMode=always&archiveResolution=1x1",
        "p2p.preference=disabled&p2p.preference=enabled",
    ] {
        let resp = c.form("/session/create", form, &pauth()).await;
        assert_eq!(resp.status(), 400, "{form}");
        expect_error(resp, 400).await;
    }
    let resp = c
        .json(
            Method::POST,
            "/session/create",
            &json!({"p2p.preference": "disabled"}),
            &pauth(),
        )
        .await;
    expect_error(resp, 400).await;
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn create_session_with_application_credentials() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let resp = c
        .form(
            "/session/create",
            "p2p.preference=disabled",
            &Auth::App(app_jwt()),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v[0]["application_id"], TEST_APPLICATION_ID);
    let sid = SessionId::new(v[0]["session_id"].as_str().unwrap()).unwrap();
    assert_eq!(
        session_format::decode(&sid).unwrap().api_key,
        TEST_APPLICATION_ID
    );
    assert_eq!(fake.sessions()[0].project_key, TEST_APPLICATION_ID);
}

#[tokio::test]
async fn dial_with_every_option_adds_the_sip_connection_and_stream() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let sip = json!({
        "uri": "sip:agent@pbx.example.com;transport=tls",
        "from": "14155550101@example.com",
        "headers": {"X-Customer": "42"},
        "auth": {"username": "alice", "password": "s3cret"},
        "secure": true,
        "video": false,
        "observeForceMute": true,
        "streams": ["stream-id-1"],
    });
    let before = now() * 1000;
    let resp = c.dial(&sid, sip.clone()).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    for field in ["id", "connectionId", "streamId"] {
        assert!(!v[field].as_str().unwrap().is_empty(), "{field}");
    }
    assert_eq!(v["projectId"], TEST_API_KEY);
    assert_eq!(v["sessionId"], sid.as_str());
    assert!(v["createdAt"].as_i64().unwrap() >= before);
    assert_eq!(v["createdAt"], v["updatedAt"]);

    let conns = fake.connections(&sid);
    assert_eq!(conns.len(), 1);
    let conn = &conns[0];
    assert_eq!(conn.connection_id, v["connectionId"].as_str().unwrap());
    assert_eq!(conn.kind, ConnectionKind::Sip);
    assert_eq!(conn.data.as_deref(), Some("sip=true"));
    let leg = conn.sip.as_ref().unwrap();
    assert_eq!(leg.call_id, v["id"].as_str().unwrap());
    assert_eq!(leg.uri, "sip:agent@pbx.example.com;transport=tls");
    assert_eq!(leg.from.as_deref(), Some("14155550101@example.com"));
    assert_eq!(
        leg.headers.get("X-Customer").map(String::as_str),
        Some("42")
    );
    assert_eq!(leg.auth_username.as_deref(), Some("alice"));
    assert!(leg.secure && !leg.video && leg.observe_force_mute);
    assert_eq!(
        leg.streams.as_deref(),
        Some(&["stream-id-1".to_owned()][..])
    );
    assert_eq!(leg.token_format, Some(TokenFormat::ProjectJwt));
    assert_eq!(leg.token_role, "publisher");
    // the SIP password is checked, never kept
    assert!(!format!("{conns:?}").contains("s3cret"));

    let streams = fake.streams(&sid);
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].stream_id, v["streamId"].as_str().unwrap());
    assert_eq!(streams[0].connection_id, conn.connection_id);
    assert_eq!(
        streams[0].video_type, None,
        "a SIP audio leg has no videoType"
    );

    let rec = fake.requests().pop().unwrap();
    assert_eq!(rec.method, Method::POST);
    assert_eq!(rec.path, path("/dial"));
    assert_eq!(rec.json().unwrap()["sip"], sip);
    assert!(!format!("{rec:?}").contains("s3cret"));
}

#[tokio::test]
async fn dial_accepts_t1_and_application_tokens() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let body = json!({"sessionId": sid, "token": t1_token(&sid, sipdial_testing::TEST_API_SECRET),
                      "sip": {"uri": "sip:a@b.example", "video": true}});
    let resp = c.json(Method::POST, &path("/dial"), &body, &pauth()).await;
    assert_eq!(resp.status(), 200);
    let leg = fake.connections(&sid)[0].sip.clone().unwrap();
    assert_eq!(leg.token_format, Some(TokenFormat::T1));
    assert_eq!(fake.streams(&sid)[0].video_type.as_deref(), Some("camera"));

    let now = now();
    let app_token = rs256(&json!({
        "application_id": TEST_APPLICATION_ID, "iat": now, "jti": "x", "exp": now + 86_400,
        "scope": "session.connect", "session_id": sid, "role": "publisher",
        "initial_layout_class_list": "", "sub": "video", "acl": {"paths": {"/session/**": {}}},
    }));
    let body = json!({"sessionId": sid, "token": app_token, "sip": {"uri": "sip:a@b.example"}});
    let resp = c
        .json(
            Method::POST,
            &format!("/v2/project/{TEST_APPLICATION_ID}/dial"),
            &body,
            &Auth::App(app_jwt()),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["projectId"], TEST_APPLICATION_ID);
    assert_eq!(
        fake.connections(&sid)[1].sip.as_ref().unwrap().token_format,
        Some(TokenFormat::ApplicationJwt)
    );
    // PHP's `/call` alias
    let body =
        json!({"sessionId": sid, "token": client_token(&sid), "sip": {"uri": "sip:a@b.example"}});
    let resp = c.json(Method::POST, &path("/call"), &body, &pauth()).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn dial_unknown_session_is_404_and_relayed_is_409() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let unknown = fake.create_session(MediaMode::Routed) + "x";
    expect_error(
        c.dial(&unknown, json!({"uri": "sip:a@b.example"})).await,
        404,
    )
    .await;
    let relayed = c.session(false).await;
    let msg = expect_error(
        c.dial(&relayed, json!({"uri": "sip:a@b.example"})).await,
        409,
    )
    .await;
    assert!(msg.contains("routed"), "{msg}");
    assert!(fake.connections(&relayed).is_empty());
}

#[tokio::test]
async fn dial_refuses_malformed_bodies_with_400() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let tok = client_token(&sid);
    let good_sip = json!({"uri": "sip:a@b.example"});
    let cases = vec![
        ("empty object", json!({})),
        ("no sessionId", json!({"token": tok, "sip": good_sip})),
        (
            "blank sessionId",
            json!({"sessionId": "", "token": tok, "sip": good_sip}),
        ),
        (
            "sessionId with a slash",
            json!({"sessionId": "1_a/b", "token": tok, "sip": good_sip}),
        ),
        ("no token", json!({"sessionId": sid, "sip": good_sip})),
        (
            "numeric token",
            json!({"sessionId": sid, "token": 5, "sip": good_sip}),
        ),
        (
            "garbage token",
            json!({"sessionId": sid, "token": "garbage", "sip": good_sip}),
        ),
        ("no sip", json!({"sessionId": sid, "token": tok})),
        (
            "sip not an object",
            json!({"sessionId": sid, "token": tok, "sip": "sip:a@b.example"}),
        ),
        ("no uri", json!({"sessionId": sid, "token": tok, "sip": {}})),
        (
            "http uri",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "http://a.example"}}),
        ),
        (
            "uri with CRLF",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example\r\nVia: x"}}),
        ),
        (
            "blank from",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "from": ""}}),
        ),
        (
            "from without host",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "from": "alice"}}),
        ),
        (
            "headers array",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "headers": ["X-A"]}}),
        ),
        (
            "header value number",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "headers": {"X-A": 1}}}),
        ),
        (
            "reserved header",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "headers": {"Via": "x"}}}),
        ),
        (
            "auth without password",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "auth": {"username": "u"}}}),
        ),
        (
            "auth without username",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "auth": {"password": "p"}}}),
        ),
        (
            "secure as string",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "secure": "true"}}),
        ),
        (
            "video as number",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "video": 1}}),
        ),
        (
            "observeForceMute as string",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "observeForceMute": "no"}}),
        ),
        (
            "streams not an array",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "streams": "s1"}}),
        ),
        (
            "streams with a number",
            json!({"sessionId": sid, "token": tok, "sip": {"uri": "sip:a@b.example", "streams": [1]}}),
        ),
    ];
    for (name, body) in cases {
        let resp = c.json(Method::POST, &path("/dial"), &body, &pauth()).await;
        assert_eq!(resp.status(), 400, "{name}");
        let msg = expect_error(resp, 400).await;
        assert!(!msg.contains(&tok), "{name}");
    }
    // not JSON at all, and a JSON body under the wrong content type
    let resp = c
        .req(Method::POST, &path("/dial"), &pauth())
        .header("Content-Type", "application/json")
        .body("{\"sessionId\":")
        .send()
        .await
        .unwrap();
    expect_error(resp, 400).await;
    let resp = c
        .req(Method::POST, &path("/dial"), &pauth())
        .header("Content-Type", "text/plain")
        .body(json!({"sessionId": sid, "token": tok, "sip": good_sip}).to_string())
        .send()
        .await
        .unwrap();
    expect_error(resp, 400).await;
    assert!(fake.connections(&sid).is_empty());
}

#[tokio::test]
async fn dial_refuses_tokens_that_do_not_verify_with_403() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let other = c.session(true).await;
    let now = now();
    let claims = |session: &str, exp: i64| {
        json!({"iss": TEST_API_KEY, "ist": "project", "iat": now, "exp": exp,
               "session_id": session, "create_time": now, "nonce": 0.5, "role": "publisher",
               "expire_time": exp, "initial_layout_class_list": "", "scope": "session.connect"})
    };
    let cases = vec![
        ("token for another session", client_token(&other)),
        ("wrong secret", hs256(&claims(&sid, now + 60), "wrong")),
        (
            "expired",
            hs256(&claims(&sid, now - 1), sipdial_testing::TEST_API_SECRET),
        ),
        ("T1 with the wrong secret", t1_token(&sid, "wrong")),
        (
            "T1 for another session",
            t1_token(&other, sipdial_testing::TEST_API_SECRET),
        ),
        (
            "RS256 with no session",
            rs256(&json!({"application_id": TEST_APPLICATION_ID, "scope": "session.connect"})),
        ),
    ];
    for (name, token) in cases {
        let body = json!({"sessionId": sid, "token": token, "sip": {"uri": "sip:a@b.example"}});
        let resp = c.json(Method::POST, &path("/dial"), &body, &pauth()).await;
        assert_eq!(resp.status(), 403, "{name}");
        expect_error(resp, 403).await;
    }
    let mut bad_role = claims(&sid, now + 60);
    bad_role["role"] = json!("admin");
    let body = json!({"sessionId": sid, "token": hs256(&bad_role, sipdial_testing::TEST_API_SECRET), "sip": {"uri": "sip:a@b.example"}});
    expect_error(
        c.json(Method::POST, &path("/dial"), &body, &pauth()).await,
        403,
    )
    .await;
    assert!(fake.connections(&sid).is_empty());
}

#[tokio::test]
async fn hang_up_removes_the_connection_and_stream_then_404() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let v: Value = c
        .dial(&sid, json!({"uri": "sip:a@b.example"}))
        .await
        .json()
        .await
        .unwrap();
    let cid = v["connectionId"].as_str().unwrap();
    let p = path(&format!("/session/{sid}/connection/{cid}"));
    let resp = c.send(Method::DELETE, &p, &pauth()).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.unwrap().is_empty());
    assert!(fake.connections(&sid).is_empty());
    assert!(fake.streams(&sid).is_empty());
    expect_error(c.send(Method::DELETE, &p, &pauth()).await, 404).await;
    let p = path(&format!("/session/{sid}x/connection/{cid}"));
    expect_error(c.send(Method::DELETE, &p, &pauth()).await, 404).await;
}

#[tokio::test]
async fn a_call_ended_by_the_far_end_is_gone() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let v: Value = c
        .dial(&sid, json!({"uri": "sip:a@b.example"}))
        .await
        .json()
        .await
        .unwrap();
    let cid = v["connectionId"].as_str().unwrap();
    assert!(fake.end_connection(&sid, cid));
    assert!(!fake.end_connection(&sid, cid));
    let p = path(&format!("/session/{sid}/connection/{cid}"));
    expect_error(c.send(Method::DELETE, &p, &pauth()).await, 404).await;
}

#[tokio::test]
async fn play_dtmf_to_session_and_connection() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let v: Value = c
        .dial(&sid, json!({"uri": "sip:a@b.example"}))
        .await
        .json()
        .await
        .unwrap();
    let cid = v["connectionId"].as_str().unwrap();
    let to_session = path(&format!("/session/{sid}/play-dtmf"));
    let to_conn = path(&format!("/session/{sid}/connection/{cid}/play-dtmf"));
    let resp = c
        .json(
            Method::POST,
            &to_session,
            &json!({"digits": "0123456789*#p"}),
            &pauth(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = c
        .json(Method::POST, &to_conn, &json!({"digits": "6"}), &pauth())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        fake.session(&sid).unwrap().dtmf,
        vec!["0123456789*#p".to_owned()]
    );
    assert_eq!(fake.connections(&sid)[0].dtmf, vec!["6".to_owned()]);

    for body in [
        json!({"digits": "12a"}),
        json!({"digits": ""}),
        json!({"digits": 5}),
        json!({}),
    ] {
        for p in [&to_session, &to_conn] {
            let resp = c.json(Method::POST, p, &body, &pauth()).await;
            assert_eq!(resp.status(), 400, "{body}");
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v, json!({"code": 400, "message": "Invalid DTMF Digits"}));
        }
    }
    let unknown_conn = path(&format!("/session/{sid}/connection/nope/play-dtmf"));
    expect_error(
        c.json(
            Method::POST,
            &unknown_conn,
            &json!({"digits": "1"}),
            &pauth(),
        )
        .await,
        404,
    )
    .await;
    let unknown_session = path("/session/1_nope/play-dtmf");
    expect_error(
        c.json(
            Method::POST,
            &unknown_session,
            &json!({"digits": "1"}),
            &pauth(),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn mute_one_stream_and_mute_all() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let v: Value = c
        .dial(&sid, json!({"uri": "sip:a@b.example"}))
        .await
        .json()
        .await
        .unwrap();
    let sip_stream = v["streamId"].as_str().unwrap().to_owned();
    let browser = fake.add_client(&sid, Some("name=alice")).unwrap();
    let other = fake.add_client(&sid, None).unwrap();

    let p = path(&format!("/session/{sid}/stream/{sip_stream}/mute"));
    let resp = c.json(Method::POST, &p, &json!({}), &pauth()).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["applicationId"], TEST_API_KEY);
    assert_eq!(v["status"], "ACTIVE");
    for k in ["name", "environment", "createdAt"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    // Java sends no body at all
    assert_eq!(c.send(Method::POST, &p, &pauth()).await.status(), 200);
    let muted: Vec<bool> = fake.streams(&sid).iter().map(|s| s.force_muted).collect();
    assert_eq!(muted, vec![true, false, false]);
    let p = path(&format!("/session/{sid}/stream/nope/mute"));
    expect_error(c.json(Method::POST, &p, &json!({}), &pauth()).await, 404).await;

    let all = path(&format!("/session/{sid}/mute"));
    let body = json!({"active": true, "excludedStreamIds": [browser.stream_id]});
    let resp = c.json(Method::POST, &all, &body, &pauth()).await;
    assert_eq!(resp.status(), 200);
    let streams = fake.streams(&sid);
    assert!(
        !streams
            .iter()
            .find(|s| s.stream_id == browser.stream_id)
            .unwrap()
            .force_muted
    );
    assert!(
        streams
            .iter()
            .find(|s| s.stream_id == other.stream_id)
            .unwrap()
            .force_muted
    );
    assert!(fake.session(&sid).unwrap().mute_all_active);
    let resp = c
        .json(Method::POST, &all, &json!({"active": false}), &pauth())
        .await;
    assert_eq!(resp.status(), 200);
    assert!(!fake.session(&sid).unwrap().mute_all_active);
    expect_error(c.json(Method::POST, &all, &json!({}), &pauth()).await, 400).await;
    expect_error(
        c.json(
            Method::POST,
            &all,
            &json!({"active": true, "excludedStreamIds": "x"}),
            &pauth(),
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn list_and_get_streams() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let list = path(&format!("/session/{sid}/stream"));
    // documented: 404 while the session has never had a stream
    expect_error(c.send(Method::GET, &list, &pauth()).await, 404).await;
    expect_error(
        c.send(Method::GET, &path("/session/1_nope/stream"), &pauth())
            .await,
        404,
    )
    .await;

    let v: Value = c
        .dial(&sid, json!({"uri": "sip:a@b.example"}))
        .await
        .json()
        .await
        .unwrap();
    let stream = v["streamId"].as_str().unwrap().to_owned();
    let cid = v["connectionId"].as_str().unwrap().to_owned();
    let browser = fake.add_client(&sid, None).unwrap();
    let resp = c.send(Method::GET, &list, &pauth()).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["count"], 2);
    assert_eq!(
        v["items"][0],
        json!({"id": stream, "name": "", "layoutClassList": []})
    );
    assert_eq!(v["items"][1]["videoType"], "camera");
    assert_eq!(v["items"][1]["id"], browser.stream_id.as_str());

    let one = path(&format!("/session/{sid}/stream/{stream}"));
    let resp = c.send(Method::GET, &one, &pauth()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["id"], stream.as_str());
    expect_error(
        c.send(
            Method::GET,
            &path(&format!("/session/{sid}/stream/nope")),
            &pauth(),
        )
        .await,
        404,
    )
    .await;

    // after every stream ended: an empty list, no longer a 404
    c.send(
        Method::DELETE,
        &path(&format!("/session/{sid}/connection/{cid}")),
        &pauth(),
    )
    .await;
    fake.end_connection(&sid, &browser.connection_id);
    let v: Value = c
        .send(Method::GET, &list, &pauth())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"count": 0, "items": []}));
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    for p in [
        "/",
        "/nope",
        "/v2/project/123456",
        "/v2/project/123456/session/s/signal",
        "/session/create/",
    ] {
        expect_error(c.send(Method::POST, p, &pauth()).await, 404).await;
    }
    // unknown routes are 404 even without credentials
    expect_error(c.send(Method::GET, "/nope", &Auth::None).await, 404).await;
    expect_error(c.send(Method::GET, "/session/create", &pauth()).await, 405).await;
    expect_error(c.send(Method::PUT, &path("/dial"), &pauth()).await, 405).await;
    assert_eq!(fake.requests().len(), 8);
}
