//! [`Stack`]: the production path under test — `SipDialApi` over a real
//! `OpenTokDialer` pointed at a platform URL — and one-line helpers for each route.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, header};
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};
use sipdial_core::api::SipTarget;
use sipdial_core::{SipDialApi, SipUri};
use sipdial_opentok::{Credentials, OpenTokDialer, RetryPolicy};
use sipdial_testing::{TEST_API_KEY, TEST_API_SECRET};

/// The mount prefix the stack uses.
pub const PREFIX: &str = "/sip";
/// The one configured SIP target.
pub const TARGET: &str = "support";

/// How the stack's dialer is configured.
#[derive(Debug, Clone, Copy)]
pub struct StackConfig {
    /// The dialer's request timeout (also the total deadline of retried calls).
    pub timeout: Duration,
    /// The dialer's connect timeout.
    pub connect_timeout: Duration,
    /// The dialer's retry policy for idempotent calls.
    pub retry: RetryPolicy,
}

impl Default for StackConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(300),
            retry: RetryPolicy::default(),
        }
    }
}

/// The HTTP API over a real `OpenTokDialer` (project credentials of the fake).
#[derive(Debug, Clone)]
pub struct Stack {
    /// The API, as a host embeds it.
    pub api: SipDialApi,
    /// The configuration the dialer was built with.
    pub config: StackConfig,
}

/// One answer of the API.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
    /// How long the API took to answer, body included.
    pub elapsed: Duration,
}

impl Reply {
    /// The `error.code` of an error body.
    pub fn error_code(&self) -> Option<&str> {
        self.json["error"]["code"].as_str()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error answer: `status`, and the body exactly
    /// `{"error":{"code":code,"message":<non-empty>}}` with a JSON content type.
    ///
    /// # Panics
    /// When the answer is anything else.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.error_code(), Some(code), "{self:?}");
        let obj = self.json.as_object().expect("an object");
        assert_eq!(obj.len(), 1, "{self:?}");
        let err = self.json["error"].as_object().expect("an error object");
        assert_eq!(err.len(), 2, "{self:?}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

impl Stack {
    /// An API whose dialer talks to `base_url` (a fake platform, or a closed port).
    ///
    /// # Panics
    /// When the configuration is refused (a bug in the harness).
    pub fn new(base_url: &str, config: StackConfig) -> Self {
        let dialer = OpenTokDialer::builder(Credentials::project(TEST_API_KEY, TEST_API_SECRET))
            .base_url(base_url)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .retry_policy(config.retry)
            .build()
            .expect("dialer configuration");
        let target = SipTarget::new(
            TARGET,
            SipUri::new("sip:support@sip.example.com").expect("a SIP URI"),
        )
        .label("Support desk");
        let api = SipDialApi::builder(Arc::new(dialer))
            .anonymous()
            .prefix(PREFIX)
            .target(target)
            .default_target(TARGET)
            // The tests dial far more than a browser would; the limits are tested
            // elsewhere.
            .max_active_calls_per_session(100_000)
            .dials_per_minute(1_000_000)
            .max_active_calls_per_client(usize::MAX / 2)
            .client_dials_per_minute(u32::MAX)
            .client_sessions_per_minute(u32::MAX)
            .max_active_calls_total(usize::MAX / 2)
            .dials_per_minute_total(u32::MAX)
            // The fake platform's callbacks come unsigned.
            .accept_unsigned_callbacks()
            .build()
            .expect("API configuration");
        Self { api, config }
    }

    /// Sends one request through [`SipDialApi::handle`], as every adapter does.
    ///
    /// # Panics
    /// When the request cannot be built (a bug in the harness).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{PREFIX}{path}"))
            .header(header::HOST, "app.example.com");
        let bytes = match body {
            Some(v) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = builder.body(Full::new(bytes)).expect("a request");
        let started = Instant::now();
        let res = self.api.handle(req).await;
        let (parts, body) = res.into_parts();
        let bytes = body
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            elapsed: started.elapsed(),
        }
    }

    /// `POST /session` for `room`.
    pub async fn create_session(&self, room: &str) -> Reply {
        self.send(Method::POST, "/session", Some(json!({ "room": room })))
            .await
    }

    /// `POST /token` for `session`.
    pub async fn token(&self, session: &str) -> Reply {
        self.send(
            Method::POST,
            "/token",
            Some(json!({ "sessionId": session })),
        )
        .await
    }

    /// `GET /targets`.
    pub async fn targets(&self) -> Reply {
        self.send(Method::GET, "/targets", None).await
    }

    /// `POST /dial` into `session` (the default target).
    pub async fn dial(&self, session: &str) -> Reply {
        self.send(Method::POST, "/dial", Some(json!({ "sessionId": session })))
            .await
    }

    /// `DELETE /calls/{id}`.
    pub async fn hang_up(&self, call: &str) -> Reply {
        self.send(Method::DELETE, &format!("/calls/{call}"), None)
            .await
    }

    /// `POST /calls/{id}/dtmf`.
    pub async fn dtmf(&self, call: &str, digits: &str) -> Reply {
        self.send(
            Method::POST,
            &format!("/calls/{call}/dtmf"),
            Some(json!({ "digits": digits })),
        )
        .await
    }

    /// `GET /calls/{id}`.
    pub async fn get_call(&self, call: &str) -> Reply {
        self.send(Method::GET, &format!("/calls/{call}"), None)
            .await
    }

    /// `GET /calls?sessionId=&all=`.
    pub async fn list_calls(&self, session: &str, all: bool) -> Reply {
        self.send(
            Method::GET,
            &format!("/calls?sessionId={session}&all={all}"),
            None,
        )
        .await
    }

    /// The session of `room`, created through the API.
    ///
    /// # Panics
    /// When the API does not answer 200.
    pub async fn new_session(&self, room: &str) -> String {
        let r = self.create_session(room).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json["sessionId"].as_str().expect("sessionId").to_owned()
    }

    /// A call dialled into `session` through the API; returns its id.
    ///
    /// # Panics
    /// When the API does not answer 201.
    pub async fn new_call(&self, session: &str) -> String {
        let r = self.dial(session).await;
        assert_eq!(r.status, 201, "{r:?}");
        r.json["id"].as_str().expect("call id").to_owned()
    }

    /// The state of a call as `GET /calls/{id}` reports it.
    ///
    /// # Panics
    /// When the call is unknown.
    pub async fn call_state(&self, call: &str) -> String {
        let r = self.get_call(call).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json["state"].as_str().expect("state").to_owned()
    }
}
