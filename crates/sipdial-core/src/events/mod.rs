//! What the platform reports after a dial: SIP call and session-monitoring events
//! (docs/platform-api.md §6), as one typed [`PlatformEvent`].
//!
//! They reach sipdial two ways, which end in the same state machine: as JSON POSTed to
//! `{prefix}/callbacks` ([`PlatformEvent::from_callback_json`]), or in-process from a
//! dialer that learns them itself, through the [`EventSink`] that
//! [`crate::SipDialer::attach_events`] hands it (the `FakeDialer` does this to show a
//! realistic progression without a network).
//!
//! Parsing is deliberately tolerant: the platform adds events and fields over time, and
//! a callback the receiver refuses counts towards the platform disabling delivery. An
//! unknown event becomes [`PlatformEventKind::Other`], unknown fields are ignored, and a
//! field of an unexpected type or an id that is not a valid id reads as absent.

use std::sync::Arc;

use crate::{CallId, ConnectionId, SessionId, StreamId, Timestamp};

/// Where a dialer delivers the events it learns in-process. Cheap to call from any
/// thread and never blocks: events are queued and applied in order by the API.
pub type EventSink = Arc<dyn Fn(PlatformEvent) + Send + Sync>;

/// The call an SIP event is about: the platform's call id and the SIP leg's
/// connection, either of which may be missing from a delivery.
///
/// Serde reads and writes it as a callback's `call` object: a field of the wrong type
/// or an invalid id reads as absent, and an absent one is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CallRef {
    /// The call (conference) id, as dial answered it.
    #[serde(deserialize_with = "callback_json::lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CallId>,
    /// The SIP leg's connection id, as dial answered it.
    #[serde(deserialize_with = "callback_json::lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<ConnectionId>,
    /// When the platform created the call.
    #[serde(deserialize_with = "callback_json::lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
}

impl CallRef {
    /// A reference by both ids.
    pub fn new(id: CallId, connection_id: ConnectionId) -> Self {
        Self {
            id: Some(id),
            connection_id: Some(connection_id),
            created_at: None,
        }
    }
}

/// The `state` of a `callUpdated` event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlatformCallState {
    /// `DIALING`: the INVITE is on its way.
    Dialing,
    /// `RINGING`: the far end is ringing.
    Ringing,
    /// `ON_HOLD`: the far end put the call on hold.
    OnHold,
    /// `ACTIVE`: the far end answered (or resumed).
    Active,
    /// `HANGUP`: the call is being torn down; `callDestroyed` carries the reason.
    Hangup,
    /// A state this version does not know, kept verbatim.
    Other(String),
}

impl PlatformCallState {
    /// Reads the platform's spelling (case-insensitively).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "DIALING" => Self::Dialing,
            "RINGING" => Self::Ringing,
            "ON_HOLD" | "ONHOLD" => Self::OnHold,
            "ACTIVE" => Self::Active,
            "HANGUP" => Self::Hangup,
            _ => Self::Other(s.to_owned()),
        }
    }

    /// The platform's spelling (`RINGING`, `ON_HOLD`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Dialing => "DIALING",
            Self::Ringing => "RINGING",
            Self::OnHold => "ON_HOLD",
            Self::Active => "ACTIVE",
            Self::Hangup => "HANGUP",
            Self::Other(s) => s,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlatformEventKind {
    /// `callCreated`: the platform started the call (at least once per call).
    CallCreated {
        /// The call.
        call: CallRef,
    },
    /// `callUpdated`: the SIP dialog moved to `state`.
    CallUpdated {
        /// The call.
        call: CallRef,
        /// The new state.
        state: PlatformCallState,
    },
    /// `callDestroyed`: the call is over.
    CallDestroyed {
        /// The call.
        call: CallRef,
        /// A SIP response code (`"486"`) or the platform's own 700–706, as the string
        /// the platform sends.
        reason_code: Option<String>,
        /// The platform's text for it (`"Busy Here"`).
        reason_message: Option<String>,
    },
    /// `muteForced`: a moderator force-muted the SIP leg (only with
    /// `observeForceMute`).
    MuteForced {
        /// The call.
        call: CallRef,
    },
    /// `connectionCreated`.
    ConnectionCreated {
        /// The connection.
        connection_id: ConnectionId,
    },
    /// `connectionDestroyed`: for a SIP leg's connection, the call is over.
    ConnectionDestroyed {
        /// The connection.
        connection_id: ConnectionId,
        /// `clientDisconnected`, `forceDisconnected` or `networkDisconnected`.
        reason: Option<String>,
    },
    /// `streamCreated`.
    StreamCreated {
        /// The stream.
        stream_id: StreamId,
        /// The connection that publishes it.
        connection_id: Option<ConnectionId>,
    },
    /// `streamDestroyed`.
    StreamDestroyed {
        /// The stream.
        stream_id: StreamId,
        /// The connection that published it.
        connection_id: Option<ConnectionId>,
        /// Why it ended (`forceUnpublished`, `mediaStopped`, ...).
        reason: Option<String>,
    },
    /// Any other event, or a known one missing what identifies its subject; kept by
    /// name only.
    Other {
        /// The `event` field, verbatim (empty when absent).
        event: String,
    },
}

/// One platform event about a session or a SIP call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformEvent {
    /// The session it happened in.
    pub session_id: Option<SessionId>,
    /// When the platform says it happened; orders events of equal weight (hold and
    /// resume) that arrive out of order.
    pub timestamp: Option<Timestamp>,
    /// What happened.
    pub kind: PlatformEventKind,
}

/// A callback body that is not a JSON object: the one delivery the API refuses (400),
/// since no retry can make it readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the callback body is not a JSON object")]
pub struct CallbackParseError;

impl PlatformEvent {
    /// An event in `session` at the current time.
    pub fn new(session_id: SessionId, kind: PlatformEventKind) -> Self {
        Self {
            session_id: Some(session_id),
            timestamp: Some(Timestamp::now()),
            kind,
        }
    }

    /// Sets the timestamp.
    pub fn at(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The platform's `event` name (`callUpdated`, ...).
    pub fn name(&self) -> &str {
        match &self.kind {
            PlatformEventKind::CallCreated { .. } => "callCreated",
            PlatformEventKind::CallUpdated { .. } => "callUpdated",
            PlatformEventKind::CallDestroyed { .. } => "callDestroyed",
            PlatformEventKind::MuteForced { .. } => "muteForced",
            PlatformEventKind::ConnectionCreated { .. } => "connectionCreated",
            PlatformEventKind::ConnectionDestroyed { .. } => "connectionDestroyed",
            PlatformEventKind::StreamCreated { .. } => "streamCreated",
            PlatformEventKind::StreamDestroyed { .. } => "streamDestroyed",
            PlatformEventKind::Other { event } => event,
        }
    }

    /// The call this event names, for the SIP call events.
    pub fn call(&self) -> Option<&CallRef> {
        match &self.kind {
            PlatformEventKind::CallCreated { call }
            | PlatformEventKind::CallUpdated { call, .. }
            | PlatformEventKind::CallDestroyed { call, .. }
            | PlatformEventKind::MuteForced { call } => Some(call),
            _ => None,
        }
    }
}

pub(crate) mod callback_json;

#[cfg(test)]
mod tests;
