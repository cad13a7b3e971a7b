//! What the fake platform keeps between requests: sessions, their connections and their
//! streams, and the snapshots the inspection API hands out.

use std::collections::BTreeMap;

use hashlink::LinkedHashMap;

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

/// Most sessions the fake keeps. The real platform keeps every session; the fake also
/// serves the demos' demo mode, where whoever reaches the page creates sessions, so it
/// forgets the least recently used idle one beyond this (as sipdial's own store does).
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// Every session by id, least recently used first, with the order it was created in.
#[derive(Debug, Default)]
pub(crate) struct Store {
    sessions: LinkedHashMap<String, (u64, Session)>,
    created: u64,
}

impl Store {
    /// Adds a new session; beyond [`MAX_SESSIONS`] the least recently used session
    /// without a connection goes (or, if every one has some, the least recently used).
    pub(crate) fn insert(&mut self, session: Session) {
        self.created += 1;
        let id = session.info.session_id.clone();
        self.sessions.insert(id, (self.created, session));
        if self.sessions.len() > MAX_SESSIONS {
            let idle = (self.sessions.iter())
                .find(|(_, (_, s))| s.connections.is_empty())
                .map(|(id, _)| id.clone());
            match idle {
                Some(id) => {
                    self.sessions.remove(&id);
                }
                None => {
                    self.sessions.pop_front();
                }
            }
        }
    }

    pub(crate) fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id).map(|(_, s)| s)
    }

    /// The session, now the most recently used.
    pub(crate) fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.to_back(id).map(|(_, s)| s)
    }

    /// Every session, in creation order.
    pub(crate) fn in_creation_order(&self) -> Vec<&Session> {
        let mut all: Vec<_> = self.sessions.values().collect();
        all.sort_unstable_by_key(|(created, _)| *created);
        all.into_iter().map(|(_, s)| s).collect()
    }

    /// Every session, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values().map(|(_, s)| s)
    }

    /// Every session, in no particular order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Session> {
        self.sessions.values_mut().map(|(_, s)| s)
    }

    /// How many sessions are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: usize) -> Session {
        Session {
            info: SessionSnapshot {
                session_id: format!("2_s{id}"),
                project_key: "1".to_owned(),
                media_mode: MediaMode::Routed,
                archive_mode: "manual".to_owned(),
                location: None,
                e2ee: false,
                created_at: Timestamp::now(),
                dtmf: Vec::new(),
                mute_all_active: false,
            },
            connections: Vec::new(),
            streams: Vec::new(),
            ever_had_stream: false,
        }
    }

    /// A flood of new sessions keeps the store at its bound, and pushes out neither the
    /// session in use nor one with a connection; the listing stays in creation order.
    #[test]
    fn sessions_are_bounded_least_recently_used_idle_first() {
        let mut store = Store::default();
        let mut busy = session(0);
        busy.connections.push(ConnectionSnapshot {
            connection_id: "k".to_owned(),
            session_id: busy.info.session_id.clone(),
            kind: ConnectionKind::Client,
            data: None,
            created_at: Timestamp::now(),
            sip: None,
            dtmf: Vec::new(),
        });
        store.insert(busy);
        store.insert(session(1));
        for n in 2..MAX_SESSIONS + 500 {
            store.insert(session(n));
            assert!(store.session_mut("2_s1").is_some(), "in use, kept ({n})");
        }
        assert_eq!(store.len(), MAX_SESSIONS);
        assert!(store.session("2_s0").is_some(), "a connection keeps it");
        assert!(store.session("2_s2").is_none(), "the oldest idle went");
        let order = store.in_creation_order();
        assert!(
            (order.windows(2)).all(|w| {
                let n = |s: &Session| s.info.session_id[3..].parse::<usize>().unwrap();
                n(w[0]) < n(w[1])
            }),
            "creation order"
        );
    }
}
