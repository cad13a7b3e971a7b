//! The two kinds of credentials the platform accepts, and the short-lived REST JWT each
//! one signs (docs/platform-api.md §1).
//!
//! A classic OpenTok *project* signs HS256 with its API secret and sends the JWT bare in
//! `X-OPENTOK-AUTH`; a Vonage *application* signs RS256 with its private key and sends
//! `Authorization: Bearer`. Mixing the two up is the most common integration mistake
//! (§8.7), so the header is chosen here, next to the key that signs it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Serialize;
use sipdial_core::DialError;

use crate::ConfigError;

/// Base URL of the classic OpenTok REST API.
pub const OPENTOK_API_URL: &str = "https://api.opentok.com";
/// Base URL of the Vonage Video REST API.
pub const VONAGE_API_URL: &str = "https://video.api.vonage.com";

/// How far `iat` is back-dated, so a server whose clock runs behind still accepts the
/// JWT (clock skew is a recurring support issue, docs/platform-api.md §8.5).
pub const REST_JWT_BACKDATE_SECS: u64 = 60;
/// How long after "now" a REST JWT expires; the SDKs use 180–300 s.
pub const REST_JWT_TTL_SECS: u64 = 300;

const X_OPENTOK_AUTH: HeaderName = HeaderName::from_static("x-opentok-auth");

/// Which kind of credentials a [`Credentials`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A classic OpenTok project: API key and API secret.
    Project,
    /// A Vonage application: application id and RSA private key.
    Application,
}

/// The host's platform credentials. Cheap to clone; `Debug` never shows the secret or
/// the key.
#[derive(Clone)]
pub struct Credentials {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Project {
        api_key: String,
        api_secret: SecretString,
    },
    Application {
        application_id: String,
        private_key: Arc<SecretBox<EncodingKey>>,
    },
}

impl Credentials {
    /// A classic OpenTok project. The key and secret are checked when the dialer is
    /// built ([`crate::OpenTokDialerBuilder::build`]).
    pub fn project(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self {
            kind: Kind::Project {
                api_key: api_key.into(),
                api_secret: SecretString::from(api_secret.into()),
            },
        }
    }

    /// A Vonage application from its id (a UUID) and its RSA private key in PEM.
    ///
    /// The key is parsed and test-signed now, so a truncated or wrong key fails at
    /// start-up rather than at the first call. A PEM whose line breaks were flattened to
    /// literal `\n` (as `.env` files often carry it) is accepted.
    pub fn application(
        application_id: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let application_id = application_id.into();
        check_application_id(&application_id).map_err(|reason| ConfigError::InvalidCredential {
            what: "application id",
            reason,
        })?;
        let pem = SecretString::from(private_key_pem.into());
        let private_key = parse_private_key(pem.expose_secret()).map_err(|reason| {
            ConfigError::InvalidCredential {
                what: "private key",
                reason,
            }
        })?;
        Ok(Self {
            kind: Kind::Application {
                application_id,
                private_key: Arc::new(private_key),
            },
        })
    }

    /// A Vonage application whose private key is read from a PEM file.
    pub fn application_from_file(
        application_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let pem = read_key_file(path).map_err(|reason| ConfigError::PrivateKeyFile {
            path: path.display().to_string(),
            reason,
        })?;
        Self::application(application_id, pem.expose_secret())
    }

    /// Which kind of credentials these are.
    pub fn kind(&self) -> CredentialKind {
        match self.kind {
            Kind::Project { .. } => CredentialKind::Project,
            Kind::Application { .. } => CredentialKind::Application,
        }
    }

    /// The API key or application id: public, the `{apiKey}` of every REST path and what
    /// browsers initialise OpenTok.js with.
    pub fn id(&self) -> &str {
        match &self.kind {
            Kind::Project { api_key, .. } => api_key,
            Kind::Application { application_id, .. } => application_id,
        }
    }

    /// The REST base URL these credentials belong to.
    pub fn default_base_url(&self) -> &'static str {
        match self.kind {
            Kind::Project { .. } => OPENTOK_API_URL,
            Kind::Application { .. } => VONAGE_API_URL,
        }
    }

    /// Checks what [`Credentials::project`] could not check without returning a result.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match &self.kind {
            Kind::Project {
                api_key,
                api_secret,
            } => {
                check_api_key(api_key).map_err(|reason| ConfigError::InvalidCredential {
                    what: "API key",
                    reason,
                })?;
                check_api_secret(api_secret.expose_secret()).map_err(|reason| {
                    ConfigError::InvalidCredential {
                        what: "API secret",
                        reason,
                    }
                })
            }
            Kind::Application { .. } => Ok(()),
        }
    }

    /// The API secret, for the tokens a project signs locally.
    pub(crate) fn project_secret(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Project { api_secret, .. } => Some(api_secret.expose_secret().as_bytes()),
            Kind::Application { .. } => None,
        }
    }

    /// The private key, for the tokens an application signs locally.
    pub(crate) fn application_key(&self) -> Option<&EncodingKey> {
        match &self.kind {
            Kind::Project { .. } => None,
            Kind::Application { private_key, .. } => Some(private_key.expose_secret()),
        }
    }

    /// The authentication header of one REST request, with a JWT valid from
    /// `now_secs - 60` to `now_secs + 300` and a fresh random `jti`.
    pub(crate) fn rest_auth_header(
        &self,
        now_secs: u64,
    ) -> Result<(HeaderName, HeaderValue), DialError> {
        let claims = RestClaims::new(self, now_secs, uuid::Uuid::new_v4().to_string());
        let jwt = self.sign_rest_jwt(&claims)?;
        let (name, value) = match self.kind {
            Kind::Project { .. } => (X_OPENTOK_AUTH, jwt),
            Kind::Application { .. } => (AUTHORIZATION, format!("Bearer {jwt}")),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| DialError::Config {
            message: "the REST JWT is not a valid header value".to_owned(),
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }

    /// Signs REST claims with these credentials (HS256 or RS256).
    pub fn sign_rest_jwt(&self, claims: &RestClaims<'_>) -> Result<String, DialError> {
        match &self.kind {
            Kind::Project { api_secret, .. } => {
                sipdial_core::jwt::sign_hs256(claims, api_secret.expose_secret().as_bytes())
            }
            Kind::Application { private_key, .. } => {
                sign_rs256(claims, private_key.expose_secret())
            }
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Project { api_key, .. } => f
                .debug_struct("Credentials::Project")
                .field("api_key", api_key)
                .field("api_secret", &"[REDACTED]")
                .finish(),
            Kind::Application { application_id, .. } => f
                .debug_struct("Credentials::Application")
                .field("application_id", application_id)
                .field("private_key", &"[REDACTED]")
                .finish(),
        }
    }
}

/// The claims of a REST JWT, in the order the official SDKs write them.
///
/// `application_id` is present only for Vonage applications (as opentok-node sends it
/// when it talks to Vonage).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestClaims<'a> {
    /// The API key or application id.
    pub iss: &'a str,
    /// Always `project`: project-level methods.
    pub ist: &'a str,
    /// Issued at, seconds.
    pub iat: u64,
    /// Expires, seconds.
    pub exp: u64,
    /// A random id (UUID v4) so that no two requests carry the same JWT.
    pub jti: String,
    /// The application id, for Vonage applications only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<&'a str>,
}

impl<'a> RestClaims<'a> {
    /// The claims `credentials` send at `now_secs` with `jti`.
    pub fn new(credentials: &'a Credentials, now_secs: u64, jti: String) -> Self {
        let application_id = match &credentials.kind {
            Kind::Project { .. } => None,
            Kind::Application { application_id, .. } => Some(application_id.as_str()),
        };
        Self {
            iss: credentials.id(),
            ist: "project",
            iat: now_secs.saturating_sub(REST_JWT_BACKDATE_SECS),
            exp: now_secs.saturating_add(REST_JWT_TTL_SECS),
            jti,
            application_id,
        }
    }
}

/// Signs claims as an RS256 JWT with the header `{"typ":"JWT","alg":"RS256"}`.
pub(crate) fn sign_rs256<C: Serialize>(claims: &C, key: &EncodingKey) -> Result<String, DialError> {
    sipdial_core::jwt::ensure_crypto_provider();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, key).map_err(|e| {
        DialError::Config {
            message: format!("could not sign an RS256 JWT: {e}"),
        }
    })
}

fn check_api_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if key.len() > 64
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("must be at most 64 ASCII letters, digits, '-' or '_'".to_owned());
    }
    Ok(())
}

fn check_api_secret(secret: &str) -> Result<(), String> {
    if secret.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if secret.contains("-----BEGIN") {
        return Err(
            "looks like a PEM private key: use Credentials::application for Vonage applications"
                .to_owned(),
        );
    }
    Ok(())
}

fn check_application_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if id.len() != 36 || uuid::Uuid::try_parse(id).is_err() {
        return Err(
            "must be a UUID like 5f2b1c3e-0c8a-4c5e-9a52-3b8e1d2f4a6b (the Vonage application id)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Parses and test-signs a PEM private key. Errors never carry key material.
fn parse_private_key(pem: &str) -> Result<SecretBox<EncodingKey>, String> {
    let unescaped;
    let mut pem = pem.trim();
    if !pem.contains('\n') && pem.contains("\\n") {
        unescaped = SecretString::from(pem.replace("\\n", "\n"));
        pem = unescaped.expose_secret();
    }
    if !pem.starts_with("-----BEGIN") {
        return Err("must be a PEM block starting with -----BEGIN PRIVATE KEY-----".to_owned());
    }
    if pem.contains("ENCRYPTED") {
        return Err("encrypted private keys are not supported; decrypt it first".to_owned());
    }
    let key = EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| format!("not an RSA private key in PEM ({})", e.kind_name()))?;
    // `from_rsa_pem` only unwraps the PEM; the DER is parsed at the first signature.
    sipdial_core::jwt::ensure_crypto_provider();
    jsonwebtoken::crypto::sign(b"sipdial key check", &key, Algorithm::RS256)
        .map_err(|e| format!("the RSA key cannot sign ({})", e.kind_name()))?;
    Ok(SecretBox::new(Box::new(key)))
}

/// Reads a key file into a secret; the error is the I/O reason only.
pub(crate) fn read_key_file(path: &Path) -> Result<SecretString, String> {
    std::fs::read_to_string(path)
        .map(SecretString::from)
        .map_err(|e| e.kind().to_string())
}

/// A short name for a jsonwebtoken error kind that cannot carry key bytes.
trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind as K;
        match self.kind() {
            K::InvalidKeyFormat => "invalid key format",
            K::InvalidRsaKey(_) => "invalid RSA key",
            K::InvalidAlgorithm | K::InvalidAlgorithmName => "not an RSA key",
            K::Base64(_) => "invalid base64 in the PEM body",
            _ => "unreadable key",
        }
    }
}
