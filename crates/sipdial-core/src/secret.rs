//! Values that must never be printed: client tokens and SIP digest credentials.
//!
//! They wrap [`secrecy::SecretString`], which has no `Display` or `Serialize`, so the
//! only way to the plain value is an explicit `expose_secret()` at the one place that
//! must send it (the wire DTO, the HTTP response that hands a token to its page).

use secrecy::{ExposeSecret, SecretString};

/// A client token that lets a browser (or the SIP leg) connect to one session.
#[derive(Clone)]
pub struct ClientToken {
    value: SecretString,
    expires_at: u64,
}

impl ClientToken {
    /// Wraps a token that expires at `expires_at` (seconds since the Unix epoch).
    pub fn new(value: impl Into<String>, expires_at: u64) -> Self {
        Self {
            value: SecretString::from(value.into()),
            expires_at,
        }
    }

    /// The token itself. Call only where it is handed to its one legitimate receiver.
    pub fn expose_secret(&self) -> &str {
        self.value.expose_secret()
    }

    /// When the token expires, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientToken")
            .field("value", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Digest credentials the platform answers the callee's 401/407 challenge with.
#[derive(Clone)]
pub struct SipAuth {
    /// The digest username (not secret: it shows in SIP traces anyway).
    pub username: String,
    password: SecretString,
}

impl SipAuth {
    /// Credentials for `username` with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// The password. Call only where it is written into the platform's dial body.
    pub fn expose_password(&self) -> &str {
        self.password.expose_secret()
    }

    /// The password as a secret, for holders that keep it.
    pub fn password(&self) -> &SecretString {
        &self.password
    }
}

impl std::fmt::Debug for SipAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipAuth")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

impl PartialEq for SipAuth {
    fn eq(&self, other: &Self) -> bool {
        self.username == other.username && self.expose_password() == other.expose_password()
    }
}
