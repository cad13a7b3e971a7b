//! The platform's answers read into core types; a 2xx whose body is not what the
//! platform documents becomes an upstream error, never a panic (docs/platform-api.md
//! §2, §4, §5).

use serde::Deserialize;
use sipdial_core::{
    CallId, ConnectionId, ConnectionInfo, ConnectionState, DialError, SessionId, SipCall, StreamId,
    StreamInfo, Timestamp,
};

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

#[derive(Deserialize)]
struct ConnectionList {
    items: Vec<ConnectionItem>,
}

/// One item of List Connections, field names as the Java SDK 9.9.0 reads them
/// (`com.vonage.client.video.Connection`: `connectionId`, `connectionState`,
/// `createdAt`); the list is `{"count", "projectId", "sessionId", "items"}`
/// (`ListConnectionsResponse`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionItem {
    connection_id: String,
    #[serde(default)]
    connection_state: Option<String>,
    #[serde(default)]
    created_at: Option<u64>,
}

/// Reads `{"count":n,"items":[{"connectionId","connectionState","createdAt"}]}` of a
/// connection list. A state it does not know is `Unknown` (never taken as an end); a
/// missing one too.
pub(crate) fn parse_connections(
    status: u16,
    body: &[u8],
) -> Result<Vec<ConnectionInfo>, DialError> {
    let list: ConnectionList =
        serde_json::from_slice(body).map_err(|_| bad_answer(status, "not a connection list"))?;
    list.items
        .into_iter()
        .map(|item| {
            let id = ConnectionId::new(item.connection_id)
                .map_err(|_| bad_answer(status, "an invalid connection id"))?;
            let state = item
                .connection_state
                .as_deref()
                .map_or(ConnectionState::Unknown, ConnectionState::from_platform);
            let info = ConnectionInfo::new(id, state);
            Ok(match item.created_at {
                Some(ms) => info.created_at(Timestamp::from_millis(ms)),
                None => info,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";

    fn sid() -> SessionId {
        SessionId::new(SID).unwrap()
    }

    #[test]
    fn parses_connection_lists() {
        let body = br#"{"count":3,"projectId":"e2343f23-1234-4a2b-9d5e-1234567890ab","sessionId":"1_x",
            "items":[{"connectionId":"e9f8c166-6c67-440d-994a-04fb6dfed007","connectionState":"Connected","createdAt":1384221730000},
                     {"connectionId":"a8f8c166-6c67-440d-994a-04fb6dfed007","connectionState":"Disconnected"},
                     {"connectionId":"b8f8c166-6c67-440d-994a-04fb6dfed007","connectionState":"Sleeping"}]}"#;
        let list = parse_connections(200, body).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].state, ConnectionState::Connected);
        assert_eq!(
            list[0].created_at,
            Some(Timestamp::from_millis(1_384_221_730_000))
        );
        assert_eq!(list[1].state, ConnectionState::Disconnected);
        assert_eq!(list[2].state, ConnectionState::Unknown);
        assert!(parse_connections(200, b"[]").is_err());
        assert!(parse_connections(200, br#"{"items":[{"connectionId":"../x"}]}"#).is_err());
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
}
