//! Why a dialer could not be configured.
//!
//! Configuration mistakes are the host operator's to fix, so every message names the
//! exact setting or environment variable at fault, and none of them echoes a value:
//! the value might be the secret or the private key that was pasted into the wrong place.

use sipdial_core::DialError;

/// A dialer configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is not set (or is empty).
    #[error("environment variable {name} is not set{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    MissingVariable {
        /// The variable's name.
        name: &'static str,
        /// What it is needed for, when that helps.
        hint: Option<&'static str>,
    },
    /// An environment variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    InvalidVariable {
        /// The variable's name.
        name: &'static str,
        /// What is wrong with it (never the value itself).
        reason: String,
    },
    /// Environment variables that exclude each other are both set.
    #[error("environment variables {first} and {second} cannot both be set: {reason}")]
    ConflictingVariables {
        /// One of them.
        first: &'static str,
        /// The other.
        second: &'static str,
        /// Which one to keep.
        reason: &'static str,
    },
    /// A credential given in code is unusable.
    #[error("invalid {what}: {reason}")]
    InvalidCredential {
        /// Which part (`API key`, `API secret`, `application id`, `private key`).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The private key file could not be read.
    #[error("could not read the private key file {path}: {reason}")]
    PrivateKeyFile {
        /// The file's path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The base URL is unusable.
    #[error("invalid base URL: {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// Another setting is unusable.
    #[error("invalid setting {setting}: {reason}")]
    InvalidSetting {
        /// The builder method or setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {reason}")]
    HttpClient {
        /// Why.
        reason: String,
    },
}

impl From<ConfigError> for DialError {
    fn from(e: ConfigError) -> Self {
        DialError::Config {
            message: e.to_string(),
        }
    }
}
