//! The platform's session-id format (docs/platform-api.md §2).
//!
//! A session id is a sentinel (`1_`/`2_`) followed by base64 (with `-`/`_` for `+`/`/`,
//! padding dropped) of `1~{apiKey}~{location}~{createTime}~{random}~`. The official SDKs
//! decode it to check that a session belongs to the key they sign tokens with; fakes
//! encode it so that those SDKs accept the ids they hand out.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::{SessionId, ValidationError};

/// The fields carried inside a session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIdParts {
    /// The project API key (or application id) the session belongs to.
    pub api_key: String,
    /// The location hint (an IPv4 address) or empty.
    pub location: String,
    /// The creation time as the platform wrote it (a date string or milliseconds).
    pub create_time: String,
    /// The random part.
    pub random: String,
}

/// Decodes a session id into its fields; `None` when it is not in the platform format.
///
/// Decoding is best effort, as in the SDKs: ids minted by other means are still valid
/// [`SessionId`]s, they just carry no readable key.
pub fn decode(id: &SessionId) -> Option<SessionIdParts> {
    let s = id.as_str();
    let body = s.get(2..)?;
    if !(s.starts_with("1_") || s.starts_with("2_")) {
        return None;
    }
    let mapped: String = body
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let trimmed = mapped.trim_end_matches('=');
    let bytes = STANDARD_NO_PAD.decode(trimmed).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut fields = text.split('~');
    if fields.next()? != "1" {
        return None;
    }
    Some(SessionIdParts {
        api_key: fields.next()?.to_owned(),
        location: fields.next().unwrap_or_default().to_owned(),
        create_time: fields.next().unwrap_or_default().to_owned(),
        random: fields.next().unwrap_or_default().to_owned(),
    })
}

/// Encodes fields into a session id in the platform format (sentinel `1_`).
///
/// Refuses fields containing `~`, which would shift every later field.
pub fn encode(parts: &SessionIdParts) -> Result<SessionId, ValidationError> {
    for f in [
        &parts.api_key,
        &parts.location,
        &parts.create_time,
        &parts.random,
    ] {
        if f.contains('~') {
            return Err(ValidationError::new(
                "session id",
                "fields must not contain '~'",
            ));
        }
    }
    let raw = format!(
        "1~{}~{}~{}~{}~",
        parts.api_key, parts.location, parts.create_time, parts.random
    );
    let b64: String = STANDARD
        .encode(raw.as_bytes())
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    SessionId::new(format!("1_{b64}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> SessionId {
        SessionId::new(s).unwrap()
    }

    #[test]
    fn decodes_vector_without_location() {
        let p = decode(&sid(
            "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
        ))
        .unwrap();
        assert_eq!(p.api_key, "123456");
        assert_eq!(p.location, "");
        assert_eq!(p.create_time, "Sat Mar 15 14:42:23 PDT 2014");
        assert_eq!(p.random, "0.49013025");
    }

    #[test]
    fn decodes_vector_with_location() {
        let p = decode(&sid(
            "1_MX4xMjM0NTZ-MTIuMzQuNTYuNzh-TW9uIE1hciAxNyAwMTo0ODo1NSBQRFQgMjAxNH4wLjM0MTM0MzE0MDIyOTU4Mjh-",
        ))
        .unwrap();
        assert_eq!(p.api_key, "123456");
        assert_eq!(p.location, "12.34.56.78");
    }

    #[test]
    fn decodes_short_vector_with_sentinel_two() {
        let p = decode(&sid("2_MX40NTMyODc3Mn5-fg")).unwrap();
        assert_eq!(p.api_key, "45328772");
        assert_eq!(p.location, "");
        assert_eq!(p.create_time, "");
    }

    #[test]
    fn rejects_foreign_ids() {
        assert!(decode(&sid("session-abc")).is_none());
        // valid base64, but not the `1~key~...` layout
        assert!(decode(&sid("1_QUFBQQ")).is_none());
        assert!(decode(&sid("3_MX40NTMyODc3Mn5-fg")).is_none());
    }

    #[test]
    fn encode_round_trips_and_matches_vector() {
        let parts = SessionIdParts {
            api_key: "123456".into(),
            location: "".into(),
            create_time: "Sat Mar 15 14:42:23 PDT 2014".into(),
            random: "0.49013025".into(),
        };
        let id = encode(&parts).unwrap();
        assert_eq!(
            id.as_str(),
            "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4"
        );
        assert_eq!(decode(&id).unwrap(), parts);
    }

    #[test]
    fn encode_refuses_separator_in_fields() {
        let parts = SessionIdParts {
            api_key: "12~34".into(),
            location: String::new(),
            create_time: String::new(),
            random: String::new(),
        };
        assert!(encode(&parts).is_err());
    }
}
