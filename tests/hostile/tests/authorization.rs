//! No route dials, mints a moderator token, hangs up, plays DTMF or reads another
//! session's calls when the authorizer denies it, through the Axum router and the
//! Actix scope; and an authorizer's role grant never leaks into the SIP leg's token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::{HeaderName, HeaderValue, Method};
use serde_json::json;
use sipdial_core::api::{Action, Authorizer, Decision};
use sipdial_core::fake::Operation;
use sipdial_core::testing::{HttpIntegration, TestRequest, TestResponse};
use sipdial_core::{Role, SessionId, async_trait};
use sipdial_hostile_tests::check::{Expect, check};
use sipdial_hostile_tests::fixture::{HostileFixture, SIP_HOST, path, seed};
use sipdial_hostile_tests::forms::{ActixScope, AxumRouter};

const USER: HeaderName = HeaderName::from_static("x-user");

/// Owners of sessions; the `x-user` header says who is asking. Admin may do anything
/// (and gets moderator tokens); others act only on their own sessions, never as
/// moderator; anonymous requests are denied everything.
#[derive(Default)]
struct Owners {
    owners: Mutex<HashMap<SessionId, String>>,
    seen: Mutex<Vec<(String, Action)>>,
}

impl Owners {
    fn own(&self, session: &str, user: &str) {
        self.owners
            .lock()
            .unwrap()
            .insert(SessionId::new(session).unwrap(), user.to_owned());
    }
}

#[async_trait]
impl Authorizer for Owners {
    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        let user = head
            .headers
            .get(&USER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.seen
            .lock()
            .unwrap()
            .push((user.clone(), action.clone()));
        if user.is_empty() {
            return Decision::deny("sign in first");
        }
        if user == "admin" {
            return match action {
                Action::IssueToken { .. } => Decision::AllowWithRole(Role::Moderator),
                _ => Decision::Allow,
            };
        }
        let owns = |s: &SessionId| self.owners.lock().unwrap().get(s) == Some(&user);
        match action {
            Action::CreateSession { room } if room.as_str().starts_with(&user) => Decision::Allow,
            Action::ListTargets => Decision::Allow,
            Action::IssueToken {
                role: Role::Moderator,
                ..
            } => Decision::deny("no moderator tokens for you"),
            Action::IssueToken { session_id, .. }
            | Action::Dial { session_id, .. }
            | Action::HangUp { session_id, .. }
            | Action::PlayDtmf { session_id, .. }
            | Action::ListCalls { session_id, .. }
            | Action::GetCall { session_id, .. }
                if owns(session_id) =>
            {
                Decision::Allow
            }
            _ => Decision::deny("not your session"),
        }
    }
}

fn as_user(req: TestRequest, user: &str) -> TestRequest {
    req.header(USER, HeaderValue::from_str(user).unwrap())
}

fn forbidden(res: &TestResponse, what: &str) {
    if let Err(e) = check(Expect::Error(403, "forbidden"), res, false) {
        panic!("{what}: {e}");
    }
}

async fn another_sessions_calls_are_out_of_reach<I: HttpIntegration>() {
    let owners = Arc::new(Owners::default());
    let fx = HostileFixture::with_authorizer(owners.clone());
    let http = I::build(fx.api.clone()).await;
    // Alice's session and call are seeded by admin, then handed to alice.
    let alice = seed(&http, "alice-room", &[("x-user", "admin")]).await;
    owners.own(&alice.session, "alice");
    let mallory = seed(&http, "mallory-room", &[("x-user", "admin")]).await;
    owners.own(&mallory.session, "mallory");
    let a = alice.session.as_str();
    let ac = alice.call.as_str();
    let before = fx.call_control_counts();
    let tokens_before = fx.dialer.count(Operation::IssueToken);

    let attempts: Vec<(&str, TestRequest)> = vec![
        (
            "dial into alice's session",
            TestRequest::post(path("/dial")).json(&json!({ "sessionId": a })),
        ),
        (
            "dial a named target",
            TestRequest::post(path("/dial")).json(&json!({ "sessionId": a, "target": "sales" })),
        ),
        (
            "dial an allowed URI",
            TestRequest::post(path("/dial"))
                .json(&json!({ "sessionId": a, "uri": format!("sip:1@{SIP_HOST}") })),
        ),
        (
            "token for alice's session",
            TestRequest::post(path("/token")).json(&json!({ "sessionId": a })),
        ),
        (
            "moderator token for alice's session",
            TestRequest::post(path("/token")).json(&json!({ "sessionId": a, "role": "moderator" })),
        ),
        (
            "moderator token for her own session",
            TestRequest::post(path("/token"))
                .json(&json!({ "sessionId": mallory.session, "role": "moderator" })),
        ),
        (
            "hang up alice's call",
            TestRequest::delete(path(&format!("/calls/{ac}"))),
        ),
        (
            "DTMF into alice's call",
            TestRequest::post(path(&format!("/calls/{ac}/dtmf"))).json(&json!({ "digits": "911" })),
        ),
        (
            "list alice's calls",
            TestRequest::get(path(&format!("/calls?sessionId={a}"))),
        ),
        (
            "list alice's ended calls",
            TestRequest::get(path(&format!("/calls?sessionId={a}&all=true"))),
        ),
        (
            "list alice's calls, second sessionId ignored",
            TestRequest::get(path(&format!(
                "/calls?sessionId={a}&sessionId={}",
                mallory.session
            ))),
        ),
        (
            "list alice's calls, percent-encoded",
            TestRequest::get(path(&format!("/calls?sessionId={}", a.replace('_', "%5F")))),
        ),
        (
            "read alice's call",
            TestRequest::get(path(&format!("/calls/{ac}"))),
        ),
        (
            "create alice's room",
            TestRequest::post(path("/session")).json(&json!({ "room": "alice-room" })),
        ),
    ];
    for (what, req) in attempts {
        let res = http.send(as_user(req, "mallory")).await;
        forbidden(&res, what);
        assert!(
            !res.text().contains(&alice.call),
            "{what}: the refusal names the call"
        );
    }
    assert_eq!(
        fx.call_control_counts(),
        before,
        "a denied request reached the dialer"
    );
    assert_eq!(
        fx.dialer.count(Operation::IssueToken),
        tokens_before,
        "a denied token was minted"
    );

    // Anonymous: every route refused, targets included.
    for req in [
        TestRequest::get(path("/targets")),
        TestRequest::post(path("/session")).json(&json!({})),
        TestRequest::post(path("/dial")).json(&json!({ "sessionId": mallory.session })),
        TestRequest::delete(path(&format!("/calls/{}", mallory.call))),
        TestRequest::get(path(&format!("/calls/{}", mallory.call))),
    ] {
        let what = format!("anonymous {} {}", req.method, req.uri);
        forbidden(&http.send(req).await, &what);
    }
    assert_eq!(fx.call_control_counts(), before);

    // Alice's call is untouched.
    let res = http
        .send(as_user(
            TestRequest::get(path(&format!("/calls/{ac}"))),
            "alice",
        ))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json().unwrap()["state"], "dialing");

    // The authorizer saw the right session for call-addressed actions.
    let saw_hang_up = owners.seen.lock().unwrap().iter().any(|(u, a)| {
        u == "mallory"
            && matches!(a, Action::HangUp { session_id, .. } if session_id.as_str() == alice.session)
    });
    assert!(saw_hang_up);

    // Mallory's own session works: the authorizer is not simply denying everything,
    // and the first `sessionId` of a query is the one authorized and served.
    let res = http
        .send(as_user(
            TestRequest::get(path(&format!(
                "/calls?sessionId={}&sessionId={a}",
                mallory.session
            ))),
            "mallory",
        ))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let listed = res.json().unwrap();
    let ids: Vec<&str> = listed["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mallory.call.as_str()]);
    let res = http
        .send(as_user(
            TestRequest::delete(path(&format!("/calls/{}", mallory.call))),
            "mallory",
        ))
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(
        fx.call_control_counts(),
        [before[0], before[1] + 1, before[2]]
    );
}

#[tokio::test]
async fn axum_denied_requests_never_reach_another_session() {
    another_sessions_calls_are_out_of_reach::<AxumRouter>().await;
}

#[actix_web::test]
async fn actix_denied_requests_never_reach_another_session() {
    another_sessions_calls_are_out_of_reach::<ActixScope>().await;
}

/// Grants moderator for everything it is asked, to show the grant reaches only the
/// token route, never the SIP leg's own token.
struct GrantsModerator;

#[async_trait]
impl Authorizer for GrantsModerator {
    async fn authorize(&self, _head: &http::request::Parts, _action: &Action) -> Decision {
        Decision::AllowWithRole(Role::Moderator)
    }
}

async fn role_grants_stay_on_the_token_route<I: HttpIntegration>() {
    let fx = HostileFixture::with_authorizer(Arc::new(GrantsModerator));
    let http = I::build(fx.api.clone()).await;
    let s = seed(&http, "r", &[]).await;
    let sip_leg = fx
        .dialer
        .recorded()
        .into_iter()
        .find(|r| r.op == Operation::IssueToken)
        .expect("the dial minted the SIP leg's token");
    assert!(
        sip_leg
            .detail
            .starts_with("role=publisher data=Some(\"sip=true\")"),
        "{}",
        sip_leg.detail
    );
    let res = http
        .send(TestRequest::post(path("/token")).json(&json!({ "sessionId": s.session })))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json().unwrap()["role"], "moderator");
}

#[tokio::test]
async fn axum_role_grants_stay_on_the_token_route() {
    role_grants_stay_on_the_token_route::<AxumRouter>().await;
}

#[actix_web::test]
async fn actix_role_grants_stay_on_the_token_route() {
    role_grants_stay_on_the_token_route::<ActixScope>().await;
}

async fn default_authorizer_never_mints_moderator<I: HttpIntegration>() {
    let fx = HostileFixture::new();
    let http = I::build(fx.api.clone()).await;
    let s = seed(&http, "r", &[]).await;
    let tokens = fx.dialer.count(Operation::IssueToken);
    let res = http
        .send(
            TestRequest::new(Method::POST, path("/token"))
                .json(&json!({ "sessionId": s.session, "role": "moderator" })),
        )
        .await;
    forbidden(&res, "moderator with the default authorizer");
    for role in [
        "Moderator",
        "MODERATOR",
        "moderator\u{0}",
        " moderator",
        "admin",
    ] {
        let res = http
            .send(
                TestRequest::post(path("/token"))
                    .json(&json!({ "sessionId": s.session, "role": role })),
            )
            .await;
        check(Expect::Error(400, "invalid_field"), &res, false)
            .unwrap_or_else(|e| panic!("{role:?}: {e}"));
    }
    assert_eq!(fx.dialer.count(Operation::IssueToken), tokens);
}

#[tokio::test]
async fn axum_default_authorizer_never_mints_moderator() {
    default_authorizer_never_mints_moderator::<AxumRouter>().await;
}

#[actix_web::test]
async fn actix_default_authorizer_never_mints_moderator() {
    default_authorizer_never_mints_moderator::<ActixScope>().await;
}
