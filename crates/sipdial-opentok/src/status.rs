//! Non-2xx answers mapped to [`DialError`], keeping the platform's `{code, message}`
//! where it helps, and never anything that could carry a secret.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use sipdial_core::DialError;

use crate::wire::{Operation, Planned};

/// Longest platform message kept in an error, in characters.
pub(crate) const MAX_MESSAGE_CHARS: usize = 200;

/// The platform's error body (`Video-Error` in its OpenAPI).
#[derive(Deserialize)]
struct PlatformError {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Maps a non-2xx answer to the caller's error.
pub(crate) fn map_status(
    planned: &Planned<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> DialError {
    let (code, message) = platform_error(body, &planned.scrub.0);
    match status.as_u16() {
        400 => DialError::InvalidInput {
            field: None,
            message: message
                .unwrap_or_else(|| "the platform refused the request as invalid".to_owned()),
        },
        401 | 403 => DialError::RejectedCredentials,
        404 => DialError::not_found(planned.not_found),
        409 => DialError::Conflict {
            message: if planned.op == Operation::Dial {
                "the session is not routed: SIP calls need a routed session (p2p.preference=disabled)"
                    .to_owned()
            } else {
                message.unwrap_or_else(|| {
                    "the platform refused because of the resource's state".to_owned()
                })
            },
        },
        429 => DialError::RateLimited {
            retry_after: retry_after(headers),
        },
        s => DialError::Upstream {
            status: s,
            code,
            message,
        },
    }
}

/// Whether a 404 on a stream list means "no streams yet" rather than "no such session".
///
/// The platform documents a 404 for a session that "exists but has not had any streams
/// added to it yet", and uses the same status for an unknown session. An empty list is
/// the useful answer for the first; only an explicit "session not found" message is
/// taken as the second.
pub(crate) fn is_no_streams_yet(planned: &Planned<'_>, status: StatusCode, body: &[u8]) -> bool {
    if planned.op != Operation::ListStreams || status != StatusCode::NOT_FOUND {
        return false;
    }
    let (_, message) = platform_error(body, &[]);
    !message.is_some_and(|m| m.to_ascii_lowercase().contains("session not found"))
}

/// `Retry-After` in delta-seconds (the form APIs use; an HTTP date is ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Reads `{code, message}` when the body is that shape; the message is scrubbed of
/// `secrets`, stripped of control characters and truncated.
fn platform_error(body: &[u8], secrets: &[&str]) -> (Option<i64>, Option<String>) {
    let Ok(err) = serde_json::from_slice::<PlatformError>(body) else {
        return (None, None);
    };
    let code = match err.code {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let message = err
        .message
        .map(|m| clean_message(&m, secrets))
        .filter(|m| !m.is_empty());
    (code, message)
}

/// Removes secrets and control characters (no log-line injection) and truncates.
pub(crate) fn clean_message(message: &str, secrets: &[&str]) -> String {
    let mut m = message.to_owned();
    for &s in secrets {
        if s.len() >= 4 {
            m = m.replace(s, "[REDACTED]");
        }
    }
    let mut out: String = m
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    if m.chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;
    use reqwest::header::HeaderValue;
    use sipdial_core::{ClientToken, DialRequest, SessionId, SipUri};

    fn dial_plan() -> Planned<'static> {
        // The plan borrows its request's secrets; leaked so the plan can outlive this.
        let r = Box::leak(Box::new(DialRequest::new(
            SessionId::new("1_abc").unwrap(),
            ClientToken::new("the-client-token", 1),
            SipUri::new("sip:a@b.c").unwrap(),
        )));
        wire::dial("k", r).unwrap()
    }

    fn map(status: u16, body: &str, headers: HeaderMap) -> DialError {
        map_status(
            &dial_plan(),
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn maps_each_status() {
        let none = HeaderMap::new;
        assert_eq!(
            map(400, r#"{"code":400,"message":"Invalid sessionId"}"#, none()),
            DialError::InvalidInput {
                field: None,
                message: "Invalid sessionId".into()
            }
        );
        assert_eq!(map(401, "", none()), DialError::RejectedCredentials);
        assert_eq!(map(403, "{}", none()), DialError::RejectedCredentials);
        assert_eq!(map(404, "", none()), DialError::not_found("session"));
        assert!(
            matches!(map(409, "", none()), DialError::Conflict { message } if message.contains("not routed"))
        );
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(
            map(429, "", h),
            DialError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            map(429, "", h),
            DialError::RateLimited { retry_after: None }
        );
        assert_eq!(
            map(503, r#"{"code":"15001","message":"busy"}"#, none()),
            DialError::Upstream {
                status: 503,
                code: Some(15001),
                message: Some("busy".into())
            }
        );
        assert_eq!(
            map(500, "<html>oops</html>", none()),
            DialError::Upstream {
                status: 500,
                code: None,
                message: None
            }
        );
        assert!(matches!(
            map(408, "", none()),
            DialError::Upstream { status: 408, .. }
        ));
    }

    #[test]
    fn messages_are_scrubbed_cleaned_and_truncated() {
        let e = map(
            500,
            r#"{"code":1,"message":"bad token the-client-token\r\nInjected: yes"}"#,
            HeaderMap::new(),
        );
        let text = e.to_string();
        assert!(!text.contains("the-client-token"), "{text}");
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        let long = "x".repeat(1000);
        let e = map(500, &format!(r#"{{"message":"{long}"}}"#), HeaderMap::new());
        let DialError::Upstream {
            message: Some(m), ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
