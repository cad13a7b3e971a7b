//! Client tokens, signed locally (no round trip): the SDKs' HS256 JWT for projects, the
//! RS256 JWT for Vonage applications (docs/platform-api.md §3a, §3c).
//!
//! The claims a project token carries live in `sipdial_core::jwt::ClientTokenClaims`;
//! the application token is derived from the same claims so defaults (expiry, layout
//! list, role spelling) are decided in one place.

use jsonwebtoken::EncodingKey;
use serde::Serialize;
use sipdial_core::jwt::ClientTokenClaims;
use sipdial_core::{ClientToken, DialError, SessionId, TokenOptions, session_format};

use crate::clock::now_secs;
use crate::credentials::sign_rs256;

/// Refuses a session whose id visibly belongs to another project or application.
///
/// Best effort, as in the SDKs (docs/platform-api.md §2): ids that do not decode pass.
pub(crate) fn check_session_owner(session: &SessionId, id: &str) -> Result<(), DialError> {
    match session_format::decode(session) {
        Some(parts) if parts.api_key != id => Err(DialError::invalid(
            "session_id",
            "the session belongs to another project or application",
        )),
        _ => Ok(()),
    }
}

/// The claims of a Vonage application's client token (docs/platform-api.md §3c).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ApplicationTokenClaims {
    /// The application id.
    pub application_id: String,
    /// Issued at (seconds).
    pub iat: u64,
    /// A random id (UUID v4).
    pub jti: String,
    /// Expires (seconds).
    pub exp: u64,
    /// Always `video`.
    pub sub: String,
    /// Access to the session paths: `{"paths":{"/session/**":{}}}`.
    pub acl: serde_json::Value,
    /// Always `session.connect`.
    pub scope: String,
    /// The session the token is for.
    pub session_id: String,
    /// The role.
    pub role: String,
    /// Space-joined layout classes (`""` when none).
    pub initial_layout_class_list: String,
    /// Connection data, only when set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connection_data: Option<String>,
}

impl ApplicationTokenClaims {
    /// The application-token form of the shared client-token claims.
    pub fn from_client_claims(claims: ClientTokenClaims, jti: String) -> Self {
        Self {
            application_id: claims.iss,
            iat: claims.iat,
            jti,
            exp: claims.exp,
            sub: "video".to_owned(),
            acl: serde_json::json!({ "paths": { "/session/**": {} } }),
            scope: claims.scope,
            session_id: claims.session_id,
            role: claims.role,
            initial_layout_class_list: claims.initial_layout_class_list,
            connection_data: claims.connection_data,
        }
    }

    /// Signs the claims with RS256 and the application's private key.
    pub(crate) fn sign(&self, key: &EncodingKey) -> Result<ClientToken, DialError> {
        Ok(ClientToken::new(sign_rs256(self, key)?, self.exp))
    }
}

/// A fresh random nonce, like Node's `Math.random()`.
pub(crate) fn nonce() -> f64 {
    rand::random::<f64>()
}

/// The shared client-token claims for `session` issued now.
pub(crate) fn client_claims(
    id: &str,
    session: &SessionId,
    options: &TokenOptions,
) -> ClientTokenClaims {
    ClientTokenClaims::new(id, session, options, now_secs(), nonce())
}
