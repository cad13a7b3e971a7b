//! The HTTP server: accepts connections on loopback, records every request, applies
//! scripted faults, checks auth and hands the request to its route.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::DecodingKey;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::body::{self, Body};
use crate::callbacks::{
    CallProgress, CallScript, CallbackConfig, CallbackRecord, Delivery, EndReason,
    FAR_END_CLEARING, Lifecycle,
};
use crate::credentials::{Application, Credentials};
use crate::error::ApiError;
use crate::faults::{self, Fault, FaultRule};
use crate::recorded::RecordedRequest;
use crate::routes::{Ctx, Route};
use crate::state::{
    ConnectionKind, ConnectionSnapshot, MediaMode, Session, SessionSnapshot, Store, StreamSnapshot,
};
use crate::sync::lock;
use crate::{TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID, TEST_PUBLIC_KEY_PEM};

/// Largest request body read; the cloud's bodies are a few kilobytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// State shared by the server tasks and the [`FakePlatform`] handle.
struct Inner {
    creds: Credentials,
    store: Arc<Mutex<Store>>,
    lifecycle: Lifecycle,
    faults: Mutex<Vec<FaultRule>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// The emulated SIP gateway, when SIP is on.
    sip: Option<Box<dyn crate::sip_legs::SipLegs>>,
    sip_addr: Option<SocketAddr>,
}

/// A fake of the Vonage Video / OpenTok REST API, serving on `127.0.0.1` until dropped
/// or [shut down](Self::shutdown). See the crate documentation for an example.
pub struct FakePlatform {
    inner: Arc<Inner>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakePlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePlatform")
            .field("url", &self.url())
            .field("credentials", &self.inner.creds)
            .finish_non_exhaustive()
    }
}

/// Configures a [`FakePlatform`]: credentials, the address to bind, and where its
/// callbacks go.
#[derive(Clone)]
pub struct FakePlatformBuilder {
    api_key: String,
    api_secret: String,
    application: Option<(String, String)>,
    bind: SocketAddr,
    callbacks: CallbackConfig,
    script: Option<CallScript>,
    #[cfg(feature = "sip")]
    sip: Option<crate::SipConfig>,
}

impl std::fmt::Debug for FakePlatformBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API secret and the callback secret stay out of test output.
        f.debug_struct("FakePlatformBuilder")
            .field("api_key", &self.api_key)
            .field("application", &self.application.as_ref().map(|(id, _)| id))
            .field("bind", &self.bind)
            .field("callback_url", &self.callbacks.url)
            .field("callback_signed", &self.callbacks.secret.is_some())
            .field("callback_delivery", &self.callbacks.delivery)
            .field("script", &self.script)
            .field("sip", &self.sip_on())
            .finish_non_exhaustive()
    }
}

impl Default for FakePlatformBuilder {
    fn default() -> Self {
        Self {
            api_key: TEST_API_KEY.to_owned(),
            api_secret: TEST_API_SECRET.to_owned(),
            application: Some((
                TEST_APPLICATION_ID.to_owned(),
                TEST_PUBLIC_KEY_PEM.to_owned(),
            )),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            callbacks: CallbackConfig::default(),
            script: None,
            #[cfg(feature = "sip")]
            sip: None,
        }
    }
}

impl FakePlatformBuilder {
    /// The project API key (default [`TEST_API_KEY`]).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// The project API secret (default [`TEST_API_SECRET`]).
    #[must_use]
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.api_secret = secret.into();
        self
    }

    /// The Vonage application that also stands for the project: its id and the RSA
    /// public key (PEM) its JWTs verify with (default [`TEST_APPLICATION_ID`] and
    /// [`TEST_PUBLIC_KEY_PEM`]).
    #[must_use]
    pub fn application(
        mut self,
        app_id: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> Self {
        self.application = Some((app_id.into(), public_key_pem.into()));
        self
    }

    /// Accept only the classic key/secret credentials.
    #[must_use]
    pub fn without_application(mut self) -> Self {
        self.application = None;
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, an ephemeral port).
    #[must_use]
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Where the platform POSTs its callbacks (SIP call events and session monitoring,
    /// opentok-api.md §6), e.g. `http://127.0.0.1:PORT/sip/callbacks`. Without one,
    /// events are only recorded ([`FakePlatform::callbacks`]). Changeable later with
    /// [`FakePlatform::set_callback_url`].
    #[must_use]
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callbacks.url = Some(url.into());
        self
    }

    /// Signs every callback: `Authorization: Bearer <JWT>`, HS256 under `secret`, with
    /// `iat`, `exp` (5 minutes later), `jti` and `payload_hash` (lowercase hex SHA-256
    /// of the body).
    #[must_use]
    pub fn callback_secret(mut self, secret: impl Into<String>) -> Self {
        self.callbacks.secret = Some(secret.into());
        self
    }

    /// How callbacks are delivered: duplicates, reordering, retries, timeout.
    #[must_use]
    pub fn callback_delivery(mut self, delivery: Delivery) -> Self {
        self.callbacks.delivery = delivery;
        self
    }

    /// What the far end of every dialled call does (see [`CallScript`]); without one,
    /// calls stay dialing until [`FakePlatform::advance_call`] or a hang-up.
    #[must_use]
    pub fn script_calls(mut self, script: CallScript) -> Self {
        self.script = Some(script);
        self
    }

    /// Turns the SIP gateway emulation on: every accepted dial places a real SIP call to
    /// its URI (docs/sip-emulation.md), and the call's state follows the far end's
    /// answers instead of a [`CallScript`].
    #[cfg(feature = "sip")]
    #[must_use]
    pub fn sip(mut self, config: crate::SipConfig) -> Self {
        self.sip = Some(config);
        self
    }

    fn sip_on(&self) -> bool {
        #[cfg(feature = "sip")]
        return self.sip.is_some();
        #[cfg(not(feature = "sip"))]
        false
    }

    /// Binds and starts serving on the current Tokio runtime.
    ///
    /// Fails with `InvalidInput` when the application public key is not an RSA PEM.
    pub async fn start(self) -> std::io::Result<FakePlatform> {
        let application = match self.application {
            Some((id, pem)) => Some(Application {
                id,
                key: DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "the application public key is not an RSA public key in PEM",
                    )
                })?,
            }),
            None => None,
        };
        sipdial_core::jwt::ensure_crypto_provider();
        let listener = TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let store = Arc::new(Mutex::new(Store::default()));
        let lifecycle = Lifecycle::new(Arc::clone(&store), self.callbacks, stop_rx.clone());
        lifecycle.set_script(self.script);
        let (sip, sip_addr): (Option<Box<dyn crate::sip_legs::SipLegs>>, _) = {
            #[cfg(feature = "sip")]
            match self.sip {
                Some(config) => {
                    let gateway =
                        crate::sip::SipGateway::start(config, lifecycle.clone(), stop_rx.clone())
                            .await?;
                    let addr = gateway.local_addr();
                    (Some(Box::new(gateway)), Some(addr))
                }
                None => (None, None),
            }
            #[cfg(not(feature = "sip"))]
            (None, None)
        };
        let inner = Arc::new(Inner {
            creds: Credentials {
                api_key: self.api_key,
                api_secret: self.api_secret,
                application,
            },
            store,
            lifecycle,
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            sip,
            sip_addr,
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&inner), stop_rx));
        Ok(FakePlatform {
            inner,
            addr,
            stop,
            task: Some(task),
        })
    }
}

impl FakePlatform {
    /// Starts a fake with the test credentials ([`TEST_API_KEY`]/[`TEST_API_SECRET`] and
    /// the [`TEST_APPLICATION_ID`] application) on an ephemeral loopback port.
    pub async fn start() -> std::io::Result<FakePlatform> {
        Self::builder().start().await
    }

    /// A builder for other credentials or another address.
    pub fn builder() -> FakePlatformBuilder {
        FakePlatformBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:PORT`, without a trailing slash: what a dialer
    /// takes as its API base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the SIP gateway emulation sends from and listens on (UDP and TCP),
    /// when SIP is on.
    pub fn sip_addr(&self) -> Option<SocketAddr> {
        self.inner.sip_addr
    }

    /// The project API key.
    pub fn api_key(&self) -> &str {
        &self.inner.creds.api_key
    }

    /// The application id, when application credentials are accepted.
    pub fn application_id(&self) -> Option<&str> {
        self.inner.creds.application.as_ref().map(|a| a.id.as_str())
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// Adds a scripted fault (see [`FaultRule`]).
    pub fn inject(&self, rule: FaultRule) {
        lock(&self.inner.faults).push(rule);
    }

    /// Removes every scripted fault that is still pending.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Every session, in creation order.
    pub fn sessions(&self) -> Vec<SessionSnapshot> {
        lock(&self.inner.store)
            .sessions
            .iter()
            .map(|s| s.info.clone())
            .collect()
    }

    /// One session, if it exists.
    pub fn session(&self, session_id: &str) -> Option<SessionSnapshot> {
        lock(&self.inner.store)
            .session(session_id)
            .map(|s| s.info.clone())
    }

    /// The connections of a session (empty when the session does not exist).
    pub fn connections(&self, session_id: &str) -> Vec<ConnectionSnapshot> {
        lock(&self.inner.store)
            .session(session_id)
            .map(|s| s.connections.clone())
            .unwrap_or_default()
    }

    /// The streams of a session (empty when the session does not exist).
    pub fn streams(&self, session_id: &str) -> Vec<StreamSnapshot> {
        lock(&self.inner.store)
            .session(session_id)
            .map(|s| s.streams.clone())
            .unwrap_or_default()
    }

    /// Creates a session directly, as if `POST /session/create` had been called with the
    /// project credentials; returns its id.
    pub fn create_session(&self, media_mode: MediaMode) -> String {
        let now = sipdial_core::Timestamp::now();
        let id =
            sipdial_core::session_format::encode(&sipdial_core::session_format::SessionIdParts {
                api_key: self.inner.creds.api_key.clone(),
                location: String::new(),
                create_time: crate::clock::platform_date(crate::clock::now_secs()),
                random: uuid::Uuid::new_v4().simple().to_string(),
            })
            .map_or_else(
                |_| format!("2_{}", uuid::Uuid::new_v4().simple()),
                |s| s.into_inner(),
            );
        lock(&self.inner.store).sessions.push(Session {
            info: SessionSnapshot {
                session_id: id.clone(),
                project_key: self.inner.creds.api_key.clone(),
                media_mode,
                archive_mode: "manual".to_owned(),
                location: None,
                e2ee: false,
                created_at: now,
                dtmf: Vec::new(),
                mute_all_active: false,
            },
            connections: Vec::new(),
            streams: Vec::new(),
            ever_had_stream: false,
        });
        id
    }

    /// Adds a simulated client (a browser publishing a camera stream) to a session, so
    /// stream listing, muting and `sip.streams` have something to work on. Returns the
    /// new stream, or `None` when the session does not exist.
    pub fn add_client(&self, session_id: &str, data: Option<&str>) -> Option<StreamSnapshot> {
        let mut store = lock(&self.inner.store);
        let session = store.session_mut(session_id)?;
        let now = sipdial_core::Timestamp::now();
        let connection_id = uuid::Uuid::new_v4().to_string();
        let stream = StreamSnapshot {
            stream_id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            connection_id: connection_id.clone(),
            video_type: Some("camera".to_owned()),
            name: String::new(),
            layout_class_list: Vec::new(),
            force_muted: false,
            created_at: now,
        };
        session.add_connection(
            ConnectionSnapshot {
                connection_id: connection_id.clone(),
                session_id: session_id.to_owned(),
                kind: ConnectionKind::Client,
                data: data.map(str::to_owned),
                created_at: now,
                sip: None,
                dtmf: Vec::new(),
            },
            Some(stream),
        );
        self.inner
            .lifecycle
            .connection_added(session, &connection_id, false);
        session.streams.last().cloned()
    }

    /// Ends a connection as the far end would (a SIP BYE, a browser leaving): the
    /// connection and its streams go, and a later hang-up gets 404. The callbacks say
    /// `clientDisconnected`; for a SIP leg `callDestroyed` says `700` `Normal Clearing`
    /// (use [`FakePlatform::advance_call`] with [`CallProgress::HangUp`] for another
    /// code). False when there was no such connection.
    pub fn end_connection(&self, session_id: &str, connection_id: &str) -> bool {
        self.inner
            .lifecycle
            .remove_connection(
                session_id,
                connection_id,
                EndReason::ClientDisconnected,
                Some(FAR_END_CLEARING),
            )
            .is_ok()
    }

    /// Moves the SIP call `call_id` (the `id` the dial answered) one step, as its far
    /// end would, and sends the matching callbacks. False when the call is not (or no
    /// longer) there or the step does not apply to its state (e.g. ringing once
    /// answered).
    pub fn advance_call(&self, call_id: &str, step: CallProgress) -> bool {
        self.inner.lifecycle.advance(call_id, &step)
    }

    /// What the far end of every call dialled from now on does; replaces any earlier
    /// standing script. Calls already placed keep theirs.
    pub fn script_calls(&self, script: CallScript) {
        self.inner.lifecycle.set_script(Some(script));
    }

    /// What the far end of the next dialled call does, ahead of the standing script;
    /// several queue up, one per dial, in order.
    pub fn script_next_call(&self, script: CallScript) {
        self.inner.lifecycle.queue_script(script);
    }

    /// Calls dialled from now on stay dialing until moved by hand (forgets the standing
    /// script and every queued one).
    pub fn clear_call_script(&self) {
        self.inner.lifecycle.clear_scripts();
    }

    /// Where callbacks go from now on; `None` stops sending them (they are still
    /// recorded, as [`crate::DeliveryOutcome::NoUrl`]).
    pub fn set_callback_url(&self, url: Option<&str>) {
        lock(&self.inner.lifecycle.outbox.config).url = url.map(str::to_owned);
    }

    /// The secret callbacks are signed with from now on; `None` sends them unsigned.
    pub fn set_callback_secret(&self, secret: Option<&str>) {
        lock(&self.inner.lifecycle.outbox.config).secret = secret.map(str::to_owned);
    }

    /// How callbacks are delivered from now on.
    pub fn set_callback_delivery(&self, delivery: Delivery) {
        lock(&self.inner.lifecycle.outbox.config).delivery = delivery;
    }

    /// Every callback delivery attempt so far, in order (one record per attempt and
    /// copy; an event due while no URL was set is one [`crate::DeliveryOutcome::NoUrl`]
    /// record).
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        lock(&self.inner.lifecycle.outbox.records).clone()
    }

    /// The attempts that were made and did not get a 2xx.
    pub fn callback_failures(&self) -> Vec<CallbackRecord> {
        self.callbacks()
            .into_iter()
            .filter(CallbackRecord::failed)
            .collect()
    }

    /// Forgets the recorded callback attempts.
    pub fn clear_callbacks(&self) {
        lock(&self.inner.lifecycle.outbox.records).clear();
    }

    /// Waits until `done` holds for the recorded callback attempts, up to `timeout`;
    /// returns whether it did. Delivery runs in the background, so this is how a test
    /// waits for "the ringing callback was delivered".
    pub async fn wait_for_callbacks(
        &self,
        timeout: Duration,
        done: impl Fn(&[CallbackRecord]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(&lock(&self.inner.lifecycle.outbox.records)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops accepting, lets requests in flight finish (up to a second), and returns once
    /// the port is closed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakePlatform {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                conns.spawn(serve_connection(stream, Arc::clone(&inner), stop.clone()));
            }
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(1), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    inner: Arc<Inner>,
    mut stop: watch::Receiver<bool>,
) {
    // A `DropConnection` fault fires this; dropping the connection future then closes
    // the socket with no response written.
    let kill = Arc::new(Notify::new());
    let svc_kill = Arc::clone(&kill);
    let svc = service_fn(move |req| {
        let inner = Arc::clone(&inner);
        let kill = Arc::clone(&svc_kill);
        async move { Ok::<_, Infallible>(handle(&inner, req, &kill).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = kill.notified() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn handle(
    inner: &Inner,
    req: http::Request<hyper::body::Incoming>,
    kill: &Notify,
) -> http::Response<Body> {
    let (parts, incoming) = req.into_parts();
    let body = match Limited::new(incoming, MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                .into_response();
        }
    };
    let path = parts.uri.path().to_owned();
    let now = crate::clock::now_secs();
    let auth = crate::auth::verify_rest(&parts.headers, &inner.creds, now);
    let index = {
        let mut requests = lock(&inner.requests);
        requests.push(RecordedRequest {
            method: parts.method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body: body.clone(),
            auth_claims: auth.as_ref().ok().map(|v| v.claims.clone()),
            auth_kind: auth.as_ref().ok().map(|v| v.kind),
            status: None,
        });
        requests.len() - 1
    };
    let fault = faults::take(&mut lock(&inner.faults), &parts.method, &path);
    let mut slow = None;
    let resp = match fault {
        Some(Fault::Status {
            status,
            body,
            retry_after,
        }) => Some(status_fault(status, body, retry_after)),
        Some(Fault::MalformedJson) => Some(body::raw_json_response(
            StatusCode::OK,
            Bytes::from_static(b"{\"id\":\"8d2c0e1a-trunc"),
        )),
        Some(Fault::DropConnection) => {
            kill.notify_one();
            // The connection task drops this future with the connection.
            std::future::pending::<()>().await;
            None
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::SlowBody(d)) => {
            slow = Some(d);
            None
        }
        None => None,
    };
    let resp = match resp {
        Some(r) => r,
        None => route(inner, &parts, &body, auth, now),
    };
    let resp = match slow {
        Some(d) => body::slow(resp, d).await,
        None => resp,
    };
    if let Some(r) = lock(&inner.requests).get_mut(index) {
        r.status = Some(resp.status().as_u16());
    }
    resp
}

fn route(
    inner: &Inner,
    parts: &http::request::Parts,
    body: &Bytes,
    auth: Result<crate::auth::Verified, &'static str>,
    now: i64,
) -> http::Response<Body> {
    let result = Route::parse(&parts.method, parts.uri.path()).and_then(|route| {
        let verified = auth.map_err(ApiError::forbidden)?;
        if route.key().is_some_and(|k| k != verified.key) {
            return Err(ApiError::forbidden(
                "The project key in the path does not match the credentials",
            ));
        }
        let ctx = Ctx {
            creds: &inner.creds,
            store: &inner.store,
            lifecycle: &inner.lifecycle,
            sip: inner.sip.as_deref(),
            verified: &verified,
            headers: &parts.headers,
            body,
            now_secs: now,
        };
        crate::routes::handle(route, &ctx)
    });
    result.unwrap_or_else(ApiError::into_response)
}

fn status_fault(
    status: u16,
    body: Option<String>,
    retry_after: Option<u64>,
) -> http::Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match body {
        None => ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Injected fault"),
        )
        .into_response(),
        Some(text) => {
            let is_json = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            let mut r = body::raw_json_response(status, text);
            if !is_json {
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            }
            r
        }
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
