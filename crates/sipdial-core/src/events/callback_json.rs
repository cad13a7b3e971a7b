//! The platform's callback JSON, read and written: tolerant on the way in (unknown
//! events and fields are kept or ignored, odd types read as absent), exact on the way
//! out (what `FakePlatform` sends and the tests compare).

use super::*;
use crate::{ConnectionId, StreamId, Timestamp};
use serde_json::{Map, Value, json};

impl PlatformEvent {
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
        let reason = || string(obj, "reason").and_then(|r| clean_text(r, MAX_REASON_LEN));
        let other = || PlatformEventKind::Other {
            event: clean_text(event, 64).unwrap_or_default(),
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
                    .and_then(|m| clean_text(m, MAX_REASON_LEN)),
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

/// Longest reason text kept from a callback (`reason`, `reason_message`), in characters:
/// the platform's are a few words ("Busy Here"), and whatever is kept travels into the
/// call record, the event stream's buffer, the shared store and every webhook.
pub(crate) const MAX_REASON_LEN: usize = 200;

/// Longest `reason_code` kept (the platform's are SIP codes, `486`, or its own `700`).
pub(crate) const MAX_REASON_CODE_LEN: usize = 16;

/// The text as it may be kept: control characters (CR, LF, NUL, bidi controls'
/// neighbours in C0/C1) turned into spaces, runs of whitespace folded, trimmed, and cut to
/// `max` characters. `None` when nothing is left.
pub(crate) fn clean_text(text: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut kept = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            if kept + 1 >= max {
                break;
            }
            out.push(' ');
            kept += 1;
            space = false;
        }
        if kept >= max {
            break;
        }
        out.push(c);
        kept += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// `reason_code` is documented as a string; a number is read too.
fn code(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => clean_text(s, MAX_REASON_CODE_LEN),
        Value::Number(n) => clean_text(&n.to_string(), MAX_REASON_CODE_LEN),
        _ => None,
    }
}
