//! The [`FakePlatform`] handle: where it serves, what it received, the sessions it
//! keeps, and the sessions and clients a test adds directly.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{FakePlatformBuilder, Inner};
use crate::faults::FaultRule;
use crate::recorded::RecordedRequest;
use crate::state::{
    ConnectionKind, ConnectionSnapshot, MediaMode, Session, SessionSnapshot, StreamSnapshot,
};
use crate::sync::lock;

/// A fake of the Vonage Video / OpenTok REST API, serving on `127.0.0.1` until dropped
/// or [shut down](Self::shutdown). See the crate documentation for an example.
pub struct FakePlatform {
    pub(super) inner: Arc<Inner>,
    pub(super) addr: SocketAddr,
    pub(super) stop: watch::Sender<bool>,
    pub(super) task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakePlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePlatform")
            .field("url", &self.url())
            .field("credentials", &self.inner.creds)
            .finish_non_exhaustive()
    }
}

impl FakePlatform {
    /// Starts a fake with the test credentials ([`crate::TEST_API_KEY`]/[`crate::TEST_API_SECRET`] and
    /// the [`crate::TEST_APPLICATION_ID`] application) on an ephemeral loopback port.
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
            .in_creation_order()
            .into_iter()
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
        lock(&self.inner.store).insert(Session {
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
}

impl FakePlatform {
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
