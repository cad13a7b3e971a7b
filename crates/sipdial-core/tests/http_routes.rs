//! Every route's success path and every error status, with its JSON body, through
//! `SipDialService::oneshot` over the `FakeDialer`.
#![cfg(feature = "fake")]

mod http_support;

use std::time::Duration;

use http::{Method, header};
use http_support::*;
use serde_json::json;
use sipdial_core::DialError;
use sipdial_core::fake::{Operation, Script};

#[tokio::test]
async fn session_is_created_once_per_room_and_reused() {
    let f = fixture();
    let a = f.send(Method::POST, "/sip/session", Some(json!({}))).await;
    assert_eq!(a.status, 200);
    let body = a.json();
    assert_eq!(body["room"], "default");
    assert_eq!(body["apiKey"], "123456");
    assert!(body["sessionId"].as_str().unwrap().starts_with("1_"));
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    let b = f
        .send(
            Method::POST,
            "/sip/session",
            Some(json!({ "room": "default" })),
        )
        .await;
    assert_eq!(b.json()["sessionId"], body["sessionId"]);
    let c = f
        .send(
            Method::POST,
            "/sip/session",
            Some(json!({ "room": "other" })),
        )
        .await;
    assert_ne!(c.json()["sessionId"], body["sessionId"]);
    assert_eq!(f.fake.count(Operation::CreateSession), 2);
}

#[tokio::test]
async fn session_accepts_a_bare_post_without_body() {
    let f = fixture();
    let res = f.send(Method::POST, "/sip/session", None).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.json()["room"], "default");
}

#[tokio::test]
async fn targets_show_names_and_labels_only() {
    let f = fixture();
    let res = f.send(Method::GET, "/sip/targets", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({
            "targets": [
                { "name": "support", "label": "Support desk" },
                { "name": "sales", "label": "sales" }
            ],
            "defaultTarget": "support",
            "customUriAllowed": true
        })
    );
}

#[tokio::test]
async fn token_defaults_to_publisher_for_a_known_session() {
    let f = fixture();
    let sid = f.session("r").await;
    let res = f
        .send(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": sid, "data": "name=Ann" })),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let body = res.json();
    assert_eq!(body["role"], "publisher");
    let claims = jwt_claims(body["token"].as_str().unwrap());
    assert_eq!(claims["session_id"], sid.as_str());
    assert_eq!(claims["role"], "publisher");
    assert_eq!(claims["connection_data"], "name=Ann");
    assert_eq!(
        body["expiresAt"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap() * 1000
    );
    let sub = f
        .send(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": sid, "role": "subscriber" })),
        )
        .await;
    assert_eq!(sub.json()["role"], "subscriber");
}

#[tokio::test]
async fn token_for_an_unknown_session_is_404() {
    let f = fixture();
    // A well-formed session this middleware did not create.
    let foreign = f.fake.create_relayed_session();
    let res = f
        .send(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": foreign.as_str() })),
        )
        .await;
    assert_eq!(res.assert_error(404), "session_not_found");
    assert_eq!(f.fake.count(Operation::IssueToken), 0);
}

#[tokio::test]
async fn token_data_may_not_pose_as_a_sip_leg() {
    let f = fixture();
    let sid = f.session("r").await;
    let res = f
        .send(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": sid, "data": "sip=true" })),
        )
        .await;
    res.assert_error(400);
    assert!(res.message().contains("`data`"), "{}", res.message());
}

#[tokio::test]
async fn dial_uses_the_host_target_and_answers_201_with_location() {
    let f = fixture();
    let sid = f.session("r").await;
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({
                "sessionId": sid,
                "headers": { "X-Customer": "42", "x-source": "caller" }
            })),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let call = res.json();
    let id = call["id"].as_str().unwrap();
    assert_eq!(
        res.headers[header::LOCATION],
        format!("/sip/calls/{id}").as_str()
    );
    assert_eq!(call["sessionId"], sid.as_str());
    assert_eq!(call["target"], "support");
    assert_eq!(call["state"], "dialing");
    assert!(call["createdAt"].as_u64().unwrap() > 0);
    assert!(call.get("endedAt").is_none());
    assert_eq!(
        f.fake.active_calls()[0].connection_id.as_str(),
        call["connectionId"].as_str().unwrap()
    );

    let recorded = f.fake.recorded();
    let token = recorded
        .iter()
        .find(|r| r.op == Operation::IssueToken)
        .unwrap();
    assert!(token.detail.contains("role=publisher"), "{}", token.detail);
    assert!(
        token.detail.contains(r#"data=Some("sip=true")"#),
        "{}",
        token.detail
    );
    let dial = recorded.iter().find(|r| r.op == Operation::Dial).unwrap();
    let d = &dial.detail;
    assert!(
        d.contains("uri=sip:support@pbx.example.com;transport=tls"),
        "{d}"
    );
    assert!(d.contains("from=14155550101@example.com"), "{d}");
    assert!(d.contains("auth_user=agent"), "{d}");
    assert!(d.contains("secure=true"), "{d}");
    // Host headers win over the caller's; the caller's others are added.
    assert!(d.contains("X-Source: host"), "{d}");
    assert!(!d.contains("caller"), "{d}");
    assert!(d.contains("X-Customer: 42"), "{d}");
}

#[tokio::test]
async fn callers_cannot_choose_the_caller_id_through_identity_headers() {
    let f = fixture();
    let sid = f.session("r").await;
    for name in [
        "P-Asserted-Identity",
        "p-preferred-identity",
        "REMOTE-PARTY-ID",
        "Diversion",
        "Privacy",
        "y",
    ] {
        let res = f
            .send(
                Method::POST,
                "/sip/dial",
                Some(json!({
                    "sessionId": sid,
                    "headers": { name: "<sip:+15550100@evil.example>" }
                })),
            )
            .await;
        assert_eq!(res.status, 400, "{name}: {:?}", res.body);
        assert_eq!(res.code(), "invalid_field", "{name}");
        assert!(res.message().contains("`headers`"), "{}", res.message());
        assert!(!res.message().contains("evil"), "{}", res.message());
    }
    assert_eq!(f.fake.count(Operation::Dial), 0);
}

#[tokio::test]
async fn dial_picks_a_named_target_and_refuses_unknown_ones() {
    let f = fixture();
    let sid = f.session("r").await;
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid, "target": "sales" })),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["target"], "sales");
    let dial = f
        .fake
        .recorded()
        .into_iter()
        .find(|r| r.op == Operation::Dial)
        .unwrap();
    assert!(
        dial.detail.contains("uri=sip:sales@pbx.example.com"),
        "{}",
        dial.detail
    );
    assert!(dial.detail.contains("auth_user=-"), "{}", dial.detail);

    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid, "target": "nope" })),
        )
        .await;
    // A well-formed name no target has is a missing resource (the document allows any
    // name of the pattern, so a 400 would refuse a schema-valid request) ...
    res.assert_error(404);
    assert_eq!(res.json()["error"]["code"], "target_not_found");
    // ... a malformed one a bad request naming the field.
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid, "target": "no pe/" })),
        )
        .await;
    res.assert_error(400);
    assert!(res.message().contains("`target`"));
}

#[tokio::test]
async fn dial_without_target_needs_a_default() {
    let fake = fake();
    let api = sipdial_core::SipDialApi::builder(fake.clone())
        .anonymous()
        .target(sipdial_core::api::SipTarget::parse(
            "a",
            "sip:a@x.example.com",
        ))
        .target(sipdial_core::api::SipTarget::parse(
            "b",
            "sip:b@x.example.com",
        ))
        .build()
        .unwrap();
    let sid = send(&api, Method::POST, "/sip/session", None).await.json()["sessionId"].clone();
    let res = send(
        &api,
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": sid })),
    )
    .await;
    res.assert_error(400);
    assert!(res.message().contains("`target`"), "{}", res.message());
}

#[tokio::test]
async fn custom_uri_only_through_the_allow_list_and_never_with_credentials() {
    let f = fixture();
    let sid = f.session("r").await;
    let ok = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid, "uri": "sip:+15551234567@gw.example.com" })),
        )
        .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    let dial = f
        .fake
        .recorded()
        .into_iter()
        .find(|r| r.op == Operation::Dial)
        .unwrap();
    assert!(
        dial.detail.contains("uri=sip:+15551234567@gw.example.com"),
        "{}",
        dial.detail
    );
    assert!(dial.detail.contains("auth_user=-"), "{}", dial.detail);

    for uri in [
        "sip:+19001234567@gw.example.com",
        "sip:+15551234567@gw.example.com;maddr=evil.example",
        "sip:+15551234567@evil.example",
    ] {
        let res = f
            .send(
                Method::POST,
                "/sip/dial",
                Some(json!({ "sessionId": sid, "uri": uri })),
            )
            .await;
        assert_eq!(res.assert_error(403), "uri_not_allowed", "{uri}");
    }
    let bad = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": sid, "uri": "sip:a@b\r\nX: y" })),
        )
        .await;
    bad.assert_error(400);
    assert!(bad.message().contains("`uri`"));
    assert_eq!(f.fake.count(Operation::Dial), 1);
}

#[tokio::test]
async fn custom_uri_is_refused_without_an_allow_list() {
    let fake = fake();
    let api = sipdial_core::SipDialApi::builder(fake.clone())
        .anonymous()
        .build()
        .unwrap();
    let sid = send(&api, Method::POST, "/sip/session", None).await.json()["sessionId"].clone();
    let res = send(
        &api,
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": sid, "uri": "sip:+15551234567@gw.example.com" })),
    )
    .await;
    assert_eq!(res.assert_error(403), "uri_not_allowed");
}

#[tokio::test]
async fn calls_are_listed_read_and_hung_up_idempotently() {
    let f = fixture();
    let sid = f.session("r").await;
    let c1 = f.dial(&sid).await;
    let c2 = f.dial(&sid).await;
    let id1 = c1["id"].as_str().unwrap();

    let list = f
        .send(Method::GET, &format!("/sip/calls?sessionId={sid}"), None)
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["calls"], json!([c1, c2]));

    let one = f
        .send(Method::GET, &format!("/sip/calls/{id1}"), None)
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), c1);

    let del = f
        .send(Method::DELETE, &format!("/sip/calls/{id1}"), None)
        .await;
    assert_eq!(del.status, 204);
    assert!(del.body.is_empty());
    assert_eq!(f.fake.active_calls().len(), 1);
    let again = f
        .send(Method::DELETE, &format!("/sip/calls/{id1}"), None)
        .await;
    assert_eq!(again.status, 204);
    assert_eq!(
        f.fake.count(Operation::HangUp),
        1,
        "an ended call is not hung up twice"
    );

    let ended = f
        .send(Method::GET, &format!("/sip/calls/{id1}"), None)
        .await
        .json();
    assert_eq!(ended["state"], "ended");
    assert!(ended["endedAt"].as_u64().unwrap() >= ended["createdAt"].as_u64().unwrap());

    let active = f
        .send(Method::GET, &format!("/sip/calls?sessionId={sid}"), None)
        .await
        .json();
    assert_eq!(active["calls"].as_array().unwrap().len(), 1);
    let all = f
        .send(
            Method::GET,
            &format!("/sip/calls?all=true&sessionId={sid}&_=123"),
            None,
        )
        .await
        .json();
    assert_eq!(all["calls"].as_array().unwrap().len(), 2);
}

/// Hanging up is an action on the call, not the deletion of its record (the decision
/// in docs/http-api.md): `POST /calls/{id}/hangup` ends it, `GET` keeps answering it as
/// `ended`, a repeat answers 204 without asking the platform again, and the body is
/// empty or `{}` like the mute's.
#[tokio::test]
async fn the_hangup_action_ends_the_call_and_keeps_its_record() {
    let f = fixture();
    let sid = f.session("r").await;
    let call = f.dial(&sid).await;
    let id = call["id"].as_str().unwrap();
    let path = format!("/sip/calls/{id}/hangup");

    let bad = f
        .send(Method::POST, &path, Some(json!({ "now": true })))
        .await;
    assert_eq!(bad.assert_error(400), "invalid_field");
    assert_eq!(f.fake.count(Operation::HangUp), 0);

    let res = f.send(Method::POST, &path, None).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    assert_eq!(f.fake.active_calls().len(), 0);
    let again = f.send(Method::POST, &path, Some(json!({}))).await;
    assert_eq!(again.status, 204);
    assert_eq!(f.fake.count(Operation::HangUp), 1);

    let read = f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["state"], "ended");
    assert_eq!(read.json()["endReason"], "Hung up");

    let unknown = f.send(Method::POST, "/sip/calls/nope/hangup", None).await;
    assert_eq!(unknown.assert_error(404), "call_not_found");
}

#[tokio::test]
async fn hang_up_of_a_call_the_platform_already_dropped_is_204() {
    let f = fixture();
    let sid = f.session("r").await;
    let call = f.dial(&sid).await;
    f.fake.script_once(
        Operation::HangUp,
        Script::Fail(DialError::not_found("connection")),
    );
    let id = call["id"].as_str().unwrap();
    let res = f
        .send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    assert_eq!(res.status, 204);
    let state = f
        .send(Method::GET, &format!("/sip/calls/{id}"), None)
        .await
        .json();
    assert_eq!(state["state"], "ended");
}

#[tokio::test]
async fn dtmf_is_played_to_the_call_and_refused_once_it_ended() {
    let f = fixture();
    let sid = f.session("r").await;
    let call = f.dial(&sid).await;
    let id = call["id"].as_str().unwrap();
    let res = f
        .send(
            Method::POST,
            &format!("/sip/calls/{id}/dtmf"),
            Some(json!({ "digits": "12#p*" })),
        )
        .await;
    assert_eq!(res.status, 204, "{:?}", res.body);
    let played = f
        .fake
        .recorded()
        .into_iter()
        .find(|r| r.op == Operation::PlayDtmf)
        .unwrap();
    let conn = call["connectionId"].as_str().unwrap();
    assert_eq!(played.detail, format!("connection={conn} digits=12#p*"));

    let bad = f
        .send(
            Method::POST,
            &format!("/sip/calls/{id}/dtmf"),
            Some(json!({ "digits": "12a" })),
        )
        .await;
    bad.assert_error(400);
    assert!(bad.message().contains("`digits`"));

    f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    let ended = f
        .send(
            Method::POST,
            &format!("/sip/calls/{id}/dtmf"),
            Some(json!({ "digits": "1" })),
        )
        .await;
    assert_eq!(ended.assert_error(409), "call_ended");
}

#[tokio::test]
async fn bad_json_and_bad_fields_are_400_naming_the_field() {
    let f = fixture();
    let sid = f.session("r").await;
    let raw = |body: &'static str| {
        http::Request::builder()
            .method(Method::POST)
            .uri("/sip/token")
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap()
    };
    let res = send_req(&f.api, raw("{\"sessionId\":")).await;
    assert_eq!(res.assert_error(400), "invalid_json");

    let cases = [
        (json!({}), "`sessionId`"),
        (json!({ "sessionId": "a/b" }), "`sessionId`"),
        (json!({ "sessionId": sid, "role": "admin" }), "`role`"),
        (json!({ "sessionId": sid, "rol": "moderator" }), "`rol`"),
        (json!({ "sessionId": 5 }), "`sessionId`"),
        (
            json!({ "sessionId": sid, "data": "x".repeat(1001) }),
            "`data`",
        ),
    ];
    for (body, field) in cases {
        let res = f.send(Method::POST, "/sip/token", Some(body.clone())).await;
        res.assert_error(400);
        assert!(res.message().contains(field), "{body}: {}", res.message());
    }
    let dial_cases = [
        (
            json!({ "sessionId": sid, "headers": { "Via": "x" } }),
            "`headers`",
        ),
        (
            json!({ "sessionId": sid, "headers": { "X-A": "1\r\nVia: 2" } }),
            "`headers`",
        ),
        (
            json!({ "sessionId": sid, "streams": ["ok", "no/slash"] }),
            "`streams[1]`",
        ),
        (json!({ "sessionId": sid, "secure": false }), "`secure`"),
    ];
    for (body, field) in dial_cases {
        let res = f.send(Method::POST, "/sip/dial", Some(body.clone())).await;
        res.assert_error(400);
        assert!(res.message().contains(field), "{body}: {}", res.message());
    }
    let q = f.send(Method::GET, "/sip/calls", None).await;
    q.assert_error(400);
    assert!(q.message().contains("`sessionId`"));
    let q = f
        .send(
            Method::GET,
            &format!("/sip/calls?sessionId={sid}&all=maybe"),
            None,
        )
        .await;
    q.assert_error(400);
    assert!(q.message().contains("`all`"));
    assert_eq!(f.fake.count(Operation::Dial), 0);
}

#[tokio::test]
async fn unknown_sessions_calls_and_routes_are_404() {
    let f = fixture();
    let sid = f.session("r").await;
    let unknown = "1_MX4xMjM0NTZ-fjE2MDAwMDAwMDAwMDB-dW5rbm93bn5-";
    let dial = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": unknown })),
        )
        .await;
    assert_eq!(dial.assert_error(404), "session_not_found");
    let list = f
        .send(
            Method::GET,
            &format!("/sip/calls?sessionId={unknown}"),
            None,
        )
        .await;
    assert_eq!(list.assert_error(404), "session_not_found");
    for path in ["/sip/calls/nope", "/sip/calls/bad%2Fid"] {
        assert_eq!(
            f.send(Method::GET, path, None).await.assert_error(404),
            "call_not_found"
        );
        assert_eq!(
            f.send(Method::DELETE, path, None).await.assert_error(404),
            "call_not_found"
        );
    }
    let dtmf = f
        .send(
            Method::POST,
            "/sip/calls/nope/dtmf",
            Some(json!({ "digits": "1" })),
        )
        .await;
    assert_eq!(dtmf.assert_error(404), "call_not_found");
    for path in [
        "/sip",
        "/sip/",
        "/sip/nope",
        "/sip/calls/",
        "/sip/session/x",
        "/other",
    ] {
        assert_eq!(
            f.send(Method::GET, path, None).await.assert_error(404),
            "not_found",
            "{path}"
        );
    }
    assert!(!sid.is_empty());
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let f = fixture();
    let cases = [
        (Method::GET, "/sip/session", "POST"),
        (Method::PUT, "/sip/calls/x", "GET, DELETE"),
        (Method::DELETE, "/sip/calls", "GET"),
        (Method::GET, "/sip/calls/x/dtmf", "POST"),
        (Method::POST, "/sip/targets", "GET"),
    ];
    for (method, path, allow) in cases {
        let res = f.send(method.clone(), path, None).await;
        assert_eq!(res.assert_error(405), "method_not_allowed");
        assert_eq!(res.headers[header::ALLOW], allow, "{method} {path}");
    }
}

#[tokio::test]
async fn dialing_a_relayed_session_is_409() {
    let store = std::sync::Arc::new(sipdial_core::api::InMemoryCallStore::new());
    let f = fixture_with(|b| b.store(store.clone()));
    let relayed = f.fake.create_relayed_session();
    use sipdial_core::api::CallStore as _;
    store
        .insert_room_session(&sipdial_core::Room::new("legacy").unwrap(), &relayed)
        .await
        .unwrap();
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": relayed.as_str() })),
        )
        .await;
    assert_eq!(res.assert_error(409), "conflict");
}

#[tokio::test]
async fn non_json_bodies_are_415() {
    let f = fixture();
    for (ct, body) in [
        (Some("text/plain"), "{}"),
        (Some("application/x-www-form-urlencoded"), "sessionId=x"),
        (None, "{\"room\":\"a\"}"),
    ] {
        let mut req = http::Request::builder()
            .method(Method::POST)
            .uri("/sip/session")
            .header(header::HOST, HOST);
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap();
        let res = send_req(&f.api, req).await;
        assert_eq!(res.assert_error(415), "unsupported_media_type", "{ct:?}");
    }
    assert_eq!(f.fake.count(Operation::CreateSession), 0);
}

#[tokio::test]
async fn platform_failures_are_502_504_and_429() {
    let f = fixture_with(|b| b.dials_per_minute(100));
    let sid = f.session("r").await;
    let dial = || f.send(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })));

    f.fake.script_once(
        Operation::Dial,
        Script::Fail(DialError::RejectedCredentials),
    );
    assert_eq!(
        dial().await.assert_error(502),
        "platform_credentials_rejected"
    );

    f.fake.script_once(
        Operation::Dial,
        Script::Fail(DialError::Upstream {
            status: 500,
            code: Some(1),
            message: Some("platform internals".into()),
        }),
    );
    let res = dial().await;
    assert_eq!(res.assert_error(502), "platform_error");
    assert!(!res.message().contains("internals"));

    f.fake.script_once(
        Operation::Dial,
        Script::Fail(DialError::Transport {
            message: "reset".into(),
        }),
    );
    assert_eq!(dial().await.assert_error(502), "platform_unreachable");

    f.fake
        .script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    assert_eq!(dial().await.assert_error(504), "platform_timeout");

    f.fake.script_once(
        Operation::Dial,
        Script::Fail(DialError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        }),
    );
    let res = dial().await;
    assert_eq!(res.assert_error(429), "platform_rate_limited");
    assert_eq!(res.headers[header::RETRY_AFTER], "7");

    f.fake
        .script_once(Operation::CreateSession, Script::Fail(DialError::Timeout));
    let res = f
        .send(
            Method::POST,
            "/sip/session",
            Some(json!({ "room": "fresh" })),
        )
        .await;
    assert_eq!(res.assert_error(504), "platform_timeout");
    // A failed creation is not remembered: the next request creates the session.
    let res = f
        .send(
            Method::POST,
            "/sip/session",
            Some(json!({ "room": "fresh" })),
        )
        .await;
    assert_eq!(res.status, 200);

    let call = f.dial(&sid).await;
    f.fake
        .script_once(Operation::HangUp, Script::Fail(DialError::Timeout));
    let id = call["id"].as_str().unwrap();
    let res = f
        .send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    res.assert_error(504);
    let still = f
        .send(Method::GET, &format!("/sip/calls/{id}"), None)
        .await
        .json();
    assert_eq!(
        still["state"], "dialing",
        "a failed hang-up leaves the call as it was"
    );
}
