//! Ready-made credentials for requests sent by hand (a raw HTTP client in a test, curl
//! against the `fake-platform` binary): REST JWTs in the layout the official SDKs send,
//! and client tokens for the dial body.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sipdial_core::jwt::ClientTokenClaims;
use sipdial_core::{SessionId, TokenOptions};

use crate::clock::now_secs;

/// A fresh `X-OPENTOK-AUTH` value: HS256 with `iss` = `api_key`, `ist` = `project`, a
/// five-minute lifetime and a random `jti`.
pub fn project_rest_jwt(api_key: &str, api_secret: &str) -> String {
    let now = now_secs();
    let claims = json!({
        "iss": api_key,
        "ist": "project",
        "iat": now,
        "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    // Signing a JSON value with an HMAC key cannot fail; an empty string would only
    // make the request be refused, which is what a test would then show.
    sipdial_core::jwt::sign_hs256(&claims, api_secret.as_bytes()).unwrap_or_default()
}

/// A fresh `Authorization: Bearer` JWT for a Vonage application: RS256 with
/// `application_id`, `iat`, `exp` five minutes ahead and a random `jti`.
pub fn application_rest_jwt(
    application_id: &str,
    private_key_pem: &str,
) -> Result<String, jsonwebtoken::errors::Error> {
    sipdial_core::jwt::ensure_crypto_provider();
    let now = now_secs();
    let claims = json!({
        "application_id": application_id,
        "ist": "project",
        "iat": now,
        "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes())?;
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
}

/// A client token for `session_id` (publisher, 24 h, connection data `sip=true`),
/// signed with the project secret exactly as the official SDKs sign it.
pub fn project_client_token(
    api_key: &str,
    api_secret: &str,
    session_id: &str,
) -> Result<String, sipdial_core::ValidationError> {
    let session = SessionId::new(session_id)?;
    let options = TokenOptions {
        data: Some(sipdial_core::ConnectionData::new("sip=true")?),
        ..TokenOptions::default()
    };
    let now = u64::try_from(now_secs()).unwrap_or_default();
    // A nonce in [0, 1), like Node's `Math.random()`.
    let nonce = f64::from(uuid::Uuid::new_v4().as_fields().0) / (f64::from(u32::MAX) + 1.0);
    let token = ClientTokenClaims::new(api_key, &session, &options, now, nonce)
        .sign_hs256(api_secret.as_bytes())
        .map_err(|_| sipdial_core::ValidationError::new("client token", "could not sign"))?;
    Ok(token.expose_secret().to_owned())
}
