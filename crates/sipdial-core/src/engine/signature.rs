//! Signed bodies in the platform's format (docs/platform-api.md §6, "Secure callbacks"):
//! verifying its callbacks, and signing our status webhooks the same way ([`sign_body`]),
//! so the claim format lives here once. The format: an
//! HS256 JWT in `Authorization: Bearer`, signed with the callback's signature secret,
//! whose optional `payload_hash` claim is the SHA-256 of the raw body.
//!
//! Rules: the header's `alg` must be exactly `HS256` (so `none`, HS384/512 and the RSA
//! and EC families are refused before any key is used); the signature must verify; `exp`
//! is checked when present (with [`LEEWAY_SECS`]); a token without `exp` must carry an
//! `iat` no older than [`MAX_AGE_SECS`], so a captured delivery cannot be replayed
//! forever; `payload_hash`, when present, must match the body byte for byte. Each
//! refusal is a 401 with its own code, so an operator can tell a wrong secret from a
//! clock problem; none of them quotes the token or the secret.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::jwt::ensure_crypto_provider;

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// Oldest `iat` accepted from a token without `exp`, in seconds.
pub const MAX_AGE_SECS: u64 = 300;

/// Why a callback's signature was refused: an error code and a message, both fixed
/// strings (never the token or the secret). The HTTP layer answers it as a 401 with a
/// `WWW-Authenticate` challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignatureRefusal {
    pub(crate) code: &'static str,
    pub(crate) message: &'static str,
}

fn refuse(code: &'static str, message: &'static str) -> SignatureRefusal {
    SignatureRefusal { code, message }
}

/// The lowercase hex SHA-256 of `body`, as `payload_hash` carries it.
pub fn payload_hash(body: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, body);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Lifetime of a body signature sipdial issues (its status webhooks): long enough for
/// a receiver's clock skew, short enough that a captured delivery is soon useless.
pub const SIGNED_BODY_TTL_SECS: u64 = 300;

/// The claims of a signed body, the format the platform's signed callbacks use and
/// `POST /callbacks` checks (docs/platform-api.md §6): issued at, expiry, and the body's hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedBodyClaims {
    /// Issued at (seconds).
    pub iat: u64,
    /// Expires (seconds): `iat` + [`SIGNED_BODY_TTL_SECS`].
    pub exp: u64,
    /// The lowercase hex SHA-256 of the body ([`payload_hash`]).
    pub payload_hash: String,
}

impl SignedBodyClaims {
    /// The claims of `body` signed at `now_secs`.
    pub fn new(body: &[u8], now_secs: u64) -> Self {
        Self {
            iat: now_secs,
            exp: now_secs + SIGNED_BODY_TTL_SECS,
            payload_hash: payload_hash(body),
        }
    }
}

/// The HS256 JWT that signs `body` at `now_secs`, for `Authorization: Bearer`.
pub fn sign_body(
    body: &[u8],
    key: &crate::jwt::Hs256Key,
    now_secs: u64,
) -> Result<String, crate::DialError> {
    crate::jwt::sign_hs256_with(&SignedBodyClaims::new(body, now_secs), key)
}

/// Checks the request's signature against `secret` at `now_secs`.
pub(crate) fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secret: &SecretString,
    now_secs: u64,
) -> Result<(), SignatureRefusal> {
    let missing = || {
        refuse(
            "signature_missing",
            "this server requires signed callbacks (Authorization: Bearer <JWT>)",
        )
    };
    let invalid = || refuse("signature_invalid", "the callback signature is invalid");
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| invalid())?
        .trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(missing()),
    };
    if token.is_empty() {
        return Err(missing());
    }
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let head: Value = URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid)?;
    if head.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(refuse(
            "signature_algorithm",
            "callbacks must be signed with HS256",
        ));
    }
    ensure_crypto_provider();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let key = jsonwebtoken::DecodingKey::from_secret(secret.expose_secret().as_bytes());
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                refuse("signature_expired", "the callback signature has expired")
            }
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                refuse("signature_algorithm", "callbacks must be signed with HS256")
            }
            _ => invalid(),
        })?
        .claims;
    if claims.get("exp").is_none() {
        let iat = claims.get("iat").and_then(Value::as_u64).ok_or_else(|| {
            refuse(
                "signature_invalid",
                "the callback token carries no exp or iat",
            )
        })?;
        if iat > now_secs + LEEWAY_SECS {
            return Err(refuse(
                "signature_invalid",
                "the callback token was issued in the future",
            ));
        }
        if now_secs.saturating_sub(iat) > MAX_AGE_SECS + LEEWAY_SECS {
            return Err(refuse(
                "signature_expired",
                "the callback signature is too old",
            ));
        }
    }
    if let Some(claimed) = claims.get("payload_hash") {
        let matches = claimed
            .as_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(&payload_hash(body)));
        if !matches {
            return Err(refuse(
                "payload_hash_mismatch",
                "the callback body does not match its signed payload_hash",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_sign_body_signs_verify_accepts() {
        let secret = SecretString::from("0123456789abcdef0123");
        let key = crate::jwt::Hs256Key::new(b"0123456789abcdef0123");
        // jsonwebtoken checks `exp` against the real clock.
        let now = crate::Timestamp::now().as_secs();
        let token = sign_body(b"{\"a\":1}", &key, now).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert!(verify(&headers, b"{\"a\":1}", &secret, now).is_ok());
        let refused = verify(&headers, b"{\"a\":2}", &secret, now).unwrap_err();
        assert_eq!(refused.code, "payload_hash_mismatch");
    }

    #[test]
    fn payload_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            payload_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
