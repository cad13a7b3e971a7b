//! Who may do what: grants verified on every user route (401 without one), sessions and
//! calls outside a grant answered like unknown ones (404), roles the grant does not
//! name refused (403), the room reaching a host's own authorizer, and callbacks that
//! never reach an authorizer. Each case mounts a second API over the fixture's state
//! (a replica asking the authorizer under test) beside the anonymous one that sets
//! the scene.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;

use super::{Outcome, api_error, count, create_session, dial, ensure, json_ok, status, str_field};
use crate::api::{
    Action, Authorizer, AuthorizerExt, Decision, Grant, GrantAuthorizer, Principal, SafeDefaults,
    Unauthenticated,
};
use crate::fake::Operation;
use crate::testing::runner::Cx;
use crate::testing::{Fixture, HttpIntegration, TestRequest, TestResponse};
use crate::{Role, Room, SipDialApi};

/// A second form of `I` serving `api`, and its base path.
struct Replica<I> {
    http: I,
    base: String,
}

impl<I: HttpIntegration> Replica<I> {
    async fn new(api: SipDialApi) -> Self {
        let prefix = api.prefix().to_owned();
        let http = I::build(api).await;
        let base = format!("{}{prefix}", http.mount());
        Self { http, base }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        bearer: Option<&str>,
    ) -> TestResponse {
        let mut req = TestRequest::new(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = bearer {
            req = req.header(
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}")).expect("a token is a header value"),
            );
        }
        self.http.send(req).await
    }
}

fn granted<I: HttpIntegration>(cx: &Cx<I>) -> SipDialApi {
    let grants =
        GrantAuthorizer::hs256(Fixture::GRANT_KEY).expect("the suite's key is long enough");
    cx.fixture
        .with_authorizer(Arc::new(SafeDefaults.and(grants)))
}

fn sign(grant: Grant) -> Result<String, String> {
    grant
        .sign_hs256(Fixture::GRANT_KEY, Duration::from_secs(300))
        .map_err(|e| format!("signing a grant: {e}"))
}

fn room(name: &str) -> Room {
    Room::new(name).expect("a valid room name")
}

/// Everything in `rooms`, every role but moderator.
fn full_grant(subject: &str, rooms: &[&str]) -> Grant {
    rooms
        .iter()
        .fold(Grant::new(subject), |g, r| g.room(room(r)))
        .create_session()
        .token_roles([Role::Publisher, Role::Subscriber])
        .dial_any_target()
        .control()
        .read()
        .events()
}

fn unauthenticated(res: &TestResponse, what: &str) -> Outcome {
    api_error(res, StatusCode::UNAUTHORIZED).map_err(|e| format!("{what}: {e}"))?;
    let code = res.json()?["error"]["code"].clone();
    ensure(code == "unauthenticated", || format!("{what}: code {code}"))?;
    let challenge = res.header(WWW_AUTHENTICATE.as_str()).unwrap_or_default();
    ensure(challenge.starts_with("Bearer"), || {
        format!("{what}: WWW-Authenticate {challenge:?}")
    })
}

/// The user routes, each with a real session or call id and with unknown ones.
fn user_routes(session: &str, call: &str) -> Vec<(Method, String, Option<serde_json::Value>)> {
    let mut routes = Vec::new();
    for (sid, cid) in [(session, call), ("1_unknown-session", "unknown-call")] {
        routes.extend([
            (
                Method::POST,
                "/session".to_owned(),
                Some(json!({ "room": "lobby" })),
            ),
            (
                Method::POST,
                "/token".to_owned(),
                Some(json!({ "sessionId": sid })),
            ),
            (
                Method::POST,
                "/dial".to_owned(),
                Some(json!({ "sessionId": sid })),
            ),
            (Method::GET, format!("/events?sessionId={sid}"), None),
            (Method::GET, format!("/calls?sessionId={sid}"), None),
            (Method::GET, format!("/calls/{cid}"), None),
            (
                Method::POST,
                format!("/calls/{cid}/dtmf"),
                Some(json!({ "digits": "9011#" })),
            ),
            (Method::POST, format!("/calls/{cid}/mute"), Some(json!({}))),
            (Method::DELETE, format!("/calls/{cid}"), None),
            (Method::GET, "/targets".to_owned(), None),
        ]);
    }
    routes
}

pub(in crate::testing) async fn grants_are_required_on_every_user_route<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let call_id = str_field(&call, "id")?.to_owned();
    let api = Replica::<I>::new(granted(cx)).await;
    let before = platform_calls(cx);
    let expired = Grant::new("mallory")
        .all_rooms()
        .create_session()
        .dial_any_target()
        .control()
        .issued_at(crate::Timestamp::now().as_secs().saturating_sub(3600))
        .sign_hs256(Fixture::GRANT_KEY, Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    let wrong_key = full_grant("mallory", &["lobby"])
        .sign_hs256(
            b"not-the-servers-key-but-32-bytes-long",
            Duration::from_secs(60),
        )
        .map_err(|e| e.to_string())?;
    for (method, path, body) in user_routes(&session, &call_id) {
        for bearer in [
            None,
            Some("garbage"),
            Some(expired.as_str()),
            Some(wrong_key.as_str()),
        ] {
            let res = api.send(method.clone(), &path, body.clone(), bearer).await;
            let what = format!(
                "{method} {path} with {}",
                match bearer {
                    None => "no credentials",
                    Some("garbage") => "a garbled token",
                    Some(t) if t == expired => "an expired grant",
                    Some(_) => "a grant signed with another key",
                }
            );
            unauthenticated(&res, &what)?;
        }
    }
    // Nothing reached the platform after the scene was set.
    ensure(platform_calls(cx) == before, || {
        format!(
            "the platform was called: {before:?} before, {:?} after",
            platform_calls(cx)
        )
    })
}

/// How often each platform operation was called so far.
fn platform_calls<I: HttpIntegration>(cx: &Cx<I>) -> Vec<usize> {
    [
        Operation::CreateSession,
        Operation::IssueToken,
        Operation::Dial,
        Operation::HangUp,
        Operation::PlayDtmf,
        Operation::ForceMute,
    ]
    .into_iter()
    .map(|op| cx.fixture.dialer.count(op))
    .collect()
}

pub(in crate::testing) async fn grants_hide_other_rooms_as_unknown<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let theirs = create_session(cx, "team-b").await?;
    let call = dial(cx, &theirs).await?;
    let call_id = str_field(&call, "id")?.to_owned();
    let api = Replica::<I>::new(granted(cx)).await;
    let before = platform_calls(cx);
    let jwt = sign(full_grant("alice", &["team-a"]))?;
    let t = Some(jwt.as_str());
    let same_as_unknown = |res: TestResponse, unknown: TestResponse, what: &str| -> Outcome {
        status(&res, StatusCode::NOT_FOUND).map_err(|e| format!("{what}: {e}"))?;
        ensure(res.json()? == unknown.json()?, || {
            format!(
                "{what}: {} differs from an unknown id's {}",
                res.text(),
                unknown.text()
            )
        })
    };
    for (method, known, unknown, body) in [
        (
            Method::GET,
            format!("/calls/{call_id}"),
            "/calls/unknown-call".to_owned(),
            None,
        ),
        (
            Method::DELETE,
            format!("/calls/{call_id}"),
            "/calls/unknown-call".to_owned(),
            None,
        ),
        (
            Method::POST,
            format!("/calls/{call_id}/dtmf"),
            "/calls/unknown-call/dtmf".to_owned(),
            Some(json!({"digits": "1"})),
        ),
        (
            Method::POST,
            format!("/calls/{call_id}/mute"),
            "/calls/unknown-call/mute".to_owned(),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("/calls?sessionId={theirs}"),
            "/calls?sessionId=1_unknown".to_owned(),
            None,
        ),
        (
            Method::GET,
            format!("/events?sessionId={theirs}"),
            "/events?sessionId=1_unknown".to_owned(),
            None,
        ),
    ] {
        let res = api.send(method.clone(), &known, body.clone(), t).await;
        let other = api.send(method.clone(), &unknown, body.clone(), t).await;
        same_as_unknown(res, other, &format!("{method} {known}"))?;
    }
    for path in ["/token", "/dial"] {
        let res = api
            .send(Method::POST, path, Some(json!({ "sessionId": theirs })), t)
            .await;
        let other = api
            .send(
                Method::POST,
                path,
                Some(json!({ "sessionId": "1_unknown" })),
                t,
            )
            .await;
        same_as_unknown(res, other, path)?;
    }
    ensure(platform_calls(cx) == before, || {
        "the platform was called".to_owned()
    })?;
    // Its own room works, and the per-client limits see the grant's subject.
    let own = api
        .send(
            Method::POST,
            "/session",
            Some(json!({ "room": "team-a" })),
            t,
        )
        .await;
    let sid = str_field(&json_ok(&own, StatusCode::OK)?, "sessionId")?.to_owned();
    let placed = api
        .send(Method::POST, "/dial", Some(json!({ "sessionId": sid })), t)
        .await;
    let id = str_field(&json_ok(&placed, StatusCode::CREATED)?, "id")?.to_owned();
    let res = api
        .send(Method::DELETE, &format!("/calls/{id}"), None, t)
        .await;
    status(&res, StatusCode::NO_CONTENT)
}

pub(in crate::testing) async fn grants_refuse_roles_they_do_not_name<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "team-a").await?;
    let api = Replica::<I>::new(granted(cx)).await;
    let jwt = sign(
        Grant::new("viewer")
            .room(room("team-a"))
            .token_roles([Role::Subscriber]),
    )?;
    let t = Some(jwt.as_str());
    let ask = |role: &'static str| {
        api.send(
            Method::POST,
            "/token",
            Some(json!({ "sessionId": session, "role": role })),
            t,
        )
    };
    api_error(&ask("publisher").await, StatusCode::FORBIDDEN)
        .map_err(|e| format!("publisher: {e}"))?;
    api_error(&ask("moderator").await, StatusCode::FORBIDDEN)
        .map_err(|e| format!("moderator: {e}"))?;
    let ok = json_ok(&ask("subscriber").await, StatusCode::OK)?;
    ensure(ok["role"] == "subscriber", || format!("role: {ok}"))?;
    // No dial grant: 403, and the platform never asked.
    let res = api
        .send(
            Method::POST,
            "/dial",
            Some(json!({ "sessionId": session })),
            t,
        )
        .await;
    api_error(&res, StatusCode::FORBIDDEN).map_err(|e| format!("dial: {e}"))?;
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

/// A host's own login: it names the user (as its middleware would) and allows only
/// the rooms `team-<user>`, reading the room sipdial looked up.
#[derive(Default)]
struct TeamRooms {
    seen: std::sync::Mutex<Vec<(String, String, Option<String>)>>,
}

#[async_trait]
impl Authorizer for TeamRooms {
    async fn authenticate(&self, head: &mut http::request::Parts) -> Result<(), Unauthenticated> {
        let user = head
            .headers
            .get("x-test-user")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Principal::new(v).ok())
            .ok_or(Unauthenticated)?;
        head.extensions.insert(user);
        Ok(())
    }

    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        let Some(user) = head.extensions.get::<Principal>() else {
            return Decision::Unauthenticated;
        };
        self.seen.lock().expect("not poisoned").push((
            user.subject().to_owned(),
            action.name().to_owned(),
            action.room().map(|r| r.as_str().to_owned()),
        ));
        let own = format!("team-{}", user.subject());
        match action {
            Action::CreateSession { room } if room.as_str() == own => Decision::Allow,
            Action::GetCall { .. } | Action::HangUp { .. }
                if action.room().is_some_and(|r| r.as_str() == own) =>
            {
                Decision::Allow
            }
            Action::GetCall { .. } | Action::HangUp { .. } => Decision::NotFound,
            _ => Decision::deny("not allowed"),
        }
    }
}

pub(in crate::testing) async fn a_host_authorizer_sees_its_user_and_the_room<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "team-ann").await?;
    let call = dial(cx, &session).await?;
    let call_id = str_field(&call, "id")?.to_owned();
    let rules = Arc::new(TeamRooms::default());
    let api = Replica::<I>::new(
        cx.fixture
            .with_authorizer(Arc::new(SafeDefaults.and(Arc::clone(&rules)))),
    )
    .await;
    let as_user = |user: &'static str, method: Method, path: String| {
        let mut req = TestRequest::new(method, format!("{}{path}", api.base));
        req = req.header(
            http::HeaderName::from_static("x-test-user"),
            HeaderValue::from_static(user),
        );
        api.http.send(req)
    };
    let res = as_user("ann", Method::GET, format!("/calls/{call_id}")).await;
    json_ok(&res, StatusCode::OK)?;
    let res = as_user("bob", Method::GET, format!("/calls/{call_id}")).await;
    status(&res, StatusCode::NOT_FOUND)?;
    let res = api
        .send(Method::GET, &format!("/calls/{call_id}"), None, None)
        .await;
    unauthenticated(&res, "no user")?;
    let seen = rules.seen.lock().expect("not poisoned").clone();
    let want = vec![
        (
            "ann".to_owned(),
            "get_call".to_owned(),
            Some("team-ann".to_owned()),
        ),
        (
            "bob".to_owned(),
            "get_call".to_owned(),
            Some("team-ann".to_owned()),
        ),
    ];
    ensure(seen == want, || format!("the authorizer saw {seen:?}"))
}

/// Refuses everyone, and counts how often it was asked.
#[derive(Default)]
struct Nobody(AtomicUsize);

#[async_trait]
impl Authorizer for Nobody {
    async fn authenticate(&self, _: &mut http::request::Parts) -> Result<(), Unauthenticated> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(Unauthenticated)
    }

    async fn authorize(&self, _: &http::request::Parts, _: &Action) -> Decision {
        self.0.fetch_add(1, Ordering::SeqCst);
        Decision::Unauthenticated
    }
}

pub(in crate::testing) async fn callbacks_never_reach_the_authorizer<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?.to_owned();
    let nobody = Arc::new(Nobody::default());
    let api = cx
        .fixture
        .with_authorizer(Arc::clone(&nobody) as Arc<dyn Authorizer>);
    let body = json!({
        "sessionId": session, "event": "callUpdated", "timestamp": 50,
        "call": { "id": id, "connectionId": call["connectionId"], "status": "ringing" },
    });
    let full = Replica::<I>::new(api.clone()).await;
    json_ok(
        &full
            .send(Method::POST, "/callbacks", Some(body.clone()), None)
            .await,
        StatusCode::OK,
    )?;
    // Mounted apart (outside a host's login), the callbacks alone.
    let apart = Replica::<I>::new(api.callbacks_only()).await;
    json_ok(
        &apart
            .send(Method::POST, "/callbacks", Some(body), None)
            .await,
        StatusCode::OK,
    )?;
    let other = apart
        .send(Method::POST, "/session", Some(json!({})), None)
        .await;
    status(&other, StatusCode::NOT_FOUND)
        .map_err(|e| format!("a user route on callbacks_only: {e}"))?;
    let users = Replica::<I>::new(api.without_callbacks()).await;
    let res = users
        .send(Method::POST, "/callbacks", Some(json!({})), None)
        .await;
    status(&res, StatusCode::NOT_FOUND)
        .map_err(|e| format!("callbacks on without_callbacks: {e}"))?;
    let asked = nobody.0.load(Ordering::SeqCst);
    ensure(asked == 0, || {
        format!("the authorizer was asked {asked} times about callbacks")
    })
}
