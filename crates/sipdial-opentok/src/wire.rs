//! What goes over the wire: each operation as a planned request (method, path, body)
//! and each answer parsed into core types (opentok-api.md §2, §4, §5).
//!
//! Planning is pure, so the exact bodies the platform receives are testable without a
//! server, and the transport never needs to know what an operation means.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sipdial_core::{
    ArchiveMode, CallId, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, SessionId,
    SessionOptions, SipCall, StreamId, StreamInfo, Timestamp,
};

/// An operation's name, as it appears in tracing spans and error context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    CreateSession,
    Dial,
    HangUp,
    PlayDtmf,
    ForceMute,
    ListStreams,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::CreateSession => "create_session",
            Operation::Dial => "dial",
            Operation::HangUp => "hang_up",
            Operation::PlayDtmf => "play_dtmf",
            Operation::ForceMute => "force_mute",
            Operation::ListStreams => "list_streams",
        }
    }

    /// Whether sending the request twice has the effect of sending it once, so a lost
    /// answer may be retried: hanging up, force-muting and listing. Never a dial (a
    /// second call), a session (a second session) or DTMF (digits played twice).
    pub(crate) fn is_idempotent(self) -> bool {
        match self {
            Operation::HangUp | Operation::ForceMute | Operation::ListStreams => true,
            Operation::CreateSession | Operation::Dial | Operation::PlayDtmf => false,
        }
    }
}

/// A request body. `Debug` shows only its kind and size: a dial body carries the
/// client token and the SIP password.
pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    Form(String),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(b) => write!(f, "Json({} bytes)", b.len()),
            Body::Form(b) => write!(f, "Form({} bytes)", b.len()),
        }
    }
}

/// One REST call, before authentication and transport.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) op: Operation,
    pub(crate) method: Method,
    /// Path below the base URL, starting with `/`; ids are validated newtypes and
    /// need no escaping.
    pub(crate) path: String,
    pub(crate) body: Body,
    /// What a 404 means for this operation (`session`, `connection`, ...).
    pub(crate) not_found: &'static str,
    /// Values a platform error message must not echo back into logs (the dial's
    /// token and SIP password).
    pub(crate) scrub: Vec<SecretString>,
}

fn json(value: &impl Serialize) -> Result<Body, DialError> {
    serde_json::to_vec(value)
        .map(Body::Json)
        .map_err(|e| DialError::Config {
            message: format!("could not encode a request body: {e}"),
        })
}

fn project_path(project: &str, rest: &str) -> String {
    format!("/v2/project/{project}{rest}")
}

/// `POST /session/create`, form body in Node's field order, always routed.
pub(crate) fn create_session(options: &SessionOptions) -> Planned {
    let mut fields: Vec<(&str, String)> = Vec::new();
    if let Some(location) = options.location {
        fields.push(("location", location.to_string()));
    }
    fields.push((
        "archiveMode",
        match options.archive_mode {
            ArchiveMode::Always => "always",
            _ => "manual",
        }
        .to_owned(),
    ));
    fields.push(("p2p.preference", "disabled".to_owned()));
    if options.e2ee {
        fields.push(("e2ee", "true".to_owned()));
    }
    // The values are fixed words, digits and dots; nothing can fail to encode.
    let form = serde_urlencoded::to_string(&fields).unwrap_or_default();
    Planned {
        op: Operation::CreateSession,
        method: Method::POST,
        path: "/session/create".to_owned(),
        body: Body::Form(form),
        not_found: "project",
        scrub: Vec::new(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DialBody<'a> {
    session_id: &'a str,
    token: &'a str,
    sip: SipBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SipBody<'a> {
    uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<AuthBody<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    secure: bool,
    #[serde(skip_serializing_if = "is_false")]
    video: bool,
    #[serde(skip_serializing_if = "is_false")]
    observe_force_mute: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    streams: Vec<&'a str>,
}

#[derive(Serialize)]
struct AuthBody<'a> {
    username: &'a str,
    password: &'a str,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `POST /v2/project/{key}/dial`, JSON body with every unset option omitted (the
/// platform treats blanks differently from absent fields, opentok-api.md §4).
pub(crate) fn dial(project: &str, request: &DialRequest) -> Result<Planned, DialError> {
    let body = DialBody {
        session_id: request.session_id.as_str(),
        token: request.token.expose_secret(),
        sip: SipBody {
            uri: request.uri.as_str(),
            from: request.from.as_ref().map(|f| f.as_str()),
            headers: request.headers.iter().collect(),
            auth: request.auth.as_ref().map(|a| AuthBody {
                username: &a.username,
                password: a.expose_password(),
            }),
            secure: request.secure,
            video: request.video,
            observe_force_mute: request.observe_force_mute,
            streams: request.streams.iter().map(|s| s.as_str()).collect(),
        },
    };
    let mut scrub = vec![SecretString::from(request.token.expose_secret())];
    if let Some(auth) = &request.auth {
        scrub.push(auth.password().clone());
    }
    Ok(Planned {
        op: Operation::Dial,
        method: Method::POST,
        path: project_path(project, "/dial"),
        body: json(&body)?,
        not_found: "session",
        scrub,
    })
}

/// `DELETE …/session/{sid}/connection/{cid}`: force-disconnects the SIP leg.
pub(crate) fn hang_up(project: &str, session: &SessionId, connection: &ConnectionId) -> Planned {
    Planned {
        op: Operation::HangUp,
        method: Method::DELETE,
        path: project_path(
            project,
            &format!("/session/{session}/connection/{connection}"),
        ),
        body: Body::Empty,
        not_found: "connection",
        scrub: Vec::new(),
    }
}

#[derive(Serialize)]
struct DtmfBody<'a> {
    digits: &'a str,
}

/// `POST …/session/{sid}[/connection/{cid}]/play-dtmf` with `{"digits":…}`.
pub(crate) fn play_dtmf(
    project: &str,
    target: &DtmfTarget,
    digits: &Dtmf,
) -> Result<Planned, DialError> {
    let (rest, not_found) = match target {
        DtmfTarget::Session(s) => (format!("/session/{s}/play-dtmf"), "session"),
        DtmfTarget::Connection(s, c) => (
            format!("/session/{s}/connection/{c}/play-dtmf"),
            "connection",
        ),
    };
    Ok(Planned {
        op: Operation::PlayDtmf,
        method: Method::POST,
        path: project_path(project, &rest),
        body: json(&DtmfBody {
            digits: digits.as_str(),
        })?,
        not_found,
        scrub: Vec::new(),
    })
}

/// `POST …/session/{sid}/stream/{id}/mute` with `{}`, as opentok-node sends it.
pub(crate) fn force_mute(project: &str, session: &SessionId, stream: &StreamId) -> Planned {
    Planned {
        op: Operation::ForceMute,
        method: Method::POST,
        path: project_path(project, &format!("/session/{session}/stream/{stream}/mute")),
        body: Body::Json(b"{}".to_vec()),
        not_found: "stream",
        scrub: Vec::new(),
    }
}

/// `GET …/session/{sid}/stream`.
pub(crate) fn list_streams(project: &str, session: &SessionId) -> Planned {
    Planned {
        op: Operation::ListStreams,
        method: Method::GET,
        path: project_path(project, &format!("/session/{session}/stream")),
        body: Body::Empty,
        not_found: "session",
        scrub: Vec::new(),
    }
}

/// A 2xx whose body is not what the platform documents.
pub(crate) fn bad_answer(status: u16, what: &str) -> DialError {
    DialError::Upstream {
        status,
        code: None,
        message: Some(format!("unexpected answer from the platform: {what}")),
    }
}

#[derive(Deserialize)]
struct CreatedSession {
    session_id: String,
}

/// Reads `[0].session_id` of the create-session answer.
pub(crate) fn parse_session(status: u16, body: &[u8]) -> Result<SessionId, DialError> {
    let sessions: Vec<CreatedSession> = serde_json::from_slice(body)
        .map_err(|_| bad_answer(status, "not a JSON array of sessions"))?;
    let first = sessions
        .into_iter()
        .next()
        .ok_or_else(|| bad_answer(status, "an empty list of sessions"))?;
    SessionId::new(first.session_id).map_err(|_| bad_answer(status, "an invalid session id"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DialAnswer {
    id: String,
    connection_id: String,
    stream_id: String,
    #[serde(default)]
    created_at: Option<u64>,
}

/// Reads `{id, connectionId, streamId[, createdAt]}` of a dial answer.
///
/// When this fails the platform has most likely placed the call anyway, which the
/// message says so that nobody retries blindly.
pub(crate) fn parse_call(
    status: u16,
    body: &[u8],
    session: &SessionId,
) -> Result<SipCall, DialError> {
    let bad = |what: &str| {
        bad_answer(
            status,
            &format!("{what} (the call may have been placed; check the SIP callbacks)"),
        )
    };
    let answer: DialAnswer = serde_json::from_slice(body)
        .map_err(|_| bad("a dial answer without id, connectionId and streamId"))?;
    Ok(SipCall {
        id: CallId::new(answer.id).map_err(|_| bad("an invalid call id"))?,
        connection_id: ConnectionId::new(answer.connection_id)
            .map_err(|_| bad("an invalid connection id"))?,
        stream_id: StreamId::new(answer.stream_id).map_err(|_| bad("an invalid stream id"))?,
        session_id: session.clone(),
        created_at: answer
            .created_at
            .map_or_else(Timestamp::now, Timestamp::from_millis),
    })
}

#[derive(Deserialize)]
struct StreamList {
    items: Vec<StreamItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamItem {
    id: String,
    #[serde(default)]
    video_type: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    layout_class_list: Vec<String>,
}

/// Reads `{"count":n,"items":[…]}` of a stream list; a 404 that got this far is a
/// session without streams yet.
pub(crate) fn parse_streams(status: u16, body: &[u8]) -> Result<Vec<StreamInfo>, DialError> {
    if status == 404 {
        return Ok(Vec::new());
    }
    let list: StreamList =
        serde_json::from_slice(body).map_err(|_| bad_answer(status, "not a stream list"))?;
    list.items
        .into_iter()
        .map(|item| {
            Ok(StreamInfo {
                id: StreamId::new(item.id)
                    .map_err(|_| bad_answer(status, "an invalid stream id"))?,
                video_type: item.video_type.filter(|v| !v.is_empty()),
                name: item.name.filter(|n| !n.is_empty()),
                layout_class_list: item.layout_class_list,
            })
        })
        .collect()
}

/// A location hint must be a routable-looking IPv4 address; the SDKs validate the same.
pub(crate) fn check_location(location: Option<Ipv4Addr>) -> Result<(), DialError> {
    match location {
        Some(ip) if ip.is_unspecified() || ip.is_broadcast() => Err(DialError::invalid(
            "location",
            "must be an IPv4 address near the participants",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipdial_core::{ClientToken, SipAuth, SipFrom, SipHeaders, SipUri};

    const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";

    fn sid() -> SessionId {
        SessionId::new(SID).unwrap()
    }

    fn body_str(p: &Planned) -> String {
        match &p.body {
            Body::Empty => String::new(),
            Body::Json(b) => String::from_utf8(b.clone()).unwrap(),
            Body::Form(f) => f.clone(),
        }
    }

    /// opentok-api.md §9.9 and Node's test bodies.
    #[test]
    fn create_session_form_bodies() {
        let p = create_session(&SessionOptions::default());
        assert_eq!(p.method, Method::POST);
        assert_eq!(p.path, "/session/create");
        assert_eq!(body_str(&p), "archiveMode=manual&p2p.preference=disabled");

        let p = create_session(&SessionOptions {
            location: Some(Ipv4Addr::new(12, 34, 56, 78)),
            archive_mode: ArchiveMode::Always,
            e2ee: true,
        });
        assert_eq!(
            body_str(&p),
            "location=12.34.56.78&archiveMode=always&p2p.preference=disabled&e2ee=true"
        );
    }

    /// opentok-api.md §9.6: only the set fields are sent.
    #[test]
    fn dial_body_minimal() {
        let mut r = DialRequest::new(
            sid(),
            ClientToken::new("T", 1),
            SipUri::new("sip:siptesturl@tokbox.com").unwrap(),
        );
        r.streams = vec![StreamId::new("stream-id-1").unwrap()];
        let p = dial("123456", &r).unwrap();
        assert_eq!(p.path, "/v2/project/123456/dial");
        assert_eq!(
            body_str(&p),
            format!(
                r#"{{"sessionId":"{SID}","token":"T","sip":{{"uri":"sip:siptesturl@tokbox.com","streams":["stream-id-1"]}}}}"#
            )
        );
        assert_eq!(p.not_found, "session");
    }

    #[test]
    fn dial_body_full_and_debug_redacted() {
        let mut headers = SipHeaders::new();
        headers.insert("X-Foo", "bar").unwrap();
        let mut r = DialRequest::new(
            sid(),
            ClientToken::new("tok-secret", 1),
            SipUri::new("sip:user@sip.partner.com;transport=tls").unwrap(),
        );
        r.from = Some(SipFrom::new("14155550101@example.com").unwrap());
        r.headers = headers;
        r.auth = Some(SipAuth::new("u", "pw-secret"));
        r.secure = true;
        r.video = true;
        r.observe_force_mute = true;
        let p = dial("123456", &r).unwrap();
        let v: serde_json::Value = serde_json::from_str(&body_str(&p)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"sessionId": SID, "token": "tok-secret", "sip": {
                "uri": "sip:user@sip.partner.com;transport=tls",
                "from": "14155550101@example.com",
                "headers": {"X-Foo": "bar"},
                "auth": {"username": "u", "password": "pw-secret"},
                "secure": true, "video": true, "observeForceMute": true}})
        );
        let dbg = format!("{p:?}");
        assert!(
            !dbg.contains("tok-secret") && !dbg.contains("pw-secret"),
            "{dbg}"
        );
        let scrub: Vec<&str> = p
            .scrub
            .iter()
            .map(secrecy::ExposeSecret::expose_secret)
            .collect();
        assert_eq!(scrub, ["tok-secret", "pw-secret"]);
    }

    /// opentok-api.md §9.7 and §9.8.
    #[test]
    fn dtmf_hangup_mute_streams_paths() {
        let c = ConnectionId::new("CONNECTIONID").unwrap();
        let p = play_dtmf(
            "123456",
            &DtmfTarget::Connection(sid(), c.clone()),
            &Dtmf::new("6").unwrap(),
        )
        .unwrap();
        assert_eq!(
            p.path,
            format!("/v2/project/123456/session/{SID}/connection/CONNECTIONID/play-dtmf")
        );
        assert_eq!(body_str(&p), r#"{"digits":"6"}"#);
        let p = play_dtmf(
            "k",
            &DtmfTarget::Session(sid()),
            &Dtmf::new("1#p*").unwrap(),
        )
        .unwrap();
        assert_eq!(p.path, format!("/v2/project/k/session/{SID}/play-dtmf"));
        assert_eq!(p.not_found, "session");

        let p = hang_up("APIKEY", &sid(), &c);
        assert_eq!(p.method, Method::DELETE);
        assert_eq!(
            p.path,
            format!("/v2/project/APIKEY/session/{SID}/connection/CONNECTIONID")
        );
        assert!(matches!(p.body, Body::Empty));

        let p = force_mute("k", &sid(), &StreamId::new("s1").unwrap());
        assert_eq!(
            p.path,
            format!("/v2/project/k/session/{SID}/stream/s1/mute")
        );
        assert_eq!(body_str(&p), "{}");

        let p = list_streams("k", &sid());
        assert_eq!(p.method, Method::GET);
        assert_eq!(p.path, format!("/v2/project/k/session/{SID}/stream"));
    }

    #[test]
    fn parses_answers() {
        let body = br#"[{"session_id":"1_abc","project_id":"123456","partner_id":"123456","create_dt":"Fri Nov 18 15:50:36 PST 2016","media_server_url":""}]"#;
        assert_eq!(parse_session(200, body).unwrap().as_str(), "1_abc");
        assert!(matches!(
            parse_session(200, b"<sessions/>"),
            Err(DialError::Upstream { status: 200, .. })
        ));
        assert!(parse_session(200, b"[]").is_err());
        assert!(parse_session(200, br#"[{"session_id":"a/b"}]"#).is_err());

        let call = parse_call(
            200,
            br#"{"id":"CONFERENCEID","connectionId":"CONNECTIONID","streamId":"STREAMID","createdAt":1700000000123}"#,
            &sid(),
        )
        .unwrap();
        assert_eq!(call.id.as_str(), "CONFERENCEID");
        assert_eq!(call.connection_id.as_str(), "CONNECTIONID");
        assert_eq!(call.stream_id.as_str(), "STREAMID");
        assert_eq!(call.created_at.as_millis(), 1_700_000_000_123);
        assert_eq!(call.session_id, sid());
        let e = parse_call(200, br#"{"id":"x"}"#, &sid()).unwrap_err();
        assert!(e.to_string().contains("may have been placed"), "{e}");

        let streams = parse_streams(
            200,
            br#"{"count":2,"items":[{"id":"s1","videoType":"camera","name":"Alice","layoutClassList":["full"]},{"id":"s2"}]}"#,
        )
        .unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].video_type.as_deref(), Some("camera"));
        assert_eq!(streams[0].layout_class_list, vec!["full".to_owned()]);
        assert_eq!(streams[1].video_type, None);
        assert!(parse_streams(200, b"{}").is_err());
    }

    #[test]
    fn location_must_be_usable() {
        assert!(check_location(Some(Ipv4Addr::UNSPECIFIED)).is_err());
        assert!(check_location(Some(Ipv4Addr::new(12, 34, 56, 78))).is_ok());
        assert!(check_location(None).is_ok());
    }
}
