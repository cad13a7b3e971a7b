//! The REST routes the fake serves and what each does to the state (opentok-api.md
//! §2, §4, §5). Every refusal is the platform's `{code, message}`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value, json};
use sipdial_core::session_format::{self, SessionIdParts};
use sipdial_core::{Dtmf, SessionId, SipFrom, SipHeaders, SipUri, StreamId, Timestamp};

use crate::auth::Verified;
use crate::body::{self, Body};
use crate::client_token::verify_client_token;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::state::{
    ConnectionKind, ConnectionSnapshot, MediaMode, Session, SessionSnapshot, SipLeg, Store,
    StreamSnapshot,
};

/// A request matched to one of the platform's routes. `key` is the `{apiKey}` path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    CreateSession,
    Dial {
        key: String,
    },
    HangUp {
        key: String,
        session: String,
        connection: String,
    },
    DtmfSession {
        key: String,
        session: String,
    },
    DtmfConnection {
        key: String,
        session: String,
        connection: String,
    },
    MuteStream {
        key: String,
        session: String,
        stream: String,
    },
    MuteAll {
        key: String,
        session: String,
    },
    ListStreams {
        key: String,
        session: String,
    },
    GetStream {
        key: String,
        session: String,
        stream: String,
    },
}

impl Route {
    /// Matches `method` and `path`: 404 for an unknown path, 405 for a known path with
    /// the wrong method.
    pub(crate) fn parse(method: &Method, path: &str) -> Result<Self, ApiError> {
        let segs: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return Err(ApiError::not_found("Resource not found"));
        }
        let s = |x: &str| x.to_owned();
        let (route, allowed) = match segs.as_slice() {
            ["session", "create"] => (Route::CreateSession, Method::POST),
            // PHP posts to `/call`; the cloud evidently answers it like `/dial`.
            ["v2", "project", k, "dial" | "call"] => (Route::Dial { key: s(k) }, Method::POST),
            ["v2", "project", k, "session", sid, "connection", cid] => (
                Route::HangUp {
                    key: s(k),
                    session: s(sid),
                    connection: s(cid),
                },
                Method::DELETE,
            ),
            ["v2", "project", k, "session", sid, "play-dtmf"] => (
                Route::DtmfSession {
                    key: s(k),
                    session: s(sid),
                },
                Method::POST,
            ),
            [
                "v2",
                "project",
                k,
                "session",
                sid,
                "connection",
                cid,
                "play-dtmf",
            ] => (
                Route::DtmfConnection {
                    key: s(k),
                    session: s(sid),
                    connection: s(cid),
                },
                Method::POST,
            ),
            ["v2", "project", k, "session", sid, "stream", st, "mute"] => (
                Route::MuteStream {
                    key: s(k),
                    session: s(sid),
                    stream: s(st),
                },
                Method::POST,
            ),
            ["v2", "project", k, "session", sid, "mute"] => (
                Route::MuteAll {
                    key: s(k),
                    session: s(sid),
                },
                Method::POST,
            ),
            ["v2", "project", k, "session", sid, "stream"] => (
                Route::ListStreams {
                    key: s(k),
                    session: s(sid),
                },
                Method::GET,
            ),
            ["v2", "project", k, "session", sid, "stream", st] => (
                Route::GetStream {
                    key: s(k),
                    session: s(sid),
                    stream: s(st),
                },
                Method::GET,
            ),
            _ => return Err(ApiError::not_found("Resource not found")),
        };
        if *method != allowed {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
            ));
        }
        Ok(route)
    }

    /// The `{apiKey}` of the path, when it has one.
    pub(crate) fn key(&self) -> Option<&str> {
        match self {
            Route::CreateSession => None,
            Route::Dial { key }
            | Route::HangUp { key, .. }
            | Route::DtmfSession { key, .. }
            | Route::DtmfConnection { key, .. }
            | Route::MuteStream { key, .. }
            | Route::MuteAll { key, .. }
            | Route::ListStreams { key, .. }
            | Route::GetStream { key, .. } => Some(key),
        }
    }
}

/// Everything a handler needs about one request.
pub(crate) struct Ctx<'a> {
    pub(crate) creds: &'a Credentials,
    pub(crate) store: &'a std::sync::Mutex<Store>,
    pub(crate) lifecycle: &'a crate::callbacks::Lifecycle,
    pub(crate) sip: Option<&'a dyn crate::sip_legs::SipLegs>,
    pub(crate) verified: &'a Verified,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    pub(crate) now_secs: i64,
}

impl Ctx<'_> {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The body as a JSON object; an empty body counts as `{}` only when `empty_ok`.
    fn json_object(&self, empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return if empty_ok {
                Ok(Map::new())
            } else {
                Err(ApiError::bad_request("A JSON body is required"))
            };
        }
        if self.content_type() != "application/json" {
            return Err(ApiError::bad_request(
                "Content-Type must be application/json",
            ));
        }
        match serde_json::from_slice(self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request("The body must be a JSON object")),
            Err(_) => Err(ApiError::bad_request("The body is not valid JSON")),
        }
    }
}

pub(crate) fn handle(route: Route, ctx: &Ctx<'_>) -> Result<http::Response<Body>, ApiError> {
    match route {
        Route::CreateSession => create_session(ctx),
        Route::Dial { key } => dial(ctx, &key),
        Route::HangUp {
            session,
            connection,
            ..
        } => hang_up(ctx, &session, &connection),
        Route::DtmfSession { session, .. } => play_dtmf(ctx, &session, None),
        Route::DtmfConnection {
            session,
            connection,
            ..
        } => play_dtmf(ctx, &session, Some(&connection)),
        Route::MuteStream {
            key,
            session,
            stream,
        } => mute_stream(ctx, &key, &session, &stream),
        Route::MuteAll { key, session } => mute_all(ctx, &key, &session),
        Route::ListStreams { session, .. } => list_streams(ctx, &session),
        Route::GetStream {
            session, stream, ..
        } => get_stream(ctx, &session, &stream),
    }
}

fn session_not_found() -> ApiError {
    ApiError::not_found("Session not found")
}

fn create_session(ctx: &Ctx<'_>) -> Result<http::Response<Body>, ApiError> {
    if !ctx.body.is_empty() && ctx.content_type() != "application/x-www-form-urlencoded" {
        return Err(ApiError::bad_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(ctx.body)
        .map_err(|_| ApiError::bad_request("The body is not a valid form"))?;
    let mut form = BTreeMap::new();
    for (k, v) in pairs {
        if form.insert(k, v).is_some() {
            return Err(ApiError::bad_request("A form field is repeated"));
        }
    }
    // Absent means relayed: the official SDKs always send it, so only a client that
    // forgot it gets here, and a 409 at dial time is the fastest way to notice.
    let media_mode = match form.get("p2p.preference").map(String::as_str) {
        Some("disabled") => MediaMode::Routed,
        Some("enabled") | None => MediaMode::Relayed,
        Some(_) => {
            return Err(ApiError::bad_request(
                "p2p.preference must be \"enabled\" or \"disabled\"",
            ));
        }
    };
    let archive_mode = form.get("archiveMode").map_or("manual", String::as_str);
    if !matches!(archive_mode, "manual" | "always") {
        return Err(ApiError::bad_request(
            "archiveMode must be \"manual\" or \"always\"",
        ));
    }
    let routed = media_mode == MediaMode::Routed;
    if archive_mode == "always" && !routed {
        return Err(ApiError::bad_request(
            "archiveMode \"always\" requires a routed session (p2p.preference=disabled)",
        ));
    }
    if archive_mode != "always"
        && (form.contains_key("archiveName") || form.contains_key("archiveResolution"))
    {
        return Err(ApiError::bad_request(
            "archiveName and archiveResolution are only allowed with archiveMode \"always\"",
        ));
    }
    if let Some(name) = form.get("archiveName")
        && !(1..=80).contains(&name.chars().count())
    {
        return Err(ApiError::bad_request(
            "archiveName must be 1 to 80 characters",
        ));
    }
    if let Some(res) = form.get("archiveResolution")
        && !matches!(
            res.as_str(),
            "640x480" | "480x640" | "1280x720" | "720x1280" | "1920x1080" | "1080x1920"
        )
    {
        return Err(ApiError::bad_request(
            "archiveResolution is not a supported resolution",
        ));
    }
    let location = match form.get("location") {
        Some(l) => Some(
            l.parse::<Ipv4Addr>()
                .map_err(|_| ApiError::bad_request("location must be an IPv4 address"))?
                .to_string(),
        ),
        None => None,
    };
    let e2ee = match form.get("e2ee").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad_request("e2ee must be \"true\" or \"false\"")),
    };
    if e2ee && (!routed || archive_mode == "always") {
        return Err(ApiError::bad_request(
            "e2ee requires a routed session without automatic archiving",
        ));
    }
    let key = ctx.verified.key.clone();
    let date = crate::clock::platform_date(ctx.now_secs);
    let session_id = session_format::encode(&SessionIdParts {
        api_key: key.clone(),
        location: location.clone().unwrap_or_default(),
        create_time: date.clone(),
        random: uuid::Uuid::new_v4().simple().to_string(),
    })
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Could not create a session",
        )
    })?;
    let info = SessionSnapshot {
        session_id: session_id.as_str().to_owned(),
        project_key: key.clone(),
        media_mode,
        archive_mode: archive_mode.to_owned(),
        location,
        e2ee,
        created_at: Timestamp::now(),
        dtmf: Vec::new(),
        mute_all_active: false,
    };
    ctx.store().sessions.push(Session {
        info,
        connections: Vec::new(),
        streams: Vec::new(),
        ever_had_stream: false,
    });
    let mut entry = json!({
        "session_id": session_id.as_str(),
        "project_id": key,
        "partner_id": key,
        "create_dt": date,
        "media_server_url": "",
    });
    if ctx.verified.kind == crate::AuthKind::Application {
        entry["application_id"] = Value::String(key);
    }
    Ok(body::json_response(
        StatusCode::OK,
        &Value::Array(vec![entry]),
    ))
}

fn opt_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn req_str<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<&'a str, ApiError> {
    match opt_field(obj, name) {
        None => Err(ApiError::bad_request(format!("{what} is required"))),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ApiError::bad_request(format!(
            "{what} must be a non-empty string"
        ))),
    }
}

fn opt_bool(obj: &Map<String, Value>, name: &str, what: &'static str) -> Result<bool, ApiError> {
    match opt_field(obj, name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::bad_request(format!("{what} must be a boolean"))),
    }
}

/// The parsed `sip` object of a dial body.
struct DialSip {
    leg: SipLeg,
    /// `sip.auth.password`: handed to the SIP gateway emulation, never stored.
    password: Option<String>,
}

fn parse_sip(sip: &Map<String, Value>) -> Result<DialSip, ApiError> {
    let uri = req_str(sip, "uri", "sip.uri")?;
    let uri = SipUri::new(uri).map_err(|e| ApiError::bad_request(format!("sip.uri: {e}")))?;
    let from = match opt_field(sip, "from") {
        None => None,
        Some(Value::String(s)) => Some(
            SipFrom::new(s.as_str())
                .map_err(|e| ApiError::bad_request(format!("sip.from: {e}")))?
                .into_inner(),
        ),
        Some(_) => return Err(ApiError::bad_request("sip.from must be a string")),
    };
    let headers = match opt_field(sip, "headers") {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => {
            let mut plain = BTreeMap::new();
            for (k, v) in map {
                let Value::String(v) = v else {
                    return Err(ApiError::bad_request("sip.headers values must be strings"));
                };
                plain.insert(k.clone(), v.clone());
            }
            SipHeaders::try_from(plain)
                .map_err(|e| ApiError::bad_request(format!("sip.headers: {e}")))?
                .into()
        }
        Some(_) => return Err(ApiError::bad_request("sip.headers must be an object")),
    };
    let mut password = None;
    let auth_username = match opt_field(sip, "auth") {
        None => None,
        Some(Value::Object(auth)) => {
            let user = req_str(auth, "username", "sip.auth.username")?;
            match opt_field(auth, "password") {
                Some(Value::String(p)) => password = Some(p.clone()),
                _ => return Err(ApiError::bad_request("sip.auth.password must be a string")),
            }
            Some(user.to_owned())
        }
        Some(_) => return Err(ApiError::bad_request("sip.auth must be an object")),
    };
    let streams = match opt_field(sip, "streams") {
        None => None,
        Some(Value::Array(items)) => {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                let id = item
                    .as_str()
                    .and_then(|s| StreamId::new(s).ok())
                    .ok_or_else(|| ApiError::bad_request("sip.streams must hold stream ids"))?;
                ids.push(id.into_inner());
            }
            Some(ids)
        }
        Some(_) => return Err(ApiError::bad_request("sip.streams must be an array")),
    };
    Ok(DialSip {
        leg: SipLeg {
            call_id: String::new(),
            uri: uri.into_inner(),
            from,
            headers,
            auth_username,
            secure: opt_bool(sip, "secure", "sip.secure")?,
            video: opt_bool(sip, "video", "sip.video")?,
            observe_force_mute: opt_bool(sip, "observeForceMute", "sip.observeForceMute")?,
            streams,
            token_format: None,
            token_role: String::new(),
            state: crate::SipCallState::Dialing,
        },
        password,
    })
}

fn dial(ctx: &Ctx<'_>, key: &str) -> Result<http::Response<Body>, ApiError> {
    let body = ctx.json_object(false)?;
    let session_id = req_str(&body, "sessionId", "sessionId")?;
    if SessionId::new(session_id).is_err() {
        return Err(ApiError::bad_request("sessionId is not a valid session id"));
    }
    let token = req_str(&body, "token", "token")?;
    let sip = match opt_field(&body, "sip") {
        Some(Value::Object(sip)) => sip,
        None => return Err(ApiError::bad_request("sip is required")),
        Some(_) => return Err(ApiError::bad_request("sip must be an object")),
    };
    let DialSip { mut leg, password } = parse_sip(sip)?;
    let mut store = ctx.store();
    let session = store
        .session_mut(session_id)
        .ok_or_else(session_not_found)?;
    let token = verify_client_token(token, session_id, ctx.creds, ctx.now_secs)?;
    if session.info.media_mode != MediaMode::Routed {
        return Err(ApiError::conflict(
            "SIP requires a routed session (create it with p2p.preference=disabled)",
        ));
    }
    let now = Timestamp::now();
    let call_id = uuid::Uuid::new_v4().to_string();
    let connection_id = uuid::Uuid::new_v4().to_string();
    let stream_id = uuid::Uuid::new_v4().to_string();
    leg.call_id.clone_from(&call_id);
    leg.token_format = Some(token.format);
    leg.token_role = token.role;
    let stream = StreamSnapshot {
        stream_id: stream_id.clone(),
        session_id: session_id.to_owned(),
        connection_id: connection_id.clone(),
        video_type: leg.video.then(|| "camera".to_owned()),
        name: String::new(),
        layout_class_list: Vec::new(),
        force_muted: false,
        created_at: now,
    };
    // The connection and its stream are there at once, SIP on or not: the dial's answer
    // names both, and clients act on them before the far end answers
    // (docs/platform-api.md §4).
    let sip_dial = ctx.sip.map(|_| crate::sip_legs::Dial {
        call_id: call_id.clone(),
        uri: leg.uri.clone(),
        from: leg.from.clone(),
        headers: leg.headers.clone(),
        auth: leg.auth_username.clone().zip(password),
    });
    session.add_connection(
        ConnectionSnapshot {
            connection_id: connection_id.clone(),
            session_id: session_id.to_owned(),
            kind: ConnectionKind::Sip,
            data: token.connection_data,
            created_at: now,
            sip: Some(leg),
            dtmf: Vec::new(),
        },
        Some(stream),
    );
    ctx.lifecycle
        .connection_added(session, &connection_id, sip_dial.is_none());
    drop(store);
    if let (Some(sip), Some(dial)) = (ctx.sip, sip_dial) {
        sip.place(dial);
    }
    let ms = now.as_millis();
    Ok(body::json_response(
        StatusCode::OK,
        &json!({
            "id": call_id,
            "connectionId": connection_id,
            "streamId": stream_id,
            "projectId": key,
            "sessionId": session_id,
            "createdAt": ms,
            "updatedAt": ms,
        }),
    ))
}

fn hang_up(
    ctx: &Ctx<'_>,
    session: &str,
    connection: &str,
) -> Result<http::Response<Body>, ApiError> {
    use crate::callbacks::{EndReason, Missing};
    let call_id = ctx.store().session(session).and_then(|s| {
        s.connections
            .iter()
            .find(|c| c.connection_id == connection)
            .and_then(|c| c.sip.as_ref().map(|leg| leg.call_id.clone()))
    });
    match ctx
        .lifecycle
        .remove_connection(session, connection, EndReason::ForceDisconnected, None)
    {
        Ok(()) => {
            if let (Some(sip), Some(call_id)) = (ctx.sip, call_id) {
                sip.hang_up(&call_id);
            }
            Ok(body::empty_response(StatusCode::NO_CONTENT))
        }
        Err(Missing::Session) => Err(session_not_found()),
        Err(Missing::Connection) => Err(ApiError::not_found(
            "Connection not found: the client is not connected",
        )),
    }
}

fn play_dtmf(
    ctx: &Ctx<'_>,
    session: &str,
    connection: Option<&str>,
) -> Result<http::Response<Body>, ApiError> {
    let invalid = || ApiError::bad_request("Invalid DTMF Digits");
    let body = ctx.json_object(false).map_err(|_| invalid())?;
    let digits = body
        .get("digits")
        .and_then(Value::as_str)
        .and_then(|d| Dtmf::new(d).ok())
        .ok_or_else(invalid)?;
    let mut store = ctx.store();
    let session = store.session_mut(session).ok_or_else(session_not_found)?;
    let digits = digits.into_inner();
    // The SIP legs that hear the digits: one connection's, or every leg of the session.
    let calls: Vec<String> = match connection {
        None => {
            session.info.dtmf.push(digits.clone());
            session
                .connections
                .iter()
                .filter_map(|c| c.sip.as_ref().map(|leg| leg.call_id.clone()))
                .collect()
        }
        Some(cid) => {
            let c = session
                .connections
                .iter_mut()
                .find(|c| c.connection_id == cid)
                .ok_or_else(|| ApiError::not_found("Connection not found"))?;
            c.dtmf.push(digits.clone());
            c.sip.iter().map(|leg| leg.call_id.clone()).collect()
        }
    };
    drop(store);
    if let Some(sip) = ctx.sip {
        for call_id in calls {
            sip.dtmf(&call_id, &digits);
        }
    }
    Ok(body::empty_response(StatusCode::OK))
}

/// The project JSON that the moderation routes answer with.
fn project_json(key: &str) -> Value {
    json!({
        "applicationId": key,
        "status": "ACTIVE",
        "name": "sipdial fake project",
        "environment": "standard",
        "createdAt": 1_700_000_000_000_u64,
    })
}

fn mute_stream(
    ctx: &Ctx<'_>,
    key: &str,
    session: &str,
    stream: &str,
) -> Result<http::Response<Body>, ApiError> {
    // Node sends `{}`, Java nothing; anything else must at least be JSON.
    ctx.json_object(true)?;
    let mut store = ctx.store();
    let session = store.session_mut(session).ok_or_else(session_not_found)?;
    let stream = session
        .streams
        .iter_mut()
        .find(|s| s.stream_id == stream)
        .ok_or_else(|| ApiError::not_found("Stream not found"))?;
    stream.force_muted = true;
    Ok(body::json_response(StatusCode::OK, &project_json(key)))
}

fn mute_all(ctx: &Ctx<'_>, key: &str, session: &str) -> Result<http::Response<Body>, ApiError> {
    let body = ctx.json_object(false)?;
    let active = match body.get("active") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(ApiError::bad_request("active must be a boolean")),
    };
    let excluded: Vec<String> = match opt_field(&body, "excludedStreamIds") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::bad_request("excludedStreamIds must hold strings"))?,
        Some(_) => return Err(ApiError::bad_request("excludedStreamIds must be an array")),
    };
    let mut store = ctx.store();
    let session = store.session_mut(session).ok_or_else(session_not_found)?;
    session.info.mute_all_active = active;
    if active {
        for s in &mut session.streams {
            if !excluded.contains(&s.stream_id) {
                s.force_muted = true;
            }
        }
    }
    Ok(body::json_response(StatusCode::OK, &project_json(key)))
}

fn list_streams(ctx: &Ctx<'_>, session: &str) -> Result<http::Response<Body>, ApiError> {
    let store = ctx.store();
    let session = store.session(session).ok_or_else(session_not_found)?;
    // The documented behaviour: 404 until the session has had a stream at all.
    if !session.ever_had_stream {
        return Err(ApiError::not_found(
            "The session exists but has not had any streams added to it yet",
        ));
    }
    let items: Vec<Value> = session
        .streams
        .iter()
        .map(StreamSnapshot::to_json)
        .collect();
    Ok(body::json_response(
        StatusCode::OK,
        &json!({ "count": items.len(), "items": items }),
    ))
}

fn get_stream(
    ctx: &Ctx<'_>,
    session: &str,
    stream: &str,
) -> Result<http::Response<Body>, ApiError> {
    let store = ctx.store();
    let session = store.session(session).ok_or_else(session_not_found)?;
    let stream = session
        .streams
        .iter()
        .find(|s| s.stream_id == stream)
        .ok_or_else(|| ApiError::not_found("Stream not found"))?;
    Ok(body::json_response(StatusCode::OK, &stream.to_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_route() {
        let p = |m: Method, path: &str| Route::parse(&m, path);
        assert_eq!(
            p(Method::POST, "/session/create").unwrap(),
            Route::CreateSession
        );
        assert_eq!(
            p(Method::POST, "/v2/project/k/dial").unwrap(),
            Route::Dial { key: "k".into() }
        );
        assert!(matches!(
            p(Method::DELETE, "/v2/project/k/session/s/connection/c").unwrap(),
            Route::HangUp { .. }
        ));
        assert!(matches!(
            p(
                Method::POST,
                "/v2/project/k/session/s/connection/c/play-dtmf"
            )
            .unwrap(),
            Route::DtmfConnection { .. }
        ));
        assert!(matches!(
            p(Method::GET, "/v2/project/k/session/s/stream/x").unwrap(),
            Route::GetStream { .. }
        ));
        assert_eq!(
            p(Method::GET, "/nope").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            p(Method::GET, "/v2/project/k/dial").unwrap_err().status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            p(Method::POST, "/v2/project/k//dial").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }
}
