//! The JSON shapes of requests and responses (camelCase).
//!
//! Request fields are plain strings here and validated field by field in the handlers,
//! so every error names its field with a message written by us. Unknown fields are
//! refused (`deny_unknown_fields`): a misspelt `"rol"` or `"sipUri"` silently ignored
//! would do something other than what the caller meant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Role;
use crate::call::CallRecord;

/// `POST /session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SessionRequest {
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) room: Option<String>,
}

/// `POST /session` → 200.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionResponse<'a> {
    pub(crate) room: &'a str,
    pub(crate) api_key: &'a str,
    pub(crate) session_id: &'a str,
}

/// One entry of `GET /targets`.
#[derive(Debug, Serialize)]
pub(crate) struct TargetInfo<'a> {
    pub(crate) name: &'a str,
    pub(crate) label: &'a str,
}

/// `GET /targets` → 200.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TargetsResponse<'a> {
    pub(crate) targets: Vec<TargetInfo<'a>>,
    pub(crate) default_target: Option<&'a str>,
    pub(crate) custom_uri_allowed: bool,
}

/// `POST /token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TokenRequest {
    pub(crate) session_id: String,
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) role: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) data: Option<String>,
}

/// `POST /token` → 200. The token is the one secret the API hands out, to the page
/// that asked for it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResponse<'a> {
    pub(crate) token: &'a str,
    pub(crate) role: Role,
    /// Milliseconds since the Unix epoch, like every time in the API.
    pub(crate) expires_at: u64,
}

/// `POST /dial`. `Serialize` gives the canonical form an `Idempotency-Key`'s
/// fingerprint is taken of: fields in one order, headers sorted, whitespace and the
/// order the client wrote them in ignored.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DialBody {
    pub(crate) session_id: String,
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) target: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) uri: Option<String>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub(crate) headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) streams: Option<Vec<String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) dtmf_after_answer: Option<String>,
}

/// A JSON object of strings whose keys are all different: serde's maps keep the last
/// of two equal keys silently, so a proxy or WAF reading the first would vet another
/// SIP header than the one dialed.
struct UniqueKeys(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.insert(k, v).is_some() {
                        return Err(serde::de::Error::custom("duplicate key"));
                    }
                }
                Ok(UniqueKeys(out))
            }
        }
        de.deserialize_map(Visitor)
    }
}

fn unique_keys<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    Ok(Some(UniqueKeys::deserialize(de)?.0))
}

/// An optional field that, when present, holds a value: `null` is refused as the wrong
/// type. The OpenAPI document states these fields as strings (or arrays, objects), not
/// nullable ones, and a client sending `null` gets told rather than a default it did
/// not ask for. Absent fields are `None` through `#[serde(default)]`.
fn not_null<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(de).map(Some)
}

/// `POST /calls/{id}/dtmf`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DtmfBody {
    pub(crate) digits: String,
}

/// `POST /calls/{id}/mute`: no fields (an empty body or `{}`); anything else is
/// refused rather than ignored, so a client expecting an unmute option learns there is
/// none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MuteBody {}

/// `POST /calls/{id}/hangup`: no fields (an empty body or `{}`), like the mute.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HangUpBody {}

/// `GET /calls` → 200.
#[derive(Debug, Serialize)]
pub(crate) struct CallsResponse {
    pub(crate) calls: Vec<CallRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::parse_json;

    fn refused<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        let e = parse_json::<T>(body.as_bytes()).unwrap_err();
        format!("{} {}", e.code(), e.message())
    }

    /// Every optional request field is absent or a value; `null` is the wrong type, as
    /// the OpenAPI document (no field is nullable) says. Schemathesis found
    /// `{"room": null}` and `{"role": null}` accepted.
    #[test]
    fn null_is_refused_in_every_optional_field() {
        assert!(refused::<SessionRequest>(r#"{"room": null}"#).contains("`room`"));
        for field in ["role", "data"] {
            let e = refused::<TokenRequest>(&format!(r#"{{"sessionId": "s", "{field}": null}}"#));
            assert!(e.contains(&format!("`{field}`")), "{e}");
        }
        for field in ["target", "uri", "headers", "streams", "dtmfAfterAnswer"] {
            let e = refused::<DialBody>(&format!(r#"{{"sessionId": "s", "{field}": null}}"#));
            assert!(e.starts_with("invalid_field"), "{e}");
            assert!(e.contains(&format!("`{field}`")), "{e}");
        }
        // Absent is still fine.
        let dial = parse_json::<DialBody>(br#"{"sessionId": "s"}"#).unwrap();
        assert!(dial.target.is_none() && dial.headers.is_none() && dial.streams.is_none());
        assert!(parse_json::<SessionRequest>(b"{}").unwrap().room.is_none());
        let with = parse_json::<DialBody>(br#"{"sessionId": "s", "headers": {"X-A": "1"}}"#);
        assert_eq!(with.unwrap().headers.unwrap().len(), 1);
    }
}
