//! Shared fixture of the `http_*` tests: an API over the `FakeDialer`, a request
//! helper that goes through `SipDialService::oneshot`, and values that must never leak.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use sipdial_core::api::{SipTarget, UriAllowList};
use sipdial_core::fake::FakeDialer;
use sipdial_core::{
    SipAuth, SipDialApi, SipDialApiBuilder, SipDialService, SipFrom, SipHeaders, SipUri,
};
use tower::ServiceExt;

/// The SIP password of the `support` target.
pub const SIP_PASSWORD: &str = "sip-Pa55word-that-must-not-leak";
/// The fake's API secret.
pub const API_SECRET: &str = "api-secret-that-must-not-leak-0123456789";
/// The secret the fixture's callbacks are signed with ([`request`] signs them).
pub const CALLBACK_SECRET: &str = "fixture-callback-secret-0123456789";
/// The host of every test request.
pub const HOST: &str = "app.example.com";

pub struct Fixture {
    pub fake: Arc<FakeDialer>,
    pub api: SipDialApi,
}

/// The targets every fixture has: `support` (default, with credentials and a host
/// header) and `sales`.
pub fn builder(fake: &Arc<FakeDialer>) -> SipDialApiBuilder {
    builder_for(fake.clone())
}

/// [`builder`] over any dialer: callbacks are refused unless signed, and [`request`]
/// signs the fixture's with [`CALLBACK_SECRET`].
pub fn builder_for(dialer: Arc<dyn sipdial_core::SipDialer>) -> SipDialApiBuilder {
    let builder = builder_without_secret(dialer);
    #[cfg(feature = "jwt")]
    let builder = builder.callback_secret(CALLBACK_SECRET);
    builder
}

/// [`builder_for`] without a callback secret: unsigned callbacks are refused unless
/// the test accepts them.
pub fn builder_without_secret(dialer: Arc<dyn sipdial_core::SipDialer>) -> SipDialApiBuilder {
    let mut host_headers = SipHeaders::new();
    host_headers.insert("X-Source", "host").unwrap();
    SipDialApi::builder(dialer)
        .anonymous()
        .target(
            SipTarget::new(
                "support",
                SipUri::new("sip:support@pbx.example.com;transport=tls").unwrap(),
            )
            .label("Support desk")
            .from(SipFrom::new("14155550101@example.com").unwrap())
            .auth(SipAuth::new("agent", SIP_PASSWORD))
            .headers(host_headers)
            .secure(true),
        )
        .target(SipTarget::new(
            "sales",
            SipUri::new("sip:sales@pbx.example.com").unwrap(),
        ))
        .default_target("support")
        .allow_uri(UriAllowList::new().allow("sip:+1555*@gw.example.com"))
}

pub fn fake() -> Arc<FakeDialer> {
    Arc::new(FakeDialer::builder().api_secret(API_SECRET).build())
}

pub fn fixture() -> Fixture {
    let fake = fake();
    let api = builder(&fake).build().unwrap();
    Fixture { fake, api }
}

pub fn fixture_with(f: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder) -> Fixture {
    let fake = fake();
    let api = f(builder(&fake)).build().unwrap();
    Fixture { fake, api }
}

/// [`fixture_with`] without a callback secret, accepting unsigned callbacks: every
/// callback is applied as unverified.
pub fn fixture_unsigned(f: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder) -> Fixture {
    let fake = fake();
    let api = f(builder_without_secret(fake.clone()).accept_unsigned_callbacks())
        .build()
        .unwrap();
    Fixture { fake, api }
}

/// A response, buffered.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Asserts an error status with the standard body, and returns the code.
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let json = self.json();
        let obj = json.as_object().unwrap();
        assert_eq!(obj.len(), 1, "{json}");
        let err = json["error"].as_object().unwrap();
        assert_eq!(err.len(), 2, "{json}");
        assert!(
            err["code"].is_string() && err["message"].is_string(),
            "{json}"
        );
        assert_eq!(self.headers[http::header::CONTENT_TYPE], "application/json");
        self.code()
    }
}

/// A request to `path` with an optional JSON body, from the app's own origin.
pub fn request(method: Method, path: &str, body: Option<Value>) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(&method)
        .uri(path)
        .header(http::header::HOST, HOST);
    let body = match body {
        Some(v) => {
            b = b.header(http::header::CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(&v).unwrap())
        }
        None => Bytes::new(),
    };
    #[cfg(feature = "jwt")]
    if method == Method::POST && path.ends_with("/callbacks") {
        b = b.header(http::header::AUTHORIZATION, signed(&body));
    }
    b.body(Full::new(body)).unwrap()
}

/// `Bearer <JWT>` signing `body` with [`CALLBACK_SECRET`], as the platform signs.
#[cfg(feature = "jwt")]
pub fn signed(body: &[u8]) -> String {
    let key = sipdial_core::jwt::Hs256Key::new(CALLBACK_SECRET.as_bytes());
    let now = sipdial_core::Timestamp::now().as_secs();
    let token = sipdial_core::api::signature::sign_body(body, &key, now).unwrap();
    format!("Bearer {token}")
}

pub async fn send_req<B>(api: &SipDialApi, req: Request<B>) -> Res
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let res = SipDialService::new(api.clone()).oneshot(req).await.unwrap();
    let (parts, mut body) = res.into_parts();
    let streaming = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let body = if streaming {
        // An event stream never ends: keep its first event only.
        first_event(&mut body).await
    } else {
        body.collect().await.unwrap().to_bytes()
    };
    Res {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// The chunks of a streaming body up to the end of its first event.
pub async fn first_event<B>(body: &mut B) -> Bytes
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let mut out = Vec::new();
    while !out.windows(2).any(|w| w == b"\n\n") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
            .await
            .expect("the event stream sent nothing for 5 s")
            .expect("the event stream ended")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Bytes::from(out)
}

pub async fn send(api: &SipDialApi, method: Method, path: &str, body: Option<Value>) -> Res {
    send_req(api, request(method, path, body)).await
}

impl Fixture {
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Res {
        send(&self.api, method, path, body).await
    }

    /// The session of `room`, created through the API.
    pub async fn session(&self, room: &str) -> String {
        let res = self
            .send(
                Method::POST,
                "/sip/session",
                Some(serde_json::json!({ "room": room })),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.json()["sessionId"].as_str().unwrap().to_owned()
    }

    /// A call dialled through the API into `session`; returns the call JSON.
    pub async fn dial(&self, session: &str) -> Value {
        let res = self
            .send(
                Method::POST,
                "/sip/dial",
                Some(serde_json::json!({ "sessionId": session })),
            )
            .await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.json()
    }
}

/// The claims of a JWT, unverified.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).unwrap()
}

/// Lifts the per-client and total limits, for tests that dial more than one client
/// may in a minute (the limits' own tests set them).
pub fn many_clients(b: SipDialApiBuilder) -> SipDialApiBuilder {
    b.max_active_calls_per_client(10_000)
        .client_dials_per_minute(10_000)
        .max_active_calls_total(10_000)
        .dials_per_minute_total(10_000)
}
