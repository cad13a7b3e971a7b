//! `POST /session/create` (docs/platform-api.md §2): the form fields the platform accepts and
//! the session it creates.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};
use sipdial_core::Timestamp;
use sipdial_core::session_format::{self, SessionIdParts};

use super::Ctx;
use crate::body;
use crate::error::ApiError;
use crate::state::{MediaMode, Session, SessionSnapshot};

pub(super) async fn create_session(ctx: Ctx) -> Result<Response, ApiError> {
    if !ctx.body.is_empty() && ctx.content_type() != "application/x-www-form-urlencoded" {
        return Err(ApiError::bad_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&ctx.body)
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
    ctx.store().insert(Session {
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
