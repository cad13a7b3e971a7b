//! Identifiers the platform hands out: sessions, connections, streams and calls.
//!
//! Every one of them ends up inside a REST path (`/session/{id}/connection/{id}`), so the
//! character set is restricted to what needs no escaping: a `/`, `%`, `?` or `..` in an
//! id could otherwise redirect a request to another resource.

use crate::ValidationError;
use crate::macros::validated_string;

/// Longest session id the platform issues (docs/platform-api.md §2).
pub const MAX_SESSION_ID_LEN: usize = 255;
/// Longest connection, stream or call id accepted (the platform uses UUIDs).
pub const MAX_RESOURCE_ID_LEN: usize = 128;

fn check_id(what: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(what, "must not be empty"));
    }
    if value.len() > max {
        return Err(ValidationError::new(
            what,
            format!("must be at most {max} characters"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    {
        return Err(ValidationError::new(
            what,
            "may only contain ASCII letters, digits, '-', '_', '.' and '~'",
        ));
    }
    if value.bytes().all(|b| b == b'.') {
        return Err(ValidationError::new(what, "must not be a dot path segment"));
    }
    Ok(())
}

fn check_session_id(v: &str) -> Result<(), ValidationError> {
    check_id("session id", v, MAX_SESSION_ID_LEN)
}
fn check_connection_id(v: &str) -> Result<(), ValidationError> {
    check_id("connection id", v, MAX_RESOURCE_ID_LEN)
}
fn check_stream_id(v: &str) -> Result<(), ValidationError> {
    check_id("stream id", v, MAX_RESOURCE_ID_LEN)
}
fn check_call_id(v: &str) -> Result<(), ValidationError> {
    check_id("call id", v, MAX_RESOURCE_ID_LEN)
}

validated_string!(
    /// A platform session id (`1_MX4x…`): at most 255 URL-safe characters.
    ///
    /// See [`crate::session_format`] for decoding the project key out of it.
    SessionId,
    check_session_id
);
validated_string!(
    /// A connection id: one participant's (or one SIP leg's) connection to a session.
    ConnectionId,
    check_connection_id
);
validated_string!(
    /// A stream id: one published audio/video stream.
    StreamId,
    check_stream_id
);
validated_string!(
    /// A SIP call (conference) id, as returned by the platform's dial.
    CallId,
    check_call_id
);
