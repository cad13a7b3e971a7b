//! The call record and its states: what every part of the API (the store, the state
//! machine, the event streams) says about a call, in one place they all depend on.

pub(crate) mod event;
pub(crate) mod outcome;
pub(crate) mod ticket;
pub(crate) mod timer;
pub(crate) mod transition;

use crate::call::outcome::CallOutcome;
use crate::{CallId, ConnectionId, SessionId, SipCall, StreamId, Timestamp};

/// How far a call got. After a successful dial a call is [`CallState::Dialing`]: the
/// platform added the SIP connection, but only its callbacks tell whether the far end
/// rang or answered. [`CallState::Ended`] is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// The platform accepted the dial; the INVITE is on its way.
    Dialing,
    /// The far end is ringing.
    Ringing,
    /// The far end answered.
    Active,
    /// The far end put the call on hold.
    OnHold,
    /// The call is over (hung up here, by the far end, or failed).
    Ended,
}

impl CallState {
    /// The wire spelling (`dialing`, `on_hold`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Dialing => "dialing",
            CallState::Ringing => "ringing",
            CallState::Active => "active",
            CallState::OnHold => "on_hold",
            CallState::Ended => "ended",
        }
    }
}

/// One call as the API reports it: `{id, sessionId, target, connectionId, streamId?,
/// state, createdAt, updatedAt, answeredAt?, endedAt?, endReason?, sipCode?, outcome?,
/// durationMs?}`. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// The platform's call id.
    pub id: CallId,
    /// The session the SIP leg is in.
    pub session_id: SessionId,
    /// The configured target whose settings were used; `null` for a caller-supplied
    /// URI dialled without one, and for calls this server did not place.
    pub target: Option<String>,
    /// The SIP leg's connection.
    pub connection_id: ConnectionId,
    /// The SIP leg's stream; unknown only for a call this server did not place until
    /// the platform reports its stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<StreamId>,
    /// How far the call got.
    pub state: CallState,
    /// When the platform created the call.
    pub created_at: Timestamp,
    /// When the current state was reached (the platform's time when it said).
    #[serde(default)]
    pub updated_at: Timestamp,
    /// When the call ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Why it ended, for people: the platform's reason (`Busy Here`), or `Hung up`
    /// until the platform says more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The SIP response code (or the platform's own 700–706) it ended with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_code: Option<u16>,
    /// How it ended, in one word (set with the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CallOutcome>,
    /// When the far end answered: the call first reached `active` (or `on_hold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    /// Milliseconds from the answer to the end; only for answered calls that ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl CallRecord {
    /// A call the platform created at `created_at` and nothing has happened to yet:
    /// `dialing`, with no target, stream or end. Every other record is this one moved
    /// on by the state machine, so it is the one place a record is spelled out.
    pub fn new(
        id: CallId,
        session_id: SessionId,
        connection_id: ConnectionId,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            session_id,
            target: None,
            connection_id,
            stream_id: None,
            state: CallState::Dialing,
            created_at,
            updated_at: created_at,
            ended_at: None,
            end_reason: None,
            sip_code: None,
            outcome: None,
            answered_at: None,
            duration_ms: None,
        }
    }

    /// A call dial just placed: `dialing`, with the dial's ids.
    pub fn dialed(call: &SipCall, target: Option<String>) -> Self {
        Self {
            target,
            stream_id: Some(call.stream_id.clone()),
            ..Self::new(
                call.id.clone(),
                call.session_id.clone(),
                call.connection_id.clone(),
                call.created_at,
            )
        }
    }
}
