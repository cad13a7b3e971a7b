//! The platform's session-id format (docs/platform-api.md §2).
//!
//! A session id is a sentinel (`1_`/`2_`) followed by base64 (with `-`/`_` for `+`/`/`,
//! padding dropped) of `1~{apiKey}~{location}~{createTime}~{random}~`. The official SDKs
//! decode it to check that a session belongs to the key they sign tokens with; fakes
//! encode it so that those SDKs accept the ids they hand out.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

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
    with_fields(id, |api_key, location, create_time, random| {
        SessionIdParts {
            api_key: api_key.to_owned(),
            location: location.to_owned(),
            create_time: create_time.to_owned(),
            random: random.to_owned(),
        }
    })
}

/// Whether the key the session id carries is `api_key`; `None` when the id does not
/// decode (as [`decode`]).
///
/// What a dialer checks before every token (`docs/platform-api.md §2`): the same
/// answer as comparing [`decode`]'s `api_key`, without allocating the four fields.
pub fn carries_api_key(id: &SessionId, api_key: &str) -> Option<bool> {
    with_fields(id, |key, _, _, _| key == api_key)
}

/// Room for the decoded bytes of the longest session id
/// ([`MAX_SESSION_ID_LEN`](crate::MAX_SESSION_ID_LEN) less the sentinel).
const DECODED_MAX: usize = crate::MAX_SESSION_ID_LEN.div_ceil(4) * 3;

/// Decodes the id on the stack and hands its fields (api key, location, creation
/// time, random) to `f`.
///
/// The SDKs map `-`/`_` to `+`/`/` and decode standard base64 without padding; a
/// [`SessionId`] holds only `[A-Za-z0-9._~-]`, so that is exactly URL-safe base64
/// without padding (`.` and `~` are refused by both), decoded here in one pass with no
/// copy of the text.
fn with_fields<R>(id: &SessionId, f: impl FnOnce(&str, &str, &str, &str) -> R) -> Option<R> {
    let s = id.as_str();
    let body = s.get(2..)?;
    if !(s.starts_with("1_") || s.starts_with("2_")) {
        return None;
    }
    let mut buf = [0u8; DECODED_MAX];
    let n = URL_SAFE_NO_PAD.decode_slice(body, &mut buf).ok()?;
    let text = std::str::from_utf8(buf.get(..n)?).ok()?;
    let mut fields = text.split('~');
    if fields.next()? != "1" {
        return None;
    }
    let api_key = fields.next()?;
    Some(f(
        api_key,
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    ))
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
    fn carries_api_key_agrees_with_decode() {
        for id in [
            "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
            "2_MX40NTMyODc3Mn5-fg",
            "1_QUFBQQ",
            "3_MX40NTMyODc3Mn5-fg",
            "session-abc",
            "1_",
            "1_MX4xMjM0NTZ-f.",
            "1_MX4xMjM0NTZ-f~",
        ] {
            let id = sid(id);
            for key in ["123456", "45328772", "other"] {
                assert_eq!(
                    carries_api_key(&id, key),
                    decode(&id).map(|p| p.api_key == key),
                    "{id} {key}"
                );
            }
        }
        // The longest id fits the decoding buffer.
        let long = sid(&format!("1_{}", "A".repeat(crate::MAX_SESSION_ID_LEN - 2)));
        assert_eq!(carries_api_key(&long, "k"), None);
        assert_eq!(decode(&long), None);
        let parts = SessionIdParts {
            api_key: "123456".into(),
            location: String::new(),
            create_time: String::new(),
            random: "r".repeat(176),
        };
        let longest = encode(&parts).unwrap();
        assert_eq!(longest.as_str().len(), crate::MAX_SESSION_ID_LEN - 2);
        assert_eq!(carries_api_key(&longest, "123456"), Some(true));
        assert_eq!(decode(&longest).unwrap(), parts);
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
