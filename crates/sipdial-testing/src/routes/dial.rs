//! `POST …/dial` (docs/platform-api.md §4): the dial body checked like the cloud, the SIP leg
//! added to the session, and, with SIP on, the call handed to the gateway emulation.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};
use sipdial_core::{SessionId, SipFrom, SipHeaders, SipUri, StreamId, Timestamp};

use super::{Ctx, opt_field, session_not_found};
use crate::body;
use crate::client_token::verify_client_token;
use crate::error::ApiError;
use crate::state::{ConnectionKind, ConnectionSnapshot, MediaMode, SipLeg, StreamSnapshot};

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

pub(super) async fn dial(ctx: Ctx, Path(key): Path<String>) -> Result<Response, ApiError> {
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
    let token = verify_client_token(token, session_id, &ctx.inner.creds, ctx.now_secs)?;
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
    let sip_dial = ctx.sip().map(|_| crate::sip_legs::Dial {
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
    ctx.inner
        .lifecycle
        .connection_added(session, &connection_id, sip_dial.is_none());
    drop(store);
    if let (Some(sip), Some(dial)) = (ctx.sip(), sip_dial) {
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
