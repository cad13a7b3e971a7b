//! Stream listing and lookup (docs/platform-api.md §5).

use http::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, session_not_found};
use crate::body::{self, Body};
use crate::error::ApiError;
use crate::state::StreamSnapshot;

pub(super) fn list_streams(ctx: &Ctx<'_>, session: &str) -> Result<http::Response<Body>, ApiError> {
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

pub(super) fn get_stream(
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
