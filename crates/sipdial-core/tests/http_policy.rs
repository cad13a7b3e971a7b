//! Policy: single-flight room creation, the authorizer, the origin check, the per-session
//! limits, and configuration errors caught by `build()`.
#![cfg(feature = "fake")]

mod http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Method, Request, header};
use http_support::*;
use serde_json::json;
use sipdial_core::api::{Action, ApiConfigError, Authorizer, Decision, SipTarget, UriAllowList};
use sipdial_core::fake::{Operation, Script};
use sipdial_core::{Role, SipDialApi, async_trait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_first_requests_create_one_session() {
    let f = fixture();
    f.fake.script_once(
        Operation::CreateSession,
        Script::Delay(Duration::from_millis(100)),
    );
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let api = f.api.clone();
            tokio::spawn(async move {
                send(
                    &api,
                    Method::POST,
                    "/sip/session",
                    Some(json!({ "room": "busy" })),
                )
                .await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(res.status, 200);
        ids.insert(res.json()["sessionId"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(f.fake.count(Operation::CreateSession), 1);
}

#[tokio::test]
async fn default_authorizer_refuses_moderator_tokens() {
    let f = fixture();
    let sid = f.session("r").await;
    let res = f
        .send(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": sid, "role": "moderator" })),
        )
        .await;
    assert_eq!(res.assert_error(403), "forbidden");
    assert_eq!(f.fake.count(Operation::IssueToken), 0);
}

/// Grants moderator to requests with `x-staff: yes`, refuses dialing to requests
/// without `x-user`, and records what it saw.
#[derive(Default)]
struct StaffAuthorizer {
    seen: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl Authorizer for StaffAuthorizer {
    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        self.seen
            .lock()
            .unwrap()
            .push(format!("{} {}", head.method, action.name()));
        let staff = head.headers.get("x-staff").is_some_and(|v| v == "yes");
        match action {
            Action::IssueToken {
                role: Role::Moderator,
                ..
            } if !staff => Decision::deny("only staff moderate"),
            Action::IssueToken { .. } if staff => Decision::AllowWithRole(Role::Moderator),
            Action::Dial { .. } if head.headers.get("x-user").is_none() => {
                Decision::deny("sign in to dial")
            }
            _ => Decision::Allow,
        }
    }
}

#[tokio::test]
async fn a_custom_authorizer_grants_moderator_and_denies_dialing() {
    let auth = Arc::new(StaffAuthorizer::default());
    let f = fixture_with(|b| b.authorizer(auth.clone()));
    let sid = f.session("r").await;

    let mut req = request(
        Method::POST,
        "/sip/token",
        Some(json!({ "sessionId": sid })),
    );
    req.headers_mut().insert("x-staff", "yes".parse().unwrap());
    let res = send_req(&f.api, req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["role"], "moderator");
    assert_eq!(
        jwt_claims(res.json()["token"].as_str().unwrap())["role"],
        "moderator"
    );

    let res = f
        .send(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": sid, "role": "moderator" })),
        )
        .await;
    assert_eq!(res.assert_error(403), "forbidden");
    assert_eq!(res.message(), "only staff moderate");

    let res = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })))
        .await;
    assert_eq!(res.assert_error(403), "forbidden");
    assert_eq!(f.fake.count(Operation::Dial), 0);

    let mut req = request(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })));
    req.headers_mut().insert("x-user", "ann".parse().unwrap());
    assert_eq!(send_req(&f.api, req).await.status, 201);

    let seen = auth.seen.lock().unwrap().clone();
    assert_eq!(seen[0], "POST create_session");
    assert!(seen.contains(&"POST dial".to_owned()));
}

#[tokio::test]
async fn authorizer_sees_every_action() {
    let auth = Arc::new(StaffAuthorizer::default());
    let f = fixture_with(|b| b.authorizer(auth.clone()));
    let sid = f.session("r").await;
    let mut req = request(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })));
    req.headers_mut().insert("x-user", "ann".parse().unwrap());
    let call = send_req(&f.api, req).await.json();
    let id = call["id"].as_str().unwrap();
    f.send(Method::GET, "/sip/targets", None).await;
    f.send(Method::GET, &format!("/sip/calls?sessionId={sid}"), None)
        .await;
    f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    f.send(
        Method::POST,
        &format!("/sip/calls/{id}/dtmf"),
        Some(json!({ "digits": "1" })),
    )
    .await;
    f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    let seen = auth.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "POST create_session",
            "POST dial",
            "GET list_targets",
            "GET list_calls",
            "GET get_call",
            "POST play_dtmf",
            "DELETE hang_up"
        ]
    );
}

fn with_origin(
    mut req: Request<http_body_util::Full<bytes::Bytes>>,
    origin: &str,
) -> Request<http_body_util::Full<bytes::Bytes>> {
    req.headers_mut()
        .insert(header::ORIGIN, origin.parse().unwrap());
    req
}

#[tokio::test]
async fn foreign_origins_cannot_change_state() {
    let f = fixture_with(|b| b.allowed_origins(["http://localhost:3000"]));
    let sid = f.session("r").await;
    let dial = || request(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })));

    for origin in [
        "https://evil.example",
        "null",
        "http://app.example.com:8080",
    ] {
        let res = send_req(&f.api, with_origin(dial(), origin)).await;
        assert_eq!(res.assert_error(403), "origin_not_allowed", "{origin}");
    }
    assert_eq!(f.fake.count(Operation::Dial), 0);

    let res = send_req(&f.api, with_origin(dial(), "https://app.example.com")).await;
    assert_eq!(res.status, 201, "same host");
    let res = send_req(&f.api, with_origin(dial(), "http://localhost:3000")).await;
    assert_eq!(res.status, 201, "configured origin");
    let id = res.json()["id"].as_str().unwrap().to_owned();

    let del = with_origin(
        request(Method::DELETE, &format!("/sip/calls/{id}"), None),
        "https://evil.example",
    );
    assert_eq!(
        send_req(&f.api, del).await.assert_error(403),
        "origin_not_allowed"
    );
    // Reads are not state-changing.
    let get = with_origin(
        request(Method::GET, &format!("/sip/calls/{id}"), None),
        "https://evil.example",
    );
    assert_eq!(send_req(&f.api, get).await.status, 200);
    // The origin check comes before the route's own checks.
    let token = with_origin(
        request(
            Method::POST,
            "/sip/token",
            Some(json!({ "sessionId": sid, "role": "moderator" })),
        ),
        "https://evil.example",
    );
    assert_eq!(
        send_req(&f.api, token).await.assert_error(403),
        "origin_not_allowed"
    );
}

#[tokio::test]
async fn active_calls_per_session_are_limited() {
    let f = fixture_with(|b| b.max_active_calls_per_session(2).dials_per_minute(100));
    let sid = f.session("r").await;
    let first = f.dial(&sid).await;
    f.dial(&sid).await;
    let res = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })))
        .await;
    assert_eq!(res.assert_error(429), "too_many_calls");
    assert_eq!(res.headers[header::RETRY_AFTER], "30");
    assert_eq!(f.fake.count(Operation::Dial), 2);
    // Another session has its own allowance.
    let other = f.session("other").await;
    f.dial(&other).await;
    // Ending a call frees a slot.
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
            .await
            .status,
        204
    );
    f.dial(&sid).await;
}

#[tokio::test]
async fn dial_rate_per_session_is_limited() {
    let f = fixture_with(|b| b.dials_per_minute(2).max_active_calls_per_session(10));
    let sid = f.session("r").await;
    f.dial(&sid).await;
    f.fake.script_once(
        Operation::Dial,
        Script::Fail(sipdial_core::DialError::Timeout),
    );
    // Failed attempts count too: toll fraud is attempted, not only achieved.
    assert_eq!(
        f.send(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })))
            .await
            .status,
        504
    );
    let res = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": sid })))
        .await;
    assert_eq!(res.assert_error(429), "dial_rate_limited");
    let after: u64 = res.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&after), "{after}");
    assert_eq!(f.fake.count(Operation::Dial), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_dials_cannot_overshoot_the_active_limit() {
    let f = fixture_with(|b| b.max_active_calls_per_session(3).dials_per_minute(100));
    let sid = f.session("r").await;
    f.fake
        .script_always(Operation::Dial, Script::Delay(Duration::from_millis(50)));
    let ok = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let api = f.api.clone();
            let sid = sid.clone();
            let ok = ok.clone();
            tokio::spawn(async move {
                let res = send(
                    &api,
                    Method::POST,
                    "/sip/dial",
                    Some(json!({ "sessionId": sid })),
                )
                .await;
                if res.status == 201 {
                    ok.fetch_add(1, Ordering::SeqCst);
                } else {
                    assert_eq!(res.assert_error(429), "too_many_calls");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(ok.load(Ordering::SeqCst), 3);
    assert_eq!(f.fake.active_calls().len(), 3);
}

#[test]
fn build_refuses_to_guess_who_may_use_the_api() {
    // Neither an authorizer nor anonymous mode: no API, and the error names both.
    let err = SipDialApi::builder(fake()).build().unwrap_err();
    assert_eq!(err, ApiConfigError::NoAuthorizer);
    let text = err.to_string();
    assert!(
        text.contains(".authorizer(") && text.contains(".anonymous()"),
        "{text}"
    );
    assert!(SipDialApi::builder(fake()).anonymous().build().is_ok());
    let rules = sipdial_core::api::SafeDefaults;
    assert!(
        SipDialApi::builder(fake())
            .authorizer(std::sync::Arc::new(rules))
            .build()
            .is_ok()
    );
}

#[test]
fn build_refuses_bad_configuration() {
    let fake = fake();
    let b = || SipDialApi::builder(fake.clone()).anonymous();
    let err = |r: Result<SipDialApi, ApiConfigError>| r.unwrap_err();
    assert!(matches!(
        err(b()
            .target(SipTarget::parse("desk", "http://not-sip"))
            .build()),
        ApiConfigError::TargetUri { .. }
    ));
    assert!(matches!(
        err(b()
            .target(SipTarget::parse("bad name", "sip:a@b.example"))
            .build()),
        ApiConfigError::TargetName(_)
    ));
    assert!(matches!(
        err(b()
            .target(SipTarget::parse("a", "sip:a@b.example"))
            .target(SipTarget::parse("a", "sip:c@b.example"))
            .build()),
        ApiConfigError::DuplicateTarget(_)
    ));
    assert!(matches!(
        err(b()
            .target(SipTarget::parse("a", "sip:a@b.example"))
            .default_target("b")
            .build()),
        ApiConfigError::UnknownDefaultTarget(_)
    ));
    assert!(matches!(
        err(b().allowed_origins(["localhost:3000"]).build()),
        ApiConfigError::Origin { .. }
    ));
    assert!(matches!(
        err(b()
            .allow_uri(UriAllowList::new().allow("sip:*@*.example"))
            .build()),
        ApiConfigError::UriPattern { .. }
    ));
    assert!(matches!(
        err(b().prefix("sip").build()),
        ApiConfigError::Prefix(_)
    ));
    assert!(matches!(
        err(b().body_limit(0).build()),
        ApiConfigError::BodyLimit
    ));
    assert!(matches!(
        err(b().dials_per_minute(0).build()),
        ApiConfigError::Limit(_)
    ));
    let api = b().prefix("/voice/").build().unwrap();
    assert_eq!(api.prefix(), "/voice");
    assert!(api.serves("/voice") && api.serves("/voice/dial") && !api.serves("/voicemail"));
}

/// A host authorizer reads the user its own login middleware put in the request (a
/// `Principal` extension) together with the room sipdial looked up, without the host
/// wiring the store.
#[tokio::test]
async fn a_host_principal_and_the_room_reach_its_authorizer() {
    struct TeamRooms(std::sync::Mutex<Vec<(String, Option<String>)>>);
    #[async_trait]
    impl Authorizer for TeamRooms {
        async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
            let Some(user) = head.extensions.get::<sipdial_core::api::Principal>() else {
                return Decision::Unauthenticated;
            };
            let room = action.room().map(|r| r.as_str().to_owned());
            self.0
                .lock()
                .unwrap()
                .push((user.subject().to_owned(), room.clone()));
            match room {
                Some(r) if r == format!("team-{}", user.subject()) => Decision::Allow,
                _ => Decision::NotFound,
            }
        }
    }
    let seen = Arc::new(TeamRooms(Default::default()));
    let anon = fixture();
    let session = anon.session("team-ann").await;
    let call = anon.dial(&session).await;
    let id = call["id"].as_str().unwrap().to_owned();
    let api = builder(&anon.fake)
        .store(Arc::clone(anon.api.store()))
        .authorizer(Arc::clone(&seen) as Arc<dyn Authorizer>)
        .build()
        .unwrap();
    let as_user = |user: Option<&str>| {
        let mut req = request(Method::GET, &format!("/sip/calls/{id}"), None);
        if let Some(u) = user {
            req.extensions_mut()
                .insert(sipdial_core::api::Principal::new(u).unwrap());
        }
        req
    };
    assert_eq!(send_req(&api, as_user(Some("ann"))).await.status, 200);
    let bob = send_req(&api, as_user(Some("bob"))).await;
    assert_eq!(bob.code(), "call_not_found");
    let nobody = send_req(&api, as_user(None)).await;
    nobody.assert_error(401);
    assert_eq!(nobody.code(), "unauthenticated");
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![
            ("ann".to_owned(), Some("team-ann".to_owned())),
            ("bob".to_owned(), Some("team-ann".to_owned())),
        ]
    );
}
