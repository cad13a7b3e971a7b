//! The JSON bodies of the platform's callbacks, in the shapes of docs/platform-api.md §6: SIP
//! call events (`callCreated`, `callUpdated`, `callDestroyed`) and session-monitoring
//! events (`connectionCreated`/`Destroyed`, `streamCreated`/`Destroyed`).
//!
//! Every body carries the common `sessionId`, `projectId`, `event` and `timestamp`
//! (milliseconds, taken when the event happened, not when it was delivered: a late
//! delivery carries its old timestamp, as the platform's would).

use serde_json::{Map, Value, json};
use sipdial_core::Timestamp;

use crate::state::{ConnectionSnapshot, StreamSnapshot};

/// Why a connection or stream went away (`reason` of the `…Destroyed` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// The participant left by itself (for a SIP leg: the far end hung up).
    ClientDisconnected,
    /// A moderator (here: our hang-up, `DELETE …/connection/{id}`) removed it.
    ForceDisconnected,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::ClientDisconnected => "clientDisconnected",
            Self::ForceDisconnected => "forceDisconnected",
        }
    }
}

/// One event ready to deliver: its name (for inspection) and its exact body.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) event: &'static str,
    pub(crate) call_id: Option<String>,
    pub(crate) body: bytes::Bytes,
}

fn envelope(
    session_id: &str,
    project_id: &str,
    event: &'static str,
    at: Timestamp,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sessionId".into(), Value::String(session_id.to_owned()));
    m.insert("projectId".into(), Value::String(project_id.to_owned()));
    m.insert("event".into(), Value::String(event.to_owned()));
    m.insert("timestamp".into(), json!(at.as_millis()));
    m
}

fn finish(event: &'static str, call_id: Option<&str>, body: Map<String, Value>) -> Outgoing {
    Outgoing {
        event,
        call_id: call_id.map(str::to_owned),
        body: bytes::Bytes::from(Value::Object(body).to_string()),
    }
}

fn connection_json(c: &ConnectionSnapshot) -> Value {
    json!({
        "id": c.connection_id,
        "createdAt": c.created_at.as_millis(),
        "data": c.data.as_deref().unwrap_or(""),
    })
}

/// What every SIP call event says about the call.
#[derive(Debug, Clone)]
pub(crate) struct CallRef<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) project_id: &'a str,
    pub(crate) call_id: &'a str,
    pub(crate) connection_id: &'a str,
    pub(crate) created_at: Timestamp,
}

impl CallRef<'_> {
    fn body(&self, event: &'static str, at: Timestamp) -> Map<String, Value> {
        let mut m = envelope(self.session_id, self.project_id, event, at);
        m.insert(
            "call".into(),
            json!({
                "id": self.call_id,
                "connectionId": self.connection_id,
                "createdAt": self.created_at.as_millis(),
            }),
        );
        m
    }

    /// `callCreated`.
    pub(crate) fn created(&self, at: Timestamp) -> Outgoing {
        finish(
            "callCreated",
            Some(self.call_id),
            self.body("callCreated", at),
        )
    }

    /// `callUpdated` with `state` (`DIALING`, `RINGING`, `ON_HOLD`, `ACTIVE`, `HANGUP`).
    pub(crate) fn updated(&self, state: &'static str, at: Timestamp) -> Outgoing {
        let mut m = self.body("callUpdated", at);
        m.insert("state".into(), Value::String(state.to_owned()));
        finish("callUpdated", Some(self.call_id), m)
    }

    /// `muteForced`: a force-mute reached a SIP leg dialled with `observeForceMute`
    /// (docs/platform-api.md §6).
    pub(crate) fn mute_forced(&self, at: Timestamp) -> Outgoing {
        finish(
            "muteForced",
            Some(self.call_id),
            self.body("muteForced", at),
        )
    }

    /// `callDestroyed` with the SIP (or 7xx) code as a **string** and its message.
    pub(crate) fn destroyed(&self, code: u16, message: &str, at: Timestamp) -> Outgoing {
        let mut m = self.body("callDestroyed", at);
        m.insert("reason_code".into(), Value::String(code.to_string()));
        m.insert("reason_message".into(), Value::String(message.to_owned()));
        finish("callDestroyed", Some(self.call_id), m)
    }
}

/// `connectionCreated`.
pub(crate) fn connection_created(
    project_id: &str,
    c: &ConnectionSnapshot,
    at: Timestamp,
) -> Outgoing {
    let mut m = envelope(&c.session_id, project_id, "connectionCreated", at);
    m.insert("connection".into(), connection_json(c));
    finish("connectionCreated", call_of(c), m)
}

/// `connectionDestroyed` with its `reason`.
pub(crate) fn connection_destroyed(
    project_id: &str,
    c: &ConnectionSnapshot,
    reason: EndReason,
    at: Timestamp,
) -> Outgoing {
    let mut m = envelope(&c.session_id, project_id, "connectionDestroyed", at);
    m.insert("connection".into(), connection_json(c));
    m.insert("reason".into(), Value::String(reason.as_str().to_owned()));
    finish("connectionDestroyed", call_of(c), m)
}

fn stream_json(s: &StreamSnapshot, c: &ConnectionSnapshot) -> Value {
    let mut v = json!({
        "id": s.stream_id,
        "connection": connection_json(c),
        "createdAt": s.created_at.as_millis(),
        "name": s.name,
    });
    // Absent for audio-only streams, SIP audio legs included (§6).
    if let Some(t) = &s.video_type {
        v["videoType"] = Value::String(t.clone());
    }
    v
}

/// `streamCreated`.
pub(crate) fn stream_created(
    project_id: &str,
    s: &StreamSnapshot,
    c: &ConnectionSnapshot,
    at: Timestamp,
) -> Outgoing {
    let mut m = envelope(&s.session_id, project_id, "streamCreated", at);
    m.insert("stream".into(), stream_json(s, c));
    finish("streamCreated", call_of(c), m)
}

/// `streamDestroyed` with its `reason`.
pub(crate) fn stream_destroyed(
    project_id: &str,
    s: &StreamSnapshot,
    c: &ConnectionSnapshot,
    reason: EndReason,
    at: Timestamp,
) -> Outgoing {
    let mut m = envelope(&s.session_id, project_id, "streamDestroyed", at);
    m.insert("stream".into(), stream_json(s, c));
    m.insert("reason".into(), Value::String(reason.as_str().to_owned()));
    finish("streamDestroyed", call_of(c), m)
}

fn call_of(c: &ConnectionSnapshot) -> Option<&str> {
    c.sip.as_ref().map(|leg| leg.call_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ConnectionKind, SipLeg};

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn parse(o: &Outgoing) -> Value {
        serde_json::from_slice(&o.body).unwrap()
    }

    fn sip_connection() -> ConnectionSnapshot {
        ConnectionSnapshot {
            connection_id: "conn-1".into(),
            session_id: "2_sess".into(),
            kind: ConnectionKind::Sip,
            data: Some("sip=true".into()),
            created_at: at(1_000),
            sip: Some(SipLeg {
                call_id: "call-1".into(),
                ..SipLeg::default()
            }),
            dtmf: Vec::new(),
        }
    }

    fn call() -> CallRef<'static> {
        CallRef {
            session_id: "2_sess",
            project_id: "123456",
            call_id: "call-1",
            connection_id: "conn-1",
            created_at: at(1_000),
        }
    }

    #[test]
    fn call_events_have_the_documented_shape() {
        let created = call().created(at(1_001));
        assert_eq!(created.event, "callCreated");
        assert_eq!(created.call_id.as_deref(), Some("call-1"));
        assert_eq!(
            parse(&created),
            json!({"sessionId": "2_sess", "projectId": "123456", "event": "callCreated",
                   "timestamp": 1_001, "call": {"id": "call-1", "connectionId": "conn-1", "createdAt": 1_000}})
        );
        let updated = parse(&call().updated("RINGING", at(1_500)));
        assert_eq!(updated["event"], "callUpdated");
        assert_eq!(updated["state"], "RINGING");
        assert_eq!(updated["timestamp"], 1_500);
        let destroyed = parse(&call().destroyed(486, "Busy Here", at(2_000)));
        assert_eq!(destroyed["event"], "callDestroyed");
        assert_eq!(
            destroyed["reason_code"], "486",
            "a string, like the platform's"
        );
        assert_eq!(destroyed["reason_message"], "Busy Here");
        assert_eq!(destroyed["call"]["id"], "call-1");
    }

    #[test]
    fn session_events_have_the_documented_shape() {
        let c = sip_connection();
        let s = StreamSnapshot {
            stream_id: "stream-1".into(),
            session_id: "2_sess".into(),
            connection_id: "conn-1".into(),
            video_type: None,
            name: String::new(),
            layout_class_list: Vec::new(),
            force_muted: false,
            created_at: at(1_000),
        };
        assert_eq!(
            parse(&connection_created("123456", &c, at(1_000))),
            json!({"sessionId": "2_sess", "projectId": "123456", "event": "connectionCreated",
                   "timestamp": 1_000, "connection": {"id": "conn-1", "createdAt": 1_000, "data": "sip=true"}})
        );
        let gone = parse(&connection_destroyed(
            "123456",
            &c,
            EndReason::ForceDisconnected,
            at(3_000),
        ));
        assert_eq!(gone["reason"], "forceDisconnected");
        let created = parse(&stream_created("123456", &s, &c, at(1_000)));
        assert_eq!(
            created["stream"],
            json!({"id": "stream-1", "connection": {"id": "conn-1", "createdAt": 1_000, "data": "sip=true"},
                   "createdAt": 1_000, "name": ""}),
            "no videoType for a SIP audio leg"
        );
        let destroyed = parse(&stream_destroyed(
            "123456",
            &s,
            &c,
            EndReason::ClientDisconnected,
            at(3_000),
        ));
        assert_eq!(destroyed["reason"], "clientDisconnected");
        assert_eq!(destroyed["event"], "streamDestroyed");
    }
}
