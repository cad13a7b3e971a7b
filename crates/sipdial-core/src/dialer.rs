//! The plugin contract: [`SipDialer`], and the requests and results it speaks in.
//!
//! One implementation talks to the real cloud (`sipdial-opentok`), one is in memory
//! (`FakeDialer`, feature `fake`); hosts can bring their own (a recording proxy, a
//! different platform). The HTTP API only ever sees `Arc<dyn SipDialer>`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use async_trait::async_trait;

use crate::events::EventSink;
use crate::{
    CallId, ClientToken, ConnectionData, ConnectionId, DialError, Dtmf, LayoutClasses, Role,
    SessionId, SipAuth, SipFrom, SipHeaders, SipUri, StreamId, Timestamp, TokenExpiry,
};

/// What the browser needs to know about the platform to connect: the key (classic
/// OpenTok project) or application id (Vonage application) that OpenTok.js is
/// initialised with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformInfo {
    /// The API key or application id; public by design.
    pub api_key: String,
}

/// Archive mode of a new session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArchiveMode {
    /// Archives start only when asked.
    #[default]
    Manual,
    /// Archiving starts with the session (requires a routed session, which sipdial
    /// always creates).
    Always,
}

/// Options of a new session. Sessions are always routed (`p2p.preference=disabled`):
/// the platform refuses to dial into a relayed session (409).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// Where the media router should be placed: an IPv4 hint near the participants.
    pub location: Option<Ipv4Addr>,
    /// Archive mode.
    pub archive_mode: ArchiveMode,
    /// End-to-end encrypted media. SIP legs cannot join such sessions in practice;
    /// kept for completeness.
    pub e2ee: bool,
}

/// What a client token grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenOptions {
    /// The connection's role (default: publisher).
    pub role: Role,
    /// Data other clients see on this connection (the SIP leg's is `sip=true`).
    pub data: Option<ConnectionData>,
    /// When the token expires (default: 24 hours).
    pub expiry: Option<TokenExpiry>,
    /// Initial layout classes of this connection's streams.
    pub layout_classes: LayoutClasses,
}

/// Everything the platform's dial accepts (docs/platform-api.md §4).
///
/// Only `session_id`, `token` and `uri` are required; unset options are omitted from the
/// request, never sent blank.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// The routed session the SIP leg joins.
    pub session_id: SessionId,
    /// The token the SIP leg connects with; its connection data marks it as SIP.
    pub token: ClientToken,
    /// Where the INVITE goes.
    pub uri: SipUri,
    /// The INVITE's From user; a numeric user shows as caller id on the PSTN.
    pub from: Option<SipFrom>,
    /// Custom headers added to the INVITE.
    pub headers: SipHeaders,
    /// Digest credentials for the callee's challenge.
    pub auth: Option<SipAuth>,
    /// SRTP media. `;transport=tls` in the URI encrypts only signalling.
    pub secure: bool,
    /// Send video to the SIP leg (a composed grid of up to 9 streams).
    pub video: bool,
    /// Let force-mute apply to the SIP leg (the callee can toggle with `*6`).
    pub observe_force_mute: bool,
    /// Streams the SIP leg subscribes to; empty means all.
    pub streams: Vec<StreamId>,
}

impl DialRequest {
    /// A dial with every option at its default.
    pub fn new(session_id: SessionId, token: ClientToken, uri: SipUri) -> Self {
        Self {
            session_id,
            token,
            uri,
            from: None,
            headers: SipHeaders::new(),
            auth: None,
            secure: false,
            video: false,
            observe_force_mute: false,
            streams: Vec::new(),
        }
    }
}

/// A call the platform accepted. The connection exists from this moment, but the far
/// end may still fail to ring: only the SIP callbacks tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipCall {
    /// The platform's call (conference) id.
    pub id: CallId,
    /// The SIP leg's connection, the handle to hang it up with.
    pub connection_id: ConnectionId,
    /// The SIP leg's audio stream.
    pub stream_id: StreamId,
    /// The session the call is in.
    pub session_id: SessionId,
    /// When the platform created the call.
    pub created_at: Timestamp,
}

/// Where DTMF digits are played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtmfTarget {
    /// To every SIP leg of a session.
    Session(SessionId),
    /// To one connection (one SIP leg) of a session.
    Connection(SessionId, ConnectionId),
}

impl DtmfTarget {
    /// The session the target is in.
    pub fn session_id(&self) -> &SessionId {
        match self {
            DtmfTarget::Session(s) | DtmfTarget::Connection(s, _) => s,
        }
    }
}

/// A stream published in a session, as the platform lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream's id.
    pub id: StreamId,
    /// `camera`, `screen` or `custom`; absent for audio-only streams such as SIP legs.
    pub video_type: Option<String>,
    /// The publisher's stream name.
    pub name: Option<String>,
    /// Layout classes currently set on the stream.
    pub layout_class_list: Vec<String>,
}

/// The state of a connection as the platform lists it (List Connections,
/// `connectionState`: `Connecting`, `Connected` or `Disconnected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Joining the session (a SIP leg that is still ringing may be here).
    Connecting,
    /// In the session.
    Connected,
    /// Gone from the session (by itself, or forced).
    Disconnected,
    /// A state this version does not know: never taken as an end.
    Unknown,
}

impl ConnectionState {
    /// The platform's spelling (`Connecting`, `Connected`, `Disconnected`), any case;
    /// anything else is [`ConnectionState::Unknown`].
    pub fn from_platform(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "connecting" => Self::Connecting,
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            _ => Self::Unknown,
        }
    }

    /// The platform's spelling; `Unknown` for [`ConnectionState::Unknown`].
    pub fn as_platform_str(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting",
            Self::Connected => "Connected",
            Self::Disconnected => "Disconnected",
            Self::Unknown => "Unknown",
        }
    }
}

/// One connection of a session, as the platform lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The connection id (a SIP leg's is the dial's `connectionId`).
    pub connection_id: ConnectionId,
    /// Its state.
    pub state: ConnectionState,
    /// When it was created, if the platform said.
    pub created_at: Option<Timestamp>,
}

impl ConnectionInfo {
    /// A connection in `state` (for dialers outside this crate).
    pub fn new(connection_id: ConnectionId, state: ConnectionState) -> Self {
        Self {
            connection_id,
            state,
            created_at: None,
        }
    }

    /// With its creation time.
    pub fn created_at(mut self, at: Timestamp) -> Self {
        self.created_at = Some(at);
        self
    }
}

/// The plugin point: whatever places SIP calls into video sessions.
///
/// Implementations must be cheap to share (`Arc<dyn SipDialer>`) and safe to call from
/// many requests at once. Errors follow [`DialError`]'s split so that the HTTP API can
/// answer each caller with the right status.
#[async_trait]
pub trait SipDialer: Send + Sync + 'static {
    /// The public key or application id that browsers initialise OpenTok.js with.
    fn platform(&self) -> PlatformInfo;

    /// Creates a routed session (`POST /session/create` with `p2p.preference=disabled`).
    ///
    /// Sessions never expire on the platform, so callers keep and reuse the id.
    async fn create_session(&self, options: SessionOptions) -> Result<SessionId, DialError>;

    /// Signs a client token for `session` locally (no network round trip).
    ///
    /// The platform checks the signature, role and expiry when the client connects.
    fn issue_token(
        &self,
        session: &SessionId,
        options: TokenOptions,
    ) -> Result<ClientToken, DialError>;

    /// Asks the platform to dial out (`POST /v2/project/{key}/dial`).
    ///
    /// A success means the SIP connection was added to the session, not that the far
    /// end rang or answered. Dial into a relayed session is a [`DialError::Conflict`],
    /// into an unknown one [`DialError::NotFound`]. Never retried: a retry could place a
    /// second call.
    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError>;

    /// Ends a call by force-disconnecting its connection
    /// (`DELETE …/session/{sid}/connection/{cid}`).
    ///
    /// A connection that is already gone is [`DialError::NotFound`], which callers may
    /// treat as success: hang-up is idempotent in effect.
    async fn hang_up(
        &self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<(), DialError>;

    /// Plays DTMF digits to one SIP leg or to every SIP leg of a session
    /// (`POST …/play-dtmf`).
    async fn play_dtmf(&self, target: &DtmfTarget, digits: &Dtmf) -> Result<(), DialError>;

    /// Force-mutes one stream, e.g. a SIP leg dialled with `observe_force_mute`
    /// (`POST …/stream/{id}/mute`).
    async fn force_mute(&self, session: &SessionId, stream: &StreamId) -> Result<(), DialError>;

    /// Lists the streams published in a session (`GET …/session/{sid}/stream`).
    async fn list_streams(&self, session: &SessionId) -> Result<Vec<StreamInfo>, DialError>;

    /// Whether [`SipDialer::list_connections`] works: the reconciler (which asks the
    /// platform which legs are really there) runs only when it does. Default: no, so
    /// a dialer written before listing existed keeps compiling and is never asked.
    fn lists_connections(&self) -> bool {
        false
    }

    /// Lists the connections of a session (List Connections,
    /// `GET …/session/{sid}/connection`), with their state. The default answers a
    /// [`DialError::Config`] saying the dialer cannot list (see
    /// [`SipDialer::lists_connections`]).
    async fn list_connections(
        &self,
        session: &SessionId,
    ) -> Result<Vec<ConnectionInfo>, DialError> {
        let _ = session;
        Err(DialError::Config {
            message: "this dialer cannot list a session's connections".to_owned(),
        })
    }

    /// Hands the dialer a sink for call events it learns in-process (a platform
    /// connection of its own, a simulated progression); called by the HTTP API when it
    /// is built. Events pushed into it are applied exactly like `POST
    /// {prefix}/callbacks`. The default ignores it: the real platform reports through
    /// HTTP callbacks.
    fn attach_events(&self, sink: EventSink) {
        let _ = sink;
    }
}

#[async_trait]
impl<T: SipDialer + ?Sized> SipDialer for Arc<T> {
    fn platform(&self) -> PlatformInfo {
        (**self).platform()
    }
    async fn create_session(&self, options: SessionOptions) -> Result<SessionId, DialError> {
        (**self).create_session(options).await
    }
    fn issue_token(
        &self,
        session: &SessionId,
        options: TokenOptions,
    ) -> Result<ClientToken, DialError> {
        (**self).issue_token(session, options)
    }
    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError> {
        (**self).dial(request).await
    }
    async fn hang_up(
        &self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<(), DialError> {
        (**self).hang_up(session, connection).await
    }
    async fn play_dtmf(&self, target: &DtmfTarget, digits: &Dtmf) -> Result<(), DialError> {
        (**self).play_dtmf(target, digits).await
    }
    async fn force_mute(&self, session: &SessionId, stream: &StreamId) -> Result<(), DialError> {
        (**self).force_mute(session, stream).await
    }
    async fn list_streams(&self, session: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        (**self).list_streams(session).await
    }
    fn lists_connections(&self) -> bool {
        (**self).lists_connections()
    }
    async fn list_connections(
        &self,
        session: &SessionId,
    ) -> Result<Vec<ConnectionInfo>, DialError> {
        (**self).list_connections(session).await
    }
    fn attach_events(&self, sink: EventSink) {
        (**self).attach_events(sink)
    }
}
