//! Helpers shared by the integration tests: a fake platform, dialers of both credential
//! kinds pointed at it, and JWT inspection.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sipdial_opentok::{Credentials, OpenTokDialer, OpenTokDialerBuilder};
use sipdial_testing::{
    FakePlatform, RecordedRequest, TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID,
    TEST_PRIVATE_KEY_PEM, TEST_PUBLIC_KEY_PEM,
};

/// The two credential kinds every operation is tested with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Project,
    Application,
}

pub const KINDS: [Kind; 2] = [Kind::Project, Kind::Application];

impl Kind {
    pub fn credentials(self) -> Credentials {
        match self {
            Kind::Project => Credentials::project(TEST_API_KEY, TEST_API_SECRET),
            Kind::Application => {
                Credentials::application(TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM).unwrap()
            }
        }
    }

    /// The `{apiKey}` path segment and `iss` of this kind.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Project => TEST_API_KEY,
            Kind::Application => TEST_APPLICATION_ID,
        }
    }

    pub fn builder(self, fake: &FakePlatform) -> OpenTokDialerBuilder {
        OpenTokDialer::builder(self.credentials()).base_url(fake.url())
    }

    pub fn dialer(self, fake: &FakePlatform) -> OpenTokDialer {
        self.builder(fake).build().unwrap()
    }
}

pub async fn fake() -> FakePlatform {
    FakePlatform::start().await.unwrap()
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The JWT of a recorded request's auth header, and whether it came as a Bearer.
pub fn auth_jwt(r: &RecordedRequest) -> (String, bool) {
    if let Some(v) = r.header("x-opentok-auth") {
        assert!(
            r.header("authorization").is_none(),
            "both auth headers sent"
        );
        return (v.to_owned(), false);
    }
    let v = r.header("authorization").expect("no auth header");
    (
        v.strip_prefix("Bearer ").expect("not a Bearer").to_owned(),
        true,
    )
}

/// Decodes a JWT's header and claims without verifying it.
pub fn decode_parts(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    let claims = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&header).unwrap(),
        serde_json::from_slice(&claims).unwrap(),
    )
}

/// Verifies a JWT's signature with the test credentials of `kind` and returns its claims.
pub fn verify(kind: Kind, jwt: &str) -> Value {
    sipdial_core::jwt::ensure_crypto_provider();
    let (alg, key) = match kind {
        Kind::Project => (
            Algorithm::HS256,
            DecodingKey::from_secret(TEST_API_SECRET.as_bytes()),
        ),
        Kind::Application => (
            Algorithm::RS256,
            DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY_PEM.as_bytes()).unwrap(),
        ),
    };
    let mut validation = Validation::new(alg);
    validation.validate_exp = true;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("JWT does not verify")
        .claims
}

/// Asserts everything the REST auth of one request must be, and returns its claims.
pub fn assert_rest_auth(kind: Kind, r: &RecordedRequest) -> Value {
    let (jwt, bearer) = auth_jwt(r);
    assert_eq!(bearer, kind == Kind::Application, "{kind:?} auth header");
    let (header, claims) = decode_parts(&jwt);
    match kind {
        Kind::Project => assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"})),
        Kind::Application => {
            assert_eq!(header["alg"], "RS256");
            assert_eq!(header["typ"], "JWT");
        }
    }
    assert_eq!(verify(kind, &jwt), claims);
    let keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let now = now_secs();
    assert_eq!(claims["iss"], kind.id());
    assert_eq!(claims["ist"], "project");
    let iat = claims["iat"].as_u64().unwrap();
    let exp = claims["exp"].as_u64().unwrap();
    assert!(
        (now - 65..=now - 55).contains(&iat),
        "iat {iat} vs now {now}"
    );
    assert!(
        (now + 295..=now + 305).contains(&exp),
        "exp {exp} vs now {now}"
    );
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(jti).unwrap().get_version_num(), 4);
    match kind {
        Kind::Project => {
            assert_eq!(keys.len(), 5, "{keys:?}");
            assert!(claims.get("application_id").is_none());
        }
        Kind::Application => {
            assert_eq!(keys.len(), 6, "{keys:?}");
            assert_eq!(claims["application_id"], TEST_APPLICATION_ID);
        }
    }
    // The fake verified the same JWT.
    assert_eq!(r.auth_claims.as_ref(), Some(&claims));
    claims
}

/// Asserts the headers every request carries besides auth.
pub fn assert_common_headers(r: &RecordedRequest, content_type: Option<&str>) {
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(
        r.header("user-agent"),
        Some(format!("sipdial/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(r.header("content-type"), content_type);
    assert_eq!(r.query, None);
}

/// Polls until `f` holds (for state the fake changes after answering).
pub async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}
