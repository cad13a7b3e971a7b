//! The request each dialer operation sends, with the platform's field names and the
//! SDKs' field order (docs/platform-api.md §2, §4, §5).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use reqwest::Method;
use serde::Serialize;
use sipdial_core::{
    ArchiveMode, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, SessionId, SessionOptions,
    StreamId,
};

use super::request::{Body, Operation, Planned, Scrub, json, project_path};

/// `POST /session/create`, form body in Node's field order, always routed.
pub(crate) fn create_session(options: &SessionOptions) -> Planned<'static> {
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
        scrub: Scrub::default(),
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
/// platform treats blanks differently from absent fields, docs/platform-api.md §4).
pub(crate) fn dial<'a>(project: &str, request: &'a DialRequest) -> Result<Planned<'a>, DialError> {
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
    let mut scrub = vec![request.token.expose_secret()];
    if let Some(auth) = &request.auth {
        scrub.push(auth.expose_password());
    }
    Ok(Planned {
        op: Operation::Dial,
        method: Method::POST,
        path: dial_path(project),
        body: json(&body)?,
        not_found: "session",
        scrub: Scrub(scrub),
    })
}

/// The path every dial of `project` posts to.
pub(crate) fn dial_path(project: &str) -> String {
    project_path(project, "/dial")
}

/// `DELETE …/session/{sid}/connection/{cid}`: force-disconnects the SIP leg.
pub(crate) fn hang_up(
    project: &str,
    session: &SessionId,
    connection: &ConnectionId,
) -> Planned<'static> {
    Planned {
        op: Operation::HangUp,
        method: Method::DELETE,
        path: project_path(
            project,
            &format!("/session/{session}/connection/{connection}"),
        ),
        body: Body::Empty,
        not_found: "connection",
        scrub: Scrub::default(),
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
) -> Result<Planned<'static>, DialError> {
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
        scrub: Scrub::default(),
    })
}

/// `POST …/session/{sid}/stream/{id}/mute` with `{}`, as opentok-node sends it.
pub(crate) fn force_mute(
    project: &str,
    session: &SessionId,
    stream: &StreamId,
) -> Planned<'static> {
    Planned {
        op: Operation::ForceMute,
        method: Method::POST,
        path: project_path(project, &format!("/session/{session}/stream/{stream}/mute")),
        body: Body::Json(b"{}".to_vec()),
        not_found: "stream",
        scrub: Scrub::default(),
    }
}

/// `GET …/session/{sid}/stream`.
pub(crate) fn list_streams(project: &str, session: &SessionId) -> Planned<'static> {
    Planned {
        op: Operation::ListStreams,
        method: Method::GET,
        path: project_path(project, &format!("/session/{session}/stream")),
        body: Body::Empty,
        not_found: "session",
        scrub: Scrub::default(),
    }
}

/// List Connections: `GET …/session/{sid}/connection` (docs/platform-api.md,
/// "List Connections").
pub(crate) fn list_connections(project: &str, session: &SessionId) -> Planned<'static> {
    Planned {
        op: Operation::ListConnections,
        method: Method::GET,
        path: project_path(project, &format!("/session/{session}/connection")),
        body: Body::Empty,
        not_found: "session",
        scrub: Scrub::default(),
    }
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

    fn body_str(p: &Planned<'_>) -> String {
        match &p.body {
            Body::Empty => String::new(),
            Body::Json(b) => String::from_utf8(b.clone()).unwrap(),
            Body::Form(f) => f.clone(),
        }
    }

    /// docs/platform-api.md §9.9 and Node's test bodies.
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

    /// docs/platform-api.md §9.6: only the set fields are sent.
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
        let scrub: Vec<&str> = p.scrub.0.clone();
        assert_eq!(scrub, ["tok-secret", "pw-secret"]);
    }

    /// docs/platform-api.md §9.7 and §9.8.
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
    fn location_must_be_usable() {
        assert!(check_location(Some(Ipv4Addr::UNSPECIFIED)).is_err());
        assert!(check_location(Some(Ipv4Addr::new(12, 34, 56, 78))).is_ok());
        assert!(check_location(None).is_ok());
    }
}
