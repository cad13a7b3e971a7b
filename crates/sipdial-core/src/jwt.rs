//! Client-token JWTs in the layout the official SDKs produce (docs/platform-api.md §3a), shared
//! by every dialer that signs tokens locally with a project secret (the real one and
//! the fake), so the claims are written in exactly one place.
//!
//! The header and claims are serialised by hand-ordered structs and signed with
//! `jsonwebtoken::crypto::sign`, rather than `jsonwebtoken::encode`, because the
//! platform's reference tokens put `alg` before `typ` and a byte-exact match with the
//! SDKs' test vectors is worth more than the convenience.

use std::sync::Once;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Serialize;

use crate::{ClientToken, DialError, SessionId, TokenOptions, token::DEFAULT_TOKEN_TTL};

/// Installs jsonwebtoken's process-wide crypto provider (aws-lc-rs) once.
///
/// jsonwebtoken ≥ 10 panics at the first signature when it cannot pick a provider by
/// itself (no backend, or both backends enabled by some other crate in the build).
/// Installing explicitly makes either case work; a provider already installed by the
/// host is kept.
pub fn ensure_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

#[derive(Serialize)]
struct Hs256Header {
    alg: &'static str,
    typ: &'static str,
}

/// The claims of a client token, in the SDKs' order.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ClientTokenClaims {
    /// The API key.
    pub iss: String,
    /// Always `project`.
    pub ist: String,
    /// Issued at (seconds).
    pub iat: u64,
    /// Expires (seconds).
    pub exp: u64,
    /// The session the token is for.
    pub session_id: String,
    /// Creation time (seconds).
    pub create_time: u64,
    /// Random nonce, a float as Node's `Math.random()`.
    pub nonce: f64,
    /// The role.
    pub role: String,
    /// Expiry again, as the platform reads it.
    pub expire_time: u64,
    /// Connection data, only when set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connection_data: Option<String>,
    /// Space-joined layout classes (`""` when none).
    pub initial_layout_class_list: String,
    /// Always `session.connect`.
    pub scope: String,
}

impl ClientTokenClaims {
    /// The claims for `session` with `options`, issued at `now_secs` with `nonce`.
    pub fn new(
        api_key: &str,
        session: &SessionId,
        options: &TokenOptions,
        now_secs: u64,
        nonce: f64,
    ) -> Self {
        let exp = options
            .expiry
            .map_or(now_secs + DEFAULT_TOKEN_TTL.as_secs(), |e| e.unix_secs());
        Self {
            iss: api_key.to_owned(),
            ist: "project".to_owned(),
            iat: now_secs,
            exp,
            session_id: session.as_str().to_owned(),
            create_time: now_secs,
            nonce,
            role: options.role.as_str().to_owned(),
            expire_time: exp,
            connection_data: options.data.as_ref().map(|d| d.as_str().to_owned()),
            initial_layout_class_list: options.layout_classes.joined(),
            scope: "session.connect".to_owned(),
        }
    }

    /// Signs the claims with HS256 and the project secret.
    pub fn sign_hs256(&self, secret: &[u8]) -> Result<ClientToken, DialError> {
        let token = sign_hs256(self, secret)?;
        Ok(ClientToken::new(token, self.exp))
    }
}

/// Signs any claims as an HS256 JWT with the header `{"alg":"HS256","typ":"JWT"}`.
pub fn sign_hs256<C: Serialize>(claims: &C, secret: &[u8]) -> Result<String, DialError> {
    ensure_crypto_provider();
    let header = serde_json::to_vec(&Hs256Header {
        alg: "HS256",
        typ: "JWT",
    })
    .map_err(config_err)?;
    let claims = serde_json::to_vec(claims).map_err(config_err)?;
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .map_err(config_err)?;
    Ok(format!("{message}.{signature}"))
}

fn config_err(e: impl std::fmt::Display) -> DialError {
    DialError::Config {
        message: format!("could not sign a JWT: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"1234567890abcdef1234567890abcdef1234567890";

    /// docs/platform-api.md §9.5: the signature segment of a client JWT.
    #[test]
    fn client_token_matches_vector() {
        let sid =
            SessionId::new("1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4")
                .unwrap();
        let options = TokenOptions {
            expiry: Some(
                crate::TokenExpiry::at_from(
                    1_700_086_400,
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
                )
                .unwrap(),
            ),
            ..TokenOptions::default()
        };
        let claims = ClientTokenClaims::new("123456", &sid, &options, 1_700_000_000, 0.5);
        let token = claims.sign_hs256(SECRET).unwrap();
        let sig = token.expose_secret().rsplit('.').next().unwrap();
        assert_eq!(sig, "gZ7sFfqW-FKimDd_rlEb6iBEix9h6RL5yROvljYBBN8");
        assert_eq!(token.expires_at(), 1_700_086_400);
    }

    /// docs/platform-api.md §9.4: the REST JWT in the layout sipdial sends.
    #[test]
    fn rest_jwt_matches_vector() {
        #[derive(Serialize)]
        struct Rest<'a> {
            iss: &'a str,
            ist: &'a str,
            iat: u64,
            exp: u64,
            jti: &'a str,
        }
        let jwt = sign_hs256(
            &Rest {
                iss: "123456",
                ist: "project",
                iat: 1_700_000_000,
                exp: 1_700_000_300,
                jti: "00000000-0000-4000-8000-000000000000",
            },
            SECRET,
        )
        .unwrap();
        assert_eq!(
            jwt,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxMjM0NTYiLCJpc3QiOiJwcm9qZWN0IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDAsImp0aSI6IjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMCJ9.4IY4SUvzRfMM40ffXUqi9WbI6YXHr001jNJ028WLdFA"
        );
    }

    #[test]
    fn connection_data_and_layout_are_carried() {
        let sid = SessionId::new("1_abc").unwrap();
        let options = TokenOptions {
            role: crate::Role::Moderator,
            data: Some(crate::ConnectionData::new("sip=true").unwrap()),
            layout_classes: crate::LayoutClasses::new(vec!["a".into(), "b".into()]).unwrap(),
            ..TokenOptions::default()
        };
        let c = ClientTokenClaims::new("k", &sid, &options, 100, 0.1);
        assert_eq!(c.role, "moderator");
        assert_eq!(c.connection_data.as_deref(), Some("sip=true"));
        assert_eq!(c.initial_layout_class_list, "a b");
        assert_eq!(c.exp, 100 + 86_400);
    }
}
