//! REST authentication: what the fake accepts and refuses, like the cloud.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use sipdial_testing::{AuthKind, FakePlatform, TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID};

async fn create(c: &Client, auth: Auth) -> reqwest::Response {
    c.form("/session/create", "p2p.preference=disabled", &auth)
        .await
}

#[tokio::test]
async fn accepts_the_node_sdk_layout_without_jti_and_records_claims() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let claims = node_claims();
    let resp = create(&c, Auth::Project(hs256(&claims, TEST_API_SECRET))).await;
    assert_eq!(resp.status(), 200);
    let rec = fake.requests();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].auth_claims.as_ref(), Some(&claims));
    assert_eq!(rec[0].auth_kind, Some(AuthKind::Project));
    assert_eq!(rec[0].status, Some(200));
}

#[tokio::test]
async fn accepts_ist_in_the_header_as_ruby_sends_it() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let now = now();
    let token = jwt(
        &json!({"ist": "project", "alg": "HS256"}),
        &json!({"iss": TEST_API_KEY, "iat": now, "exp": now + 300}),
        Algorithm::HS256,
        &EncodingKey::from_secret(TEST_API_SECRET.as_bytes()),
    );
    assert_eq!(create(&c, Auth::Project(token)).await.status(), 200);
}

#[tokio::test]
async fn accepts_application_bearer_tokens() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let resp = create(&c, Auth::App(app_jwt())).await;
    assert_eq!(resp.status(), 200);
    let rec = &fake.requests()[0];
    assert_eq!(rec.auth_kind, Some(AuthKind::Application));
    assert_eq!(
        rec.auth_claims.as_ref().unwrap()["application_id"],
        TEST_APPLICATION_ID
    );
}

#[tokio::test]
async fn refuses_missing_and_wrong_credentials() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let now = now();
    let secret_key = EncodingKey::from_secret(TEST_API_SECRET.as_bytes());
    let cases: Vec<(&str, Auth)> = vec![
        ("missing header", Auth::None),
        ("empty header", Auth::Project(String::new())),
        ("not a JWT", Auth::Project("abc".into())),
        (
            "wrong secret",
            Auth::Project(hs256(&node_claims(), &format!("{TEST_API_SECRET}x"))),
        ),
        (
            "wrong iss",
            Auth::Project(hs256(
                &json!({"iss": "654321", "ist": "project", "iat": now, "exp": now + 300}),
                TEST_API_SECRET,
            )),
        ),
        (
            "numeric iss of another key",
            Auth::Project(hs256(
                &json!({"iss": 1, "ist": "project", "iat": now, "exp": now + 300}),
                TEST_API_SECRET,
            )),
        ),
        (
            "ist account",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "ist": "account", "iat": now, "exp": now + 300}),
                TEST_API_SECRET,
            )),
        ),
        (
            "no ist",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "iat": now, "exp": now + 300}),
                TEST_API_SECRET,
            )),
        ),
        (
            "expired",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "ist": "project", "iat": now - 600, "exp": now - 300}),
                TEST_API_SECRET,
            )),
        ),
        (
            "no exp",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "ist": "project", "iat": now}),
                TEST_API_SECRET,
            )),
        ),
        (
            "no iat",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "ist": "project", "exp": now + 300}),
                TEST_API_SECRET,
            )),
        ),
        (
            "lifetime over an hour",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "ist": "project", "iat": now, "exp": now + 7200}),
                TEST_API_SECRET,
            )),
        ),
        (
            "iat far in the future",
            Auth::Project(hs256(
                &json!({"iss": TEST_API_KEY, "ist": "project", "iat": now + 3000, "exp": now + 3100}),
                TEST_API_SECRET,
            )),
        ),
        (
            "alg HS512 under the right secret",
            Auth::Project(jwt(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &node_claims(),
                Algorithm::HS512,
                &secret_key,
            )),
        ),
        (
            "alg none",
            Auth::Project(format!(
                "{}.{}.",
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
                base64_claims(&node_claims())
            )),
        ),
        (
            "header claims HS256 but signed RS256",
            Auth::Project(rs256(&node_claims())),
        ),
        (
            "Bearer in X-OPENTOK-AUTH",
            Auth::Project(format!("Bearer {}", project_jwt())),
        ),
        ("project JWT as Bearer", Auth::App(project_jwt())),
        (
            "Bearer for another application",
            Auth::App(rs256(&json!({
                "application_id": "00000000-0000-4000-8000-000000000000",
                "iat": now, "exp": now + 300,
            }))),
        ),
        (
            "Bearer expired",
            Auth::App(rs256(&json!({
                "application_id": TEST_APPLICATION_ID, "iat": now - 900, "exp": now - 1,
            }))),
        ),
        (
            "Basic auth",
            Auth::Header("Authorization", "Basic YTpi".into()),
        ),
        (
            "Bearer with a forged payload",
            Auth::App(forge(&app_jwt(), now)),
        ),
        (
            "X-OPENTOK-AUTH with a forged payload",
            Auth::Project(forge(&project_jwt(), now)),
        ),
    ];
    for (name, auth) in cases {
        let resp = create(&c, auth).await;
        assert_eq!(resp.status(), 403, "{name}");
        let message = expect_error(resp, 403).await;
        assert!(!message.contains(TEST_API_SECRET), "{name}");
    }
    assert!(fake.sessions().is_empty());
    assert!(fake.requests().iter().all(|r| r.auth_claims.is_none()));
}

/// Keeps the header and signature of `token` but swaps in claims with a later `exp`.
fn forge(token: &str, now: i64) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let claims = json!({"iss": TEST_API_KEY, "ist": "project", "application_id": TEST_APPLICATION_ID,
                        "iat": now, "exp": now + 900});
    format!("{}.{}.{}", parts[0], base64_claims(&claims), parts[2])
}

fn base64_claims(v: &serde_json::Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn refuses_a_path_key_that_is_not_the_credentials_key() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let sid = c.session(true).await;
    let body =
        json!({"sessionId": sid, "token": client_token(&sid), "sip": {"uri": "sip:a@b.example"}});
    // project credentials, application id in the path
    let resp = c
        .json(
            reqwest::Method::POST,
            &format!("/v2/project/{TEST_APPLICATION_ID}/dial"),
            &body,
            &Auth::Project(project_jwt()),
        )
        .await;
    expect_error(resp, 403).await;
    // application credentials, API key in the path
    let resp = c
        .json(
            reqwest::Method::POST,
            &format!("/v2/project/{TEST_API_KEY}/dial"),
            &body,
            &Auth::App(app_jwt()),
        )
        .await;
    expect_error(resp, 403).await;
    // application credentials with the application id in the path work
    let resp = c
        .json(
            reqwest::Method::POST,
            &format!("/v2/project/{TEST_APPLICATION_ID}/dial"),
            &body,
            &Auth::App(app_jwt()),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn custom_credentials_and_project_only_mode() {
    let fake = FakePlatform::builder()
        .api_key("987654")
        .api_secret("another-secret")
        .without_application()
        .start()
        .await
        .unwrap();
    assert_eq!(fake.application_id(), None);
    let c = Client::new(&fake);
    assert_eq!(create(&c, Auth::Project(project_jwt())).await.status(), 403);
    assert_eq!(create(&c, Auth::App(app_jwt())).await.status(), 403);
    let ok = sipdial_testing::tokens::project_rest_jwt("987654", "another-secret");
    let resp = create(&c, Auth::Project(ok)).await;
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v[0]["project_id"], "987654");
}

#[tokio::test]
async fn a_bad_application_key_fails_start() {
    let err = FakePlatform::builder()
        .application(TEST_APPLICATION_ID, "not a pem")
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn debug_output_never_shows_secrets_or_tokens() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let jwt = project_jwt();
    let sid = c.session(true).await;
    let token = client_token(&sid);
    let body = json!({"sessionId": sid, "token": token,
                      "sip": {"uri": "sip:a@b.example", "auth": {"username": "u", "password": "pw-123"}}});
    let resp = c
        .json(
            reqwest::Method::POST,
            &format!("/v2/project/{TEST_API_KEY}/dial"),
            &body,
            &Auth::Project(jwt.clone()),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let dump = format!(
        "{fake:?} {:?} {:?}",
        fake.requests(),
        fake.connections(&sid)
    );
    for secret in [TEST_API_SECRET, jwt.as_str(), token.as_str(), "pw-123"] {
        assert!(!dump.contains(secret), "leaked into Debug output");
    }
    // ...while the recorded request still holds them for assertions
    assert_eq!(
        fake.requests()[1].header("x-opentok-auth"),
        Some(jwt.as_str())
    );
    assert_eq!(
        fake.requests()[1].json().unwrap()["sip"]["auth"]["password"],
        "pw-123"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let fake = FakePlatform::start().await.unwrap();
    let c = Client::new(&fake);
    let big = "a=".to_owned() + &"x".repeat(1024 * 1024);
    let resp = c
        .form("/session/create", &big, &Auth::Project(project_jwt()))
        .await;
    expect_error(resp, 413).await;
}
