//! Helpers shared by the integration tests: a raw HTTP client and hand-made JWTs.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sipdial_testing::{
    FakePlatform, TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM, tokens,
};

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JWT with any header and claims, signed with `alg` under `key`.
pub fn jwt(header: &Value, claims: &Value, alg: Algorithm, key: &EncodingKey) -> String {
    sipdial_core::jwt::ensure_crypto_provider();
    let msg = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).unwrap();
    format!("{msg}.{sig}")
}

pub fn hs256(claims: &Value, secret: &str) -> String {
    jwt(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        Algorithm::HS256,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

pub fn rs256(claims: &Value) -> String {
    jwt(
        &json!({"typ": "JWT", "alg": "RS256"}),
        claims,
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(TEST_PRIVATE_KEY_PEM.as_bytes()).unwrap(),
    )
}

/// The REST claims opentok-node sends (no `jti`).
pub fn node_claims() -> Value {
    let now = now();
    json!({"iss": TEST_API_KEY, "ist": "project", "iat": now, "exp": now + 300})
}

pub fn project_jwt() -> String {
    tokens::project_rest_jwt(TEST_API_KEY, TEST_API_SECRET)
}

pub fn app_jwt() -> String {
    tokens::application_rest_jwt(TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM).unwrap()
}

pub fn client_token(session: &str) -> String {
    tokens::project_client_token(TEST_API_KEY, TEST_API_SECRET, session).unwrap()
}

/// A legacy `T1==` token (docs/platform-api.md §3b), built here independently of the fake.
pub fn t1_token(session: &str, secret: &str) -> String {
    let exp = now() + 3600;
    let data = format!(
        "session_id={session}&create_time={}&nonce=0.25&role=publisher&expire_time={exp}&connection_data=sip%3Dtrue",
        now()
    );
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        secret.as_bytes(),
    );
    let tag = aws_lc_rs::hmac::sign(&key, data.as_bytes());
    let sig: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "T1=={}",
        STANDARD.encode(format!("partner_id={TEST_API_KEY}&sig={sig}:{data}"))
    )
}

/// Which auth header a request carries.
#[derive(Clone)]
pub enum Auth {
    Project(String),
    App(String),
    Header(&'static str, String),
    None,
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(fake: &FakePlatform) -> Self {
        Self {
            base: fake.url(),
            http: reqwest::Client::new(),
        }
    }

    pub fn req(&self, method: reqwest::Method, path: &str, auth: &Auth) -> reqwest::RequestBuilder {
        let rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Accept", "application/json");
        match auth {
            Auth::Project(t) => rb.header("X-OPENTOK-AUTH", t),
            Auth::App(t) => rb.header("Authorization", format!("Bearer {t}")),
            Auth::Header(name, value) => rb.header(*name, value),
            Auth::None => rb,
        }
    }

    pub async fn form(&self, path: &str, form: &str, auth: &Auth) -> reqwest::Response {
        self.req(reqwest::Method::POST, path, auth)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        auth: &Auth,
    ) -> reqwest::Response {
        self.req(method, path, auth)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: &Auth,
    ) -> reqwest::Response {
        self.req(method, path, auth).send().await.unwrap()
    }

    /// Creates a session over HTTP with project credentials.
    pub async fn session(&self, routed: bool) -> String {
        let pref = if routed { "disabled" } else { "enabled" };
        let resp = self
            .form(
                "/session/create",
                &format!("archiveMode=manual&p2p.preference={pref}"),
                &Auth::Project(project_jwt()),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        v[0]["session_id"].as_str().unwrap().to_owned()
    }

    /// Dials `uri` into `session`; returns the response.
    pub async fn dial(&self, session: &str, sip: Value) -> reqwest::Response {
        let body = json!({"sessionId": session, "token": client_token(session), "sip": sip});
        self.json(
            reqwest::Method::POST,
            &format!("/v2/project/{TEST_API_KEY}/dial"),
            &body,
            &Auth::Project(project_jwt()),
        )
        .await
    }
}

/// Asserts the platform's error shape with `status`; returns the message.
pub async fn expect_error(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], status, "{v}");
    let message = v["message"]
        .as_str()
        .expect("message is a string")
        .to_owned();
    assert!(!message.is_empty());
    message
}
