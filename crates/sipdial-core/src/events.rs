//! What the platform reports after a dial: SIP call and session-monitoring events
//! (opentok-api.md §6), as one typed [`PlatformEvent`].
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

use serde_json::{Map, Value, json};

use crate::{CallId, ConnectionId, SessionId, StreamId, Timestamp};

/// Where a dialer delivers the events it learns in-process. Cheap to call from any
/// thread and never blocks: events are queued and applied in order by the API.
pub type EventSink = Arc<dyn Fn(PlatformEvent) + Send + Sync>;

/// The call an SIP event is about: the platform's call id and the SIP leg's
/// connection, either of which may be missing from a delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRef {
    /// The call (conference) id, as dial answered it.
    pub id: Option<CallId>,
    /// The SIP leg's connection id, as dial answered it.
    pub connection_id: Option<ConnectionId>,
    /// When the platform created the call.
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

    /// Reads a callback body. Only a body that is not a JSON object is an error;
    /// everything else yields an event (possibly [`PlatformEventKind::Other`]).
    pub fn from_callback_json(body: &[u8]) -> Result<Self, CallbackParseError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| CallbackParseError)?;
        let obj = value.as_object().ok_or(CallbackParseError)?;
        Ok(Self::from_object(obj))
    }

    fn from_object(obj: &Map<String, Value>) -> Self {
        let event = obj.get("event").and_then(Value::as_str).unwrap_or("");
        let session_id = string(obj, "sessionId").and_then(|s| SessionId::new(s).ok());
        let timestamp = millis(obj, "timestamp");
        let call = || obj.get("call").and_then(Value::as_object).map(call_ref);
        let connection = || {
            obj.get("connection")
                .and_then(Value::as_object)
                .and_then(|c| id_field::<ConnectionId>(c, "id"))
        };
        let stream = || obj.get("stream").and_then(Value::as_object);
        let reason = || string(obj, "reason").map(str::to_owned);
        let other = || PlatformEventKind::Other {
            event: event.to_owned(),
        };
        let kind = match event {
            "callCreated" => {
                call().map_or_else(other, |call| PlatformEventKind::CallCreated { call })
            }
            "callUpdated" => match (call(), string(obj, "state")) {
                (Some(call), Some(state)) => PlatformEventKind::CallUpdated {
                    call,
                    state: PlatformCallState::parse(state),
                },
                _ => other(),
            },
            "callDestroyed" => call().map_or_else(other, |call| PlatformEventKind::CallDestroyed {
                call,
                reason_code: code(obj.get("reason_code").or_else(|| obj.get("reasonCode"))),
                reason_message: string(obj, "reason_message")
                    .or_else(|| string(obj, "reasonMessage"))
                    .map(str::to_owned),
            }),
            "muteForced" => {
                call().map_or_else(other, |call| PlatformEventKind::MuteForced { call })
            }
            "connectionCreated" => connection().map_or_else(other, |connection_id| {
                PlatformEventKind::ConnectionCreated { connection_id }
            }),
            "connectionDestroyed" => connection().map_or_else(other, |connection_id| {
                PlatformEventKind::ConnectionDestroyed {
                    connection_id,
                    reason: reason(),
                }
            }),
            "streamCreated" | "streamDestroyed" => {
                let Some(stream) = stream() else {
                    return Self {
                        session_id,
                        timestamp,
                        kind: other(),
                    };
                };
                let stream_id = id_field::<StreamId>(stream, "id");
                let connection_id = stream
                    .get("connection")
                    .and_then(Value::as_object)
                    .and_then(|c| id_field::<ConnectionId>(c, "id"));
                match (stream_id, event) {
                    (Some(stream_id), "streamCreated") => PlatformEventKind::StreamCreated {
                        stream_id,
                        connection_id,
                    },
                    (Some(stream_id), _) => PlatformEventKind::StreamDestroyed {
                        stream_id,
                        connection_id,
                        reason: reason(),
                    },
                    (None, _) => other(),
                }
            }
            _ => other(),
        };
        Self {
            session_id,
            timestamp,
            kind,
        }
    }

    /// The event as the platform would POST it (the documented fields only), for
    /// fakes and tests that play the platform.
    pub fn to_callback_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("event".into(), Value::String(self.name().to_owned()));
        if let Some(s) = &self.session_id {
            obj.insert("sessionId".into(), Value::String(s.as_str().to_owned()));
        }
        if let Some(t) = self.timestamp {
            obj.insert("timestamp".into(), Value::from(t.as_millis()));
        }
        let call_json = |c: &CallRef| {
            let mut m = Map::new();
            if let Some(id) = &c.id {
                m.insert("id".into(), Value::String(id.as_str().to_owned()));
            }
            if let Some(cid) = &c.connection_id {
                m.insert(
                    "connectionId".into(),
                    Value::String(cid.as_str().to_owned()),
                );
            }
            if let Some(t) = c.created_at {
                m.insert("createdAt".into(), Value::from(t.as_millis()));
            }
            Value::Object(m)
        };
        match &self.kind {
            PlatformEventKind::CallCreated { call } | PlatformEventKind::MuteForced { call } => {
                obj.insert("call".into(), call_json(call));
            }
            PlatformEventKind::CallUpdated { call, state } => {
                obj.insert("call".into(), call_json(call));
                obj.insert("state".into(), Value::String(state.as_str().to_owned()));
            }
            PlatformEventKind::CallDestroyed {
                call,
                reason_code,
                reason_message,
            } => {
                obj.insert("call".into(), call_json(call));
                if let Some(c) = reason_code {
                    obj.insert("reason_code".into(), Value::String(c.clone()));
                }
                if let Some(m) = reason_message {
                    obj.insert("reason_message".into(), Value::String(m.clone()));
                }
            }
            PlatformEventKind::ConnectionCreated { connection_id } => {
                obj.insert("connection".into(), json!({ "id": connection_id.as_str() }));
            }
            PlatformEventKind::ConnectionDestroyed {
                connection_id,
                reason,
            } => {
                obj.insert("connection".into(), json!({ "id": connection_id.as_str() }));
                if let Some(r) = reason {
                    obj.insert("reason".into(), Value::String(r.clone()));
                }
            }
            PlatformEventKind::StreamCreated {
                stream_id,
                connection_id,
            } => {
                obj.insert(
                    "stream".into(),
                    stream_json(stream_id, connection_id.as_ref()),
                );
            }
            PlatformEventKind::StreamDestroyed {
                stream_id,
                connection_id,
                reason,
            } => {
                obj.insert(
                    "stream".into(),
                    stream_json(stream_id, connection_id.as_ref()),
                );
                if let Some(r) = reason {
                    obj.insert("reason".into(), Value::String(r.clone()));
                }
            }
            PlatformEventKind::Other { .. } => {}
        }
        Value::Object(obj)
    }
}

fn stream_json(stream: &StreamId, connection: Option<&ConnectionId>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(stream.as_str().to_owned()));
    if let Some(c) = connection {
        m.insert("connection".into(), json!({ "id": c.as_str() }));
    }
    Value::Object(m)
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn millis(obj: &Map<String, Value>, key: &str) -> Option<Timestamp> {
    obj.get(key)
        .and_then(Value::as_u64)
        .map(Timestamp::from_millis)
}

fn id_field<T: TryFrom<String>>(obj: &Map<String, Value>, key: &str) -> Option<T> {
    string(obj, key).and_then(|s| T::try_from(s.to_owned()).ok())
}

fn call_ref(obj: &Map<String, Value>) -> CallRef {
    CallRef {
        id: id_field(obj, "id"),
        connection_id: id_field(obj, "connectionId"),
        created_at: millis(obj, "createdAt"),
    }
}

/// `reason_code` is documented as a string; a number is read too.
fn code(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> PlatformEvent {
        PlatformEvent::from_callback_json(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn reads_every_documented_event() {
        let call = json!({ "id": "c1", "connectionId": "k1", "createdAt": 5 });
        let base = |event: &str| json!({ "sessionId": "1_s", "projectId": "123456", "event": event, "timestamp": 9, "call": call });
        let e = parse(base("callCreated"));
        assert_eq!(e.session_id.as_ref().unwrap().as_str(), "1_s");
        assert_eq!(e.timestamp, Some(Timestamp::from_millis(9)));
        let c = e.call().unwrap();
        assert_eq!(c.id.as_ref().unwrap().as_str(), "c1");
        assert_eq!(c.connection_id.as_ref().unwrap().as_str(), "k1");
        assert_eq!(c.created_at, Some(Timestamp::from_millis(5)));
        let mut u = base("callUpdated");
        u["state"] = json!("ON_HOLD");
        assert!(matches!(
            parse(u).kind,
            PlatformEventKind::CallUpdated {
                state: PlatformCallState::OnHold,
                ..
            }
        ));
        let mut d = base("callDestroyed");
        d["reason_code"] = json!("486");
        d["reason_message"] = json!("Busy Here");
        match parse(d).kind {
            PlatformEventKind::CallDestroyed {
                reason_code,
                reason_message,
                ..
            } => {
                assert_eq!(reason_code.as_deref(), Some("486"));
                assert_eq!(reason_message.as_deref(), Some("Busy Here"));
            }
            k => panic!("{k:?}"),
        }
        assert!(matches!(
            parse(base("muteForced")).kind,
            PlatformEventKind::MuteForced { .. }
        ));
        let conn = json!({ "event": "connectionDestroyed", "reason": "forceDisconnected",
                           "connection": { "id": "k1", "createdAt": 1, "data": "sip=true" } });
        assert!(matches!(
            parse(conn).kind,
            PlatformEventKind::ConnectionDestroyed { reason: Some(ref r), .. } if r == "forceDisconnected"
        ));
        let s = json!({ "event": "streamCreated", "stream": { "id": "st", "connection": { "id": "k1" } } });
        assert!(matches!(
            parse(s).kind,
            PlatformEventKind::StreamCreated {
                connection_id: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn unknown_events_fields_and_types_are_tolerated() {
        let e = parse(json!({ "event": "archiveStarted", "extra": [1, 2] }));
        assert_eq!(
            e.kind,
            PlatformEventKind::Other {
                event: "archiveStarted".into()
            }
        );
        // A known event without what identifies its subject reads as Other.
        let e = parse(json!({ "event": "callUpdated", "call": { "id": "c" } }));
        assert!(matches!(e.kind, PlatformEventKind::Other { .. }));
        // Wrong types read as absent; a numeric reason code is accepted.
        let e = parse(
            json!({ "event": "callDestroyed", "timestamp": "soon", "sessionId": 5,
                               "call": { "id": "c", "connectionId": 7 }, "reason_code": 404, "future": true }),
        );
        assert_eq!(e.timestamp, None);
        assert_eq!(e.session_id, None);
        match e.kind {
            PlatformEventKind::CallDestroyed {
                call, reason_code, ..
            } => {
                assert_eq!(call.connection_id, None);
                assert_eq!(reason_code.as_deref(), Some("404"));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(
            PlatformCallState::parse("SOMETHING_NEW"),
            PlatformCallState::Other("SOMETHING_NEW".into())
        );
        assert!(PlatformEvent::from_callback_json(b"[1]").is_err());
        assert!(PlatformEvent::from_callback_json(b"{").is_err());
    }

    #[test]
    fn callback_json_round_trips() {
        let session = SessionId::new("1_s").unwrap();
        let call = CallRef::new(CallId::new("c").unwrap(), ConnectionId::new("k").unwrap());
        let events = [
            PlatformEventKind::CallCreated { call: call.clone() },
            PlatformEventKind::CallUpdated {
                call: call.clone(),
                state: PlatformCallState::Ringing,
            },
            PlatformEventKind::CallDestroyed {
                call: call.clone(),
                reason_code: Some("700".into()),
                reason_message: Some("Normal Clearing".into()),
            },
            PlatformEventKind::MuteForced { call },
            PlatformEventKind::ConnectionCreated {
                connection_id: ConnectionId::new("k").unwrap(),
            },
            PlatformEventKind::ConnectionDestroyed {
                connection_id: ConnectionId::new("k").unwrap(),
                reason: Some("clientDisconnected".into()),
            },
            PlatformEventKind::StreamCreated {
                stream_id: StreamId::new("s").unwrap(),
                connection_id: Some(ConnectionId::new("k").unwrap()),
            },
            PlatformEventKind::StreamDestroyed {
                stream_id: StreamId::new("s").unwrap(),
                connection_id: None,
                reason: Some("mediaStopped".into()),
            },
        ];
        for kind in events {
            let e = PlatformEvent::new(session.clone(), kind).at(Timestamp::from_millis(42));
            let back = parse(e.to_callback_json());
            assert_eq!(back, e);
        }
    }
}
