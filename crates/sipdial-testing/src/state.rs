//! What the fake platform keeps between requests: sessions, their connections and their
//! streams, and the snapshots the inspection API hands out.

use std::collections::BTreeMap;

use sipdial_core::Timestamp;

/// How a session routes media (docs/platform-api.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaMode {
    /// `p2p.preference=disabled`: through the Media Router. SIP works only here.
    Routed,
    /// `p2p.preference=enabled`: peer to peer. Dialing into it is a 409.
    Relayed,
}

/// A session as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSnapshot {
    /// The session id, in the platform's format.
    pub session_id: String,
    /// The key the session was created under (API key or application id).
    pub project_key: String,
    /// Routed or relayed.
    pub media_mode: MediaMode,
    /// `manual` or `always`.
    pub archive_mode: String,
    /// The location hint, when one was given.
    pub location: Option<String>,
    /// Whether end-to-end encryption was asked for.
    pub e2ee: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Every DTMF string played to the whole session, in order.
    pub dtmf: Vec<String>,
    /// Whether "mute all" is active (`POST …/mute` with `active: true`).
    pub mute_all_active: bool,
}

impl SessionSnapshot {
    /// Whether SIP can be dialed into it.
    pub fn is_routed(&self) -> bool {
        self.media_mode == MediaMode::Routed
    }
}

/// What kind of participant a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionKind {
    /// A SIP leg added by `POST …/dial`.
    Sip,
    /// A simulated browser or app client, added by [`crate::FakePlatform::add_client`].
    Client,
}

/// Where a SIP call stands, in the platform's `callUpdated` spelling (docs/platform-api.md §6).
///
/// A call that ended is no longer in the session at all, so there is no "ended" here:
/// its last word was the `callDestroyed` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SipCallState {
    /// The INVITE is on its way (right after the dial).
    #[default]
    Dialing,
    /// The far end is ringing.
    Ringing,
    /// The far end answered.
    Active,
    /// The far end put the call on hold.
    OnHold,
}

impl SipCallState {
    /// The `state` value of a `callUpdated` callback (`DIALING`, `ON_HOLD`, ...).
    pub fn as_platform_str(self) -> &'static str {
        match self {
            Self::Dialing => "DIALING",
            Self::Ringing => "RINGING",
            Self::Active => "ACTIVE",
            Self::OnHold => "ON_HOLD",
        }
    }

    /// Whether the far end has answered (active or on hold).
    pub fn answered(self) -> bool {
        matches!(self, Self::Active | Self::OnHold)
    }
}

/// The SIP options a dial carried (without the SIP password, which is never kept).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SipLeg {
    /// The conference id returned as `id`.
    pub call_id: String,
    /// `sip.uri`.
    pub uri: String,
    /// `sip.from`.
    pub from: Option<String>,
    /// `sip.headers`.
    pub headers: BTreeMap<String, String>,
    /// `sip.auth.username` (the password is checked for presence and dropped).
    pub auth_username: Option<String>,
    /// `sip.secure`.
    pub secure: bool,
    /// `sip.video`.
    pub video: bool,
    /// `sip.observeForceMute`.
    pub observe_force_mute: bool,
    /// `sip.streams`, when given.
    pub streams: Option<Vec<String>>,
    /// The format of the client token the dial carried.
    pub token_format: Option<crate::TokenFormat>,
    /// The role in that token.
    pub token_role: String,
    /// How far the call got (moved by a [`crate::CallScript`] or
    /// [`crate::FakePlatform::advance_call`]).
    pub state: SipCallState,
}

/// A connection in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionSnapshot {
    /// The connection id.
    pub connection_id: String,
    /// The session it belongs to.
    pub session_id: String,
    /// SIP leg or client.
    pub kind: ConnectionKind,
    /// The connection data of its token (e.g. `sip=true`).
    pub data: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// For a SIP leg: what the dial asked for.
    pub sip: Option<SipLeg>,
    /// Every DTMF string played to this connection, in order.
    pub dtmf: Vec<String>,
}

/// A stream in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamSnapshot {
    /// The stream id.
    pub stream_id: String,
    /// The session it belongs to.
    pub session_id: String,
    /// The connection publishing it.
    pub connection_id: String,
    /// `camera`, `screen` or `custom`; `None` for audio-only (a SIP audio leg).
    pub video_type: Option<String>,
    /// The stream name.
    pub name: String,
    /// Layout classes.
    pub layout_class_list: Vec<String>,
    /// Whether a moderator force-muted it.
    pub force_muted: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

impl StreamSnapshot {
    /// The stream as `GET …/stream[/{id}]` writes it.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": self.stream_id,
            "name": self.name,
            "layoutClassList": self.layout_class_list,
        });
        if let Some(t) = &self.video_type {
            v["videoType"] = serde_json::Value::String(t.clone());
        }
        v
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) info: SessionSnapshot,
    pub(crate) connections: Vec<ConnectionSnapshot>,
    pub(crate) streams: Vec<StreamSnapshot>,
    /// The platform answers 404 to a stream listing until a session has had a stream.
    pub(crate) ever_had_stream: bool,
}

/// Every session, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) sessions: Vec<Session>,
}

impl Store {
    pub(crate) fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.info.session_id == id)
    }

    pub(crate) fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.info.session_id == id)
    }
}

impl Session {
    pub(crate) fn add_connection(
        &mut self,
        connection: ConnectionSnapshot,
        stream: Option<StreamSnapshot>,
    ) {
        self.connections.push(connection);
        if let Some(stream) = stream {
            self.add_stream(stream);
        }
    }

    /// Adds a stream (force-muted when "mute all" is on).
    pub(crate) fn add_stream(&mut self, mut stream: StreamSnapshot) {
        if self.info.mute_all_active {
            stream.force_muted = true;
        }
        self.streams.push(stream);
        self.ever_had_stream = true;
    }

    /// Removes a connection and every stream it published, and returns them (for the
    /// callbacks that report it); `None` when it was not there.
    pub(crate) fn take_connection(
        &mut self,
        connection_id: &str,
    ) -> Option<(ConnectionSnapshot, Vec<StreamSnapshot>)> {
        let index = self
            .connections
            .iter()
            .position(|c| c.connection_id == connection_id)?;
        let connection = self.connections.remove(index);
        let (gone, kept) = std::mem::take(&mut self.streams)
            .into_iter()
            .partition(|s| s.connection_id == connection_id);
        self.streams = kept;
        Some((connection, gone))
    }

    /// The SIP leg of the call `call_id`, if it is still in this session.
    pub(crate) fn sip_call_mut(&mut self, call_id: &str) -> Option<&mut ConnectionSnapshot> {
        self.connections
            .iter_mut()
            .find(|c| c.sip.as_ref().is_some_and(|leg| leg.call_id == call_id))
    }
}
