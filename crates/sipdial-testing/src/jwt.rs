//! JWT parsing and signature checks, written out by hand rather than through
//! `jsonwebtoken::decode`: the fake must see the raw header (Ruby puts `ist` there) and
//! refuse exactly what the cloud refuses, with its own wording.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// A JWT whose signature checked out.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedJwt {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
}

/// Why a JWT was refused (the text is safe to send back: no token content in it).
pub(crate) type JwtError = &'static str;

/// The `alg` of a token, read without verifying anything.
pub(crate) fn peek_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// Checks that `token` is a compact JWS signed with `alg` (and nothing else) under `key`.
pub(crate) fn verify(
    token: &str,
    alg: Algorithm,
    key: &DecodingKey,
) -> Result<VerifiedJwt, JwtError> {
    sipdial_core::jwt::ensure_crypto_provider();
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Invalid token format");
    };
    let header = decode_object(h).ok_or("Invalid token format")?;
    let claims = decode_object(c).ok_or("Invalid token format")?;
    let expected = match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        _ => return Err("Unsupported token algorithm"),
    };
    if header.get("alg").and_then(Value::as_str) != Some(expected) {
        return Err("Invalid token algorithm");
    }
    let message_len = h.len() + 1 + c.len();
    let message = &token.as_bytes()[..message_len];
    match jsonwebtoken::crypto::verify(s, message, key, alg) {
        Ok(true) => Ok(VerifiedJwt { header, claims }),
        _ => Err("Invalid token signature"),
    }
}

fn decode_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A numeric claim as whole seconds (JSON numbers may come as integers or floats).
pub(crate) fn secs_claim(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    v.as_f64()
        .filter(|f| f.is_finite())
        .map(|f| f.floor() as i64)
}

/// A string claim, also accepting a number (some SDKs send the API key as a number).
pub(crate) fn string_claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
