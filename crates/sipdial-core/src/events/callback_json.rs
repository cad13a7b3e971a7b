//! The platform's callback JSON, read and written through one serde shape ([`Wire`]):
//! tolerant on the way in (unknown events and fields are kept or ignored, odd types
//! read as absent), exact on the way out (what `FakePlatform` sends and the tests
//! compare).

use super::*;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

impl PlatformEvent {
    /// Reads a callback body. Only a body that is not a JSON object is an error;
    /// everything else yields an event (possibly [`PlatformEventKind::Other`]).
    pub fn from_callback_json(body: &[u8]) -> Result<Self, CallbackParseError> {
        // Through `Value` first: a top-level array is refused (a derived struct would
        // read it by position), and a repeated key keeps its last value instead of
        // failing the delivery. Every field of `Wire` is lenient, so the second step
        // cannot fail; no field error exists for `serde_path_to_error` to locate.
        let value: Value = serde_json::from_slice(body).map_err(|_| CallbackParseError)?;
        if !value.is_object() {
            return Err(CallbackParseError);
        }
        let wire = Wire::deserialize(value).map_err(|_| CallbackParseError)?;
        Ok(wire.into())
    }

    /// The event as the platform would POST it (the documented fields only), for
    /// fakes and tests that play the platform.
    pub fn to_callback_json(&self) -> Value {
        let wire = Wire::from(self);
        serde_json::to_value(wire).unwrap_or(Value::Null)
    }
}

/// A callback body (docs/platform-api.md §6), every field optional. On the way in each
/// is read through [`lenient`]; on the way out absent ones are left out.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Wire {
    #[serde(deserialize_with = "lenient")]
    event: Option<String>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    session_id: Option<SessionId>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    timestamp: Option<Timestamp>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    call: Option<CallRef>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    /// Present (outer `Some`) even when unreadable: the camel-case spelling is only
    /// the fallback for an absent `reason_code`.
    #[serde(rename = "reason_code", deserialize_with = "reason_code")]
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<Option<String>>,
    #[serde(
        rename = "reasonCode",
        deserialize_with = "reason_code",
        skip_serializing
    )]
    reason_code_camel: Option<Option<String>>,
    #[serde(rename = "reason_message", deserialize_with = "lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_message: Option<String>,
    #[serde(
        rename = "reasonMessage",
        deserialize_with = "lenient",
        skip_serializing
    )]
    reason_message_camel: Option<String>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    connection: Option<ConnectionRef>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    stream: Option<StreamRef>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `{"id": …}`, a connection as the platform names it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ConnectionRef {
    #[serde(deserialize_with = "lenient")]
    id: Option<ConnectionId>,
}

/// A stream and the connection publishing it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct StreamRef {
    #[serde(deserialize_with = "lenient")]
    id: Option<StreamId>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    connection: Option<ConnectionRef>,
}

/// Reads a field that may hold anything: a value that does not fit `T` (a wrong type,
/// an id that fails validation) reads as absent rather than refusing the delivery. An
/// array never fits: no callback field is one, and a derived struct would read it by
/// position.
pub(super) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(_) => None,
        v => T::deserialize(v).ok(),
    })
}

/// `reason_code` is documented as a string; a number is read too, blank reads as
/// absent.
fn reason_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(match Value::deserialize(d)? {
        Value::String(s) => clean_text(&s, MAX_REASON_CODE_LEN),
        Value::Number(n) => clean_text(&n.to_string(), MAX_REASON_CODE_LEN),
        _ => None,
    }))
}

/// Longest reason text kept from a callback (`reason`, `reason_message`), in characters:
/// the platform's are a few words ("Busy Here"), and whatever is kept travels into the
/// call record, the event stream's buffer, the shared store and every webhook.
pub(crate) const MAX_REASON_LEN: usize = 200;

/// Longest `reason_code` kept (the platform's are SIP codes, `486`, or its own `700`).
pub(crate) const MAX_REASON_CODE_LEN: usize = 16;

/// Longest unknown event name kept (the platform's own are under 20 characters).
const MAX_EVENT_NAME_LEN: usize = 64;

/// The text as it may be kept: control characters (CR, LF, NUL, C1) and runs of
/// whitespace folded into one space, trimmed, and cut to `max` characters. `None` when
/// nothing is left.
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

/// A reason as it may be kept (see [`clean_text`]).
fn reason(text: Option<String>) -> Option<String> {
    text.and_then(|t| clean_text(&t, MAX_REASON_LEN))
}

impl From<Wire> for PlatformEvent {
    fn from(w: Wire) -> Self {
        use PlatformEventKind as K;
        let event = w.event.unwrap_or_default();
        let connection = w.connection.and_then(|c| c.id);
        let stream = w
            .stream
            .and_then(|s| Some((s.id?, s.connection.and_then(|c| c.id))));
        let kind = match event.as_str() {
            "callCreated" => w.call.map(|call| K::CallCreated { call }),
            "callUpdated" => w.call.zip(w.state).map(|(call, state)| K::CallUpdated {
                call,
                state: PlatformCallState::parse(&state),
            }),
            "callDestroyed" => w.call.map(|call| K::CallDestroyed {
                call,
                reason_code: w.reason_code.or(w.reason_code_camel).flatten(),
                reason_message: reason(w.reason_message.or(w.reason_message_camel)),
            }),
            "muteForced" => w.call.map(|call| K::MuteForced { call }),
            "connectionCreated" => {
                connection.map(|connection_id| K::ConnectionCreated { connection_id })
            }
            "connectionDestroyed" => connection.map(|connection_id| K::ConnectionDestroyed {
                connection_id,
                reason: reason(w.reason),
            }),
            "streamCreated" => stream.map(|(stream_id, connection_id)| K::StreamCreated {
                stream_id,
                connection_id,
            }),
            "streamDestroyed" => stream.map(|(stream_id, connection_id)| K::StreamDestroyed {
                stream_id,
                connection_id,
                reason: reason(w.reason),
            }),
            _ => None,
        };
        Self {
            session_id: w.session_id,
            timestamp: w.timestamp,
            kind: kind.unwrap_or_else(|| K::Other {
                event: clean_text(&event, MAX_EVENT_NAME_LEN).unwrap_or_default(),
            }),
        }
    }
}

impl From<&PlatformEvent> for Wire {
    fn from(e: &PlatformEvent) -> Self {
        use PlatformEventKind as K;
        let connection = |id: &ConnectionId| ConnectionRef {
            id: Some(id.clone()),
        };
        let stream = |id: &StreamId, c: &Option<ConnectionId>| StreamRef {
            id: Some(id.clone()),
            connection: c.as_ref().map(connection),
        };
        let mut w = Self {
            event: Some(e.name().to_owned()),
            session_id: e.session_id.clone(),
            timestamp: e.timestamp,
            call: e.call().cloned(),
            ..Self::default()
        };
        match &e.kind {
            K::CallUpdated { state, .. } => w.state = Some(state.as_str().to_owned()),
            K::CallDestroyed {
                reason_code,
                reason_message,
                ..
            } => {
                w.reason_code = reason_code.clone().map(Some);
                w.reason_message.clone_from(reason_message);
            }
            K::ConnectionCreated { connection_id } => {
                w.connection = Some(connection(connection_id))
            }
            K::ConnectionDestroyed {
                connection_id,
                reason,
            } => {
                w.connection = Some(connection(connection_id));
                w.reason.clone_from(reason);
            }
            K::StreamCreated {
                stream_id,
                connection_id,
            } => w.stream = Some(stream(stream_id, connection_id)),
            K::StreamDestroyed {
                stream_id,
                connection_id,
                reason,
            } => {
                w.stream = Some(stream(stream_id, connection_id));
                w.reason.clone_from(reason);
            }
            K::CallCreated { .. } | K::MuteForced { .. } | K::Other { .. } => {}
        }
        w
    }
}
