//! Stream listing and lookup (docs/platform-api.md §5), and List Connections.

use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, session_not_found};
use crate::body;
use crate::error::ApiError;
use crate::state::StreamSnapshot;

pub(super) async fn list_streams(
    ctx: Ctx,
    Path((_, session)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.store();
    let session = store.session(&session).ok_or_else(session_not_found)?;
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

/// List Connections: every connection still in the session with its true state. A
/// SIP leg is `Connecting` until the far end answers, then `Connected`; a leg that
/// ended has left the session and is not listed (as on the platform, which keeps a
/// `Disconnected` entry only briefly).
pub(super) async fn list_connections(
    ctx: Ctx,
    Path((_, session)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.store();
    let found = store.session(&session).ok_or_else(session_not_found)?;
    let items: Vec<Value> = found
        .connections
        .iter()
        .map(|c| {
            let state = match &c.sip {
                Some(leg) if !leg.state.answered() => "Connecting",
                _ => "Connected",
            };
            json!({
                "connectionId": c.connection_id,
                "connectionState": state,
                "createdAt": c.created_at.as_millis(),
            })
        })
        .collect();
    Ok(body::json_response(
        StatusCode::OK,
        &json!({
            "count": items.len(),
            "projectId": found.info.project_key,
            "sessionId": session,
            "items": items,
        }),
    ))
}

pub(super) async fn get_stream(
    ctx: Ctx,
    Path((_, session, stream)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let store = ctx.store();
    let session = store.session(&session).ok_or_else(session_not_found)?;
    let stream = session
        .streams
        .iter()
        .find(|s| s.stream_id == stream)
        .ok_or_else(|| ApiError::not_found("Stream not found"))?;
    Ok(body::json_response(StatusCode::OK, &stream.to_json()))
}
