//! Moderation routes (docs/platform-api.md §5): hang-up, DTMF, and muting. With SIP on, a
//! hang-up and DTMF also reach the SIP call.

use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};
use sipdial_core::Dtmf;

use super::{Ctx, opt_field, session_not_found};
use crate::body;
use crate::error::ApiError;

pub(super) async fn hang_up(
    ctx: Ctx,
    Path((_, session, connection)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    use crate::callbacks::{EndReason, Missing};
    let call_id = ctx.store().session(&session).and_then(|s| {
        s.connections
            .iter()
            .find(|c| c.connection_id == connection)
            .and_then(|c| c.sip.as_ref().map(|leg| leg.call_id.clone()))
    });
    match ctx.inner.lifecycle.remove_connection(
        &session,
        &connection,
        EndReason::ForceDisconnected,
        None,
    ) {
        Ok(()) => {
            if let (Some(sip), Some(call_id)) = (ctx.sip(), call_id) {
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

pub(super) async fn play_dtmf_session(
    ctx: Ctx,
    Path((_, session)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    play_dtmf(&ctx, &session, None)
}

pub(super) async fn play_dtmf_connection(
    ctx: Ctx,
    Path((_, session, connection)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    play_dtmf(&ctx, &session, Some(&connection))
}

fn play_dtmf(ctx: &Ctx, session: &str, connection: Option<&str>) -> Result<Response, ApiError> {
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
    if let Some(sip) = ctx.sip() {
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

pub(super) async fn mute_stream(
    ctx: Ctx,
    Path((key, session, stream)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    // Node sends `{}`, Java nothing; anything else must at least be JSON.
    ctx.json_object(true)?;
    let mut store = ctx.store();
    let session = store.session_mut(&session).ok_or_else(session_not_found)?;
    let stream = session
        .streams
        .iter_mut()
        .find(|s| s.stream_id == stream)
        .ok_or_else(|| ApiError::not_found("Stream not found"))?;
    stream.force_muted = true;
    let connection = stream.connection_id.clone();
    if let Some(c) = session
        .connections
        .iter()
        .find(|c| c.connection_id == connection)
    {
        ctx.inner
            .lifecycle
            .mute_forced(&session.info.project_key, c);
    }
    Ok(body::json_response(StatusCode::OK, &project_json(&key)))
}

pub(super) async fn mute_all(
    ctx: Ctx,
    Path((key, session)): Path<(String, String)>,
) -> Result<Response, ApiError> {
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
    let session = store.session_mut(&session).ok_or_else(session_not_found)?;
    session.info.mute_all_active = active;
    if active {
        for s in &mut session.streams {
            if !excluded.contains(&s.stream_id) {
                s.force_muted = true;
            }
        }
    }
    Ok(body::json_response(StatusCode::OK, &project_json(&key)))
}
