//! A real HTTP receiver on a loopback port (axum), the API over the fake dialer with
//! the reqwest transport, and the independent signature check.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sipdial_core::SipDialApi;
use sipdial_core::api::webhooks::{StatusWebhook, WebhookRetry};
use sipdial_core::api::{Backend, SipTarget};
use sipdial_core::fake::FakeDialer;
use sipdial_opentok::webhooks::ReqwestTransport;

pub const SECRET: &str = "webhook-secret-0123456789";

/// What the receiver does with one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Answers this status with `Retry-After` of this many seconds.
    RetryAfter(u16, u64),
    /// Answers 200 after this long (longer than the transport's timeout: a hang).
    After(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status answered; 0 for a request the receiver held (answered late, if the
    /// client still waited).
    pub status: u16,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    otherwise: Option<Reply>,
    received: Vec<Received>,
}

/// The host's webhook endpoint.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

async fn endpoint(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    let reply = {
        let mut s = script.lock().unwrap();
        s.replies
            .pop_front()
            .or(s.otherwise)
            .unwrap_or(Reply::Status(200))
    };
    // Recorded on arrival: a client that gives up cancels this handler.
    let recorded = match reply {
        Reply::Status(s) | Reply::RetryAfter(s, _) => s,
        Reply::After(_) => 0,
    };
    script.lock().unwrap().received.push(Received {
        headers,
        body,
        status: recorded,
        at: Instant::now(),
    });
    let mut answer = HeaderMap::new();
    let status = match reply {
        Reply::Status(s) => s,
        Reply::RetryAfter(s, secs) => {
            answer.insert(http::header::RETRY_AFTER, secs.into());
            s
        }
        Reply::After(d) => {
            tokio::time::sleep(d).await;
            200
        }
    };
    (StatusCode::from_u16(status).unwrap(), answer)
}

impl Receiver {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .fallback(endpoint)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, script }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/sip", self.addr)
    }

    /// The next replies, in order.
    pub fn reply(&self, replies: &[Reply]) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    /// The reply once the scripted ones are used up (default 200).
    pub fn otherwise(&self, reply: Reply) {
        self.script.lock().unwrap().otherwise = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// The requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Waits until `done` holds for what was received (or panics after `within`).
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&[Received]) -> bool) {
        let until = Instant::now() + within;
        loop {
            if done(&self.received()) {
                return;
            }
            assert!(
                Instant::now() < until,
                "receiver got {:#?}",
                self.received()
                    .iter()
                    .map(|r| (r.status, r.json()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Retries fast enough for tests.
pub fn quick_retry(attempts: u32) -> WebhookRetry {
    WebhookRetry::new(
        attempts,
        Duration::from_millis(50),
        Duration::from_millis(200),
    )
}

/// The API over a fresh fake dialer, its webhook at `receiver`, a transport timeout
/// of `timeout`.
pub fn api(
    receiver: &Receiver,
    timeout: Duration,
    retry: WebhookRetry,
    backend: Option<Backend>,
) -> SipDialApi {
    api_on(
        Arc::new(FakeDialer::new()),
        receiver,
        timeout,
        retry,
        backend,
    )
}

pub fn api_on(
    dialer: Arc<dyn sipdial_core::SipDialer>,
    receiver: &Receiver,
    timeout: Duration,
    retry: WebhookRetry,
    backend: Option<Backend>,
) -> SipDialApi {
    let mut b = SipDialApi::builder(dialer)
        .anonymous()
        .target(SipTarget::parse("desk", "sip:desk@pbx.example.com"))
        .max_active_calls_per_session(100)
        .dials_per_minute(1000)
        .max_active_calls_per_client(1000)
        .client_dials_per_minute(1000)
        .client_sessions_per_minute(1000)
        .max_active_calls_total(1000)
        .dials_per_minute_total(1000)
        // The tests post the platform's callbacks unsigned.
        .accept_unsigned_callbacks()
        .status_webhook(StatusWebhook::new(receiver.url(), SECRET))
        .webhook_transport(Arc::new(ReqwestTransport::with_timeout(timeout).unwrap()))
        .webhook_retry(retry);
    if let Some(backend) = backend {
        b = b.backend(backend);
    }
    b.build().unwrap()
}

/// One request through the API.
pub async fn send(
    api: &SipDialApi,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "app.example.com")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let res = api.handle(req).await;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub async fn session(api: &SipDialApi, room: &str) -> String {
    let (status, v) = send(
        api,
        Method::POST,
        "/sip/session",
        Some(json!({ "room": room })),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["sessionId"].as_str().unwrap().to_owned()
}

pub async fn dial(api: &SipDialApi, session: &str) -> Value {
    let (status, v) = send(
        api,
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": session })),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v
}

/// A platform callback moving `call` to `state` (`RINGING`, `ACTIVE`).
pub async fn callback(api: &SipDialApi, session: &str, call: &Value, state: &str) {
    let (status, v) = send(
        api,
        Method::POST,
        "/sip/callbacks",
        Some(
            json!({ "sessionId": session, "event": "callUpdated", "state": state,
                     "call": { "id": call["id"], "connectionId": call["connectionId"] } }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{v}");
}

pub async fn hang_up(api: &SipDialApi, call: &Value) {
    let id = call["id"].as_str().unwrap();
    let (status, v) = send(api, Method::DELETE, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(status, 204, "{v}");
}

/// Checks a delivery's signature without sipdial's code: jsonwebtoken decodes and
/// verifies the HS256 JWT (with `exp` required), sha2 hashes the body.
pub fn verify_independently(r: &Received, secret: &str) -> Result<Value, String> {
    let auth = r
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or("no Authorization")?
        .to_str()
        .map_err(|e| e.to_string())?;
    let token = auth.strip_prefix("Bearer ").ok_or("not a Bearer token")?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "iat"]);
    validation.validate_exp = true;
    jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
        .install_default()
        .ok();
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| e.to_string())?
    .claims;
    let hash: String = Sha256::digest(&r.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if claims["payload_hash"] != Value::String(hash) {
        return Err(format!("payload_hash mismatch: {claims}"));
    }
    Ok(claims)
}
