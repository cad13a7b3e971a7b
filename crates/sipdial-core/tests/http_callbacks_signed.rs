//! Signed callbacks: a configured secret makes `POST /sip/callbacks` require an HS256
//! JWT whose `exp` (or recent `iat`) and `payload_hash` hold; every other token is a
//! 401 with its own code, and nothing is applied.
#![cfg(feature = "fake")]

mod http_support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;
use http_support::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sipdial_core::api::signature::payload_hash;
use sipdial_core::jwt::ensure_crypto_provider;

const SECRET: &str = "callback-signature-secret-0123456789";

fn now() -> u64 {
    sipdial_core::Timestamp::now().as_secs()
}

fn sign(alg: Algorithm, claims: &Value, secret: &str) -> String {
    ensure_crypto_provider();
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A token with a hand-written header (for algorithms we must refuse unverified).
fn forged(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"not-a-signature")
    )
}

fn body_for(call: &Value, session: &str) -> Bytes {
    Bytes::from(
        json!({ "sessionId": session, "event": "callUpdated", "timestamp": 5, "state": "RINGING",
                "call": { "id": call["id"], "connectionId": call["connectionId"] } })
        .to_string(),
    )
}

async fn deliver(f: &Fixture, body: &Bytes, authorization: Option<String>) -> Res {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/sip/callbacks")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = authorization {
        b = b.header(header::AUTHORIZATION, a);
    }
    send_req(&f.api, b.body(Full::new(body.clone())).unwrap()).await
}

async fn setup() -> (Fixture, Value, Bytes) {
    let f = fixture_with(|b| b.callback_secret(SECRET));
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let body = body_for(&call, &s);
    (f, call, body)
}

async fn state(f: &Fixture, call: &Value) -> String {
    let id = call["id"].as_str().unwrap();
    let res = f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    res.json()["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_valid_signature_is_accepted() {
    let (f, call, body) = setup().await;
    let claims = json!({ "iat": now(), "exp": now() + 300, "jti": "1", "iss": "Vonage",
                         "payload_hash": payload_hash(&body) });
    let token = sign(Algorithm::HS256, &claims, SECRET);
    let res = deliver(&f, &body, Some(format!("Bearer {token}"))).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.json()["status"], "applied");
    assert_eq!(state(&f, &call).await, "ringing");
}

#[tokio::test]
async fn a_recent_iat_stands_in_for_exp_and_payload_hash_is_optional() {
    let (f, call, body) = setup().await;
    let token = sign(Algorithm::HS256, &json!({ "iat": now() - 10 }), SECRET);
    let res = deliver(&f, &body, Some(format!("bearer {token}"))).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(state(&f, &call).await, "ringing");
}

#[tokio::test]
async fn each_bad_signature_is_refused_with_its_reason() {
    let (f, call, body) = setup().await;
    let good = json!({ "iat": now(), "exp": now() + 300, "payload_hash": payload_hash(&body) });
    let bearer = |t: String| Some(format!("Bearer {t}"));
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no header", None, "signature_missing"),
        ("empty bearer", Some("Bearer ".into()), "signature_missing"),
        (
            "basic auth",
            Some("Basic dXNlcjpwYXNz".into()),
            "signature_missing",
        ),
        ("garbage", bearer("not.a.jwt".into()), "signature_invalid"),
        (
            "two segments",
            bearer("abc.def".into()),
            "signature_invalid",
        ),
        (
            "wrong secret",
            bearer(sign(Algorithm::HS256, &good, "another-secret")),
            "signature_invalid",
        ),
        (
            "tampered claims",
            bearer({
                let t = sign(Algorithm::HS256, &good, SECRET);
                let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
                let mut claims = good.clone();
                claims["exp"] = json!(now() + 100_000);
                parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
                parts.join(".")
            }),
            "signature_invalid",
        ),
        (
            "alg none",
            bearer(
                forged(json!({ "alg": "none", "typ": "JWT" }), &good)
                    .trim_end_matches(|c| c != '.')
                    .to_owned(),
            ),
            "signature_algorithm",
        ),
        (
            "HS512",
            bearer(sign(Algorithm::HS512, &good, SECRET)),
            "signature_algorithm",
        ),
        (
            "RS256",
            bearer(forged(json!({ "alg": "RS256", "typ": "JWT" }), &good)),
            "signature_algorithm",
        ),
        (
            "expired",
            bearer(sign(
                Algorithm::HS256,
                &json!({ "iat": now() - 900, "exp": now() - 600, "payload_hash": payload_hash(&body) }),
                SECRET,
            )),
            "signature_expired",
        ),
        (
            "old iat without exp",
            bearer(sign(
                Algorithm::HS256,
                &json!({ "iat": now() - 3600 }),
                SECRET,
            )),
            "signature_expired",
        ),
        (
            "neither exp nor iat",
            bearer(sign(Algorithm::HS256, &json!({ "jti": "x" }), SECRET)),
            "signature_invalid",
        ),
        (
            "iat in the future",
            bearer(sign(
                Algorithm::HS256,
                &json!({ "iat": now() + 3600 }),
                SECRET,
            )),
            "signature_invalid",
        ),
        (
            "payload hash of another body",
            bearer(sign(
                Algorithm::HS256,
                &json!({ "exp": now() + 300, "payload_hash": payload_hash(b"{}") }),
                SECRET,
            )),
            "payload_hash_mismatch",
        ),
        (
            "payload hash not a string",
            bearer(sign(
                Algorithm::HS256,
                &json!({ "exp": now() + 300, "payload_hash": 5 }),
                SECRET,
            )),
            "payload_hash_mismatch",
        ),
    ];
    for (name, auth, code) in cases {
        let res = deliver(&f, &body, auth.clone()).await;
        assert_eq!(res.assert_error(401), code, "{name}");
        assert_eq!(
            res.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"sipdial-callbacks\"",
            "{name}"
        );
        let text = String::from_utf8_lossy(&res.body);
        assert!(!text.contains(SECRET), "{name}: {text}");
        if let Some(a) = &auth
            && let Some(token) = a.split(' ').nth(1).filter(|t| t.len() > 8)
        {
            assert!(!text.contains(token), "{name}: the token is echoed");
        }
    }
    assert_eq!(
        state(&f, &call).await,
        "dialing",
        "no refused delivery applied"
    );
}

#[tokio::test]
async fn without_a_secret_unsigned_callbacks_are_refused_unless_accepted() {
    // No secret and no opt-in: a forged delivery changes nothing.
    let fake = http_support::fake();
    let f = Fixture {
        api: builder_without_secret(fake.clone()).build().unwrap(),
        fake,
    };
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let res = deliver(&f, &body_for(&call, &s), None).await;
    assert_eq!(res.assert_error(401), "callbacks_unsigned");
    assert!(res.headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(state(&f, &call).await, "dialing");

    // Opted in: applied, and the hook learns the change was not verified.
    let causes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = causes.clone();
    let fake = http_support::fake();
    let f = Fixture {
        api: builder_without_secret(fake.clone())
            .accept_unsigned_callbacks()
            .on_call_event(std::sync::Arc::new(move |e| {
                seen.lock().unwrap().push(e.cause.is_verified());
            }))
            .build()
            .unwrap(),
        fake,
    };
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    let res = deliver(&f, &body_for(&call, &s), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(state(&f, &call).await, "ringing");
    assert_eq!(
        *causes.lock().unwrap(),
        [true, false],
        "dialled, then unverified"
    );
}

#[test]
fn an_empty_secret_is_refused_at_build() {
    let err = builder(&fake()).callback_secret("").build().unwrap_err();
    assert_eq!(err, sipdial_core::api::ApiConfigError::CallbackSecret);
}

#[tokio::test]
async fn the_secret_never_reaches_debug_output() {
    let api = builder(&fake()).callback_secret(SECRET).build().unwrap();
    assert!(!format!("{api:?}").contains(SECRET));
    let b = builder(&fake()).callback_secret(SECRET);
    assert!(!format!("{b:?}").contains(SECRET));
}

#[tokio::test]
async fn a_signed_callback_brings_back_a_call_in_a_session_the_store_lost() {
    // A store that lost its state (a restart) no longer knows the session; the
    // platform's signed word about a call in it records the call and the session.
    let f = fixture_with(|b| b.callback_secret(SECRET).record_unknown_calls(true));
    let lost = "1_lost-in-a-restart";
    let call = json!({ "id": "lost-call", "connectionId": "lost-conn" });
    let body = body_for(&call, lost);
    let unsigned = deliver(&f, &body, None).await;
    assert_eq!(unsigned.status, 401, "unsigned is refused before anything");
    let token = sign(Algorithm::HS256, &json!({ "iat": now() - 1 }), SECRET);
    let res = deliver(&f, &body, Some(format!("Bearer {token}"))).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.json()["status"], "applied");
    assert_eq!(state(&f, &call).await, "ringing");
    let res = f
        .send(Method::GET, &format!("/sip/calls?sessionId={lost}"), None)
        .await;
    assert_eq!(res.status, 200, "the session is known again");
    assert_eq!(res.json()["calls"][0]["id"], "lost-call");
}

#[tokio::test]
async fn a_signed_callback_records_nothing_unless_the_host_opted_in() {
    let f = fixture_with(|b| b.callback_secret(SECRET));
    let call = json!({ "id": "lost-call", "connectionId": "lost-conn" });
    let body = body_for(&call, "1_lost");
    let token = sign(Algorithm::HS256, &json!({ "iat": now() - 1 }), SECRET);
    let res = deliver(&f, &body, Some(format!("Bearer {token}"))).await;
    assert_eq!(res.json()["status"], "ignored");
    let res = f
        .send(Method::GET, "/sip/calls?sessionId=1_lost", None)
        .await;
    assert_eq!(res.status, 404);
}
