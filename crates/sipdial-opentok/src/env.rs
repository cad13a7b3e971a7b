//! Configuration from environment variables, read through a lookup function so that it
//! can be tested without mutating the process environment.
//!
//! This is the only module that reads the environment: the `from_env` constructors of
//! [`Credentials`], [`OpenTokDialer`] and [`OpenTokDialerBuilder`] live here, so the
//! credential and dialer modules stay free of configuration sources.

use std::path::Path;

use secrecy::ExposeSecret;

use crate::credentials::read_key_file;
use crate::dialer::check_base_url;
use crate::{ConfigError, Credentials, OpenTokDialer, OpenTokDialerBuilder};

/// The classic project's API key.
pub const OPENTOK_API_KEY: &str = "OPENTOK_API_KEY";
/// The classic project's API secret.
pub const OPENTOK_API_SECRET: &str = "OPENTOK_API_SECRET";
/// The Vonage application id.
pub const VONAGE_APPLICATION_ID: &str = "VONAGE_APPLICATION_ID";
/// The Vonage application's private key, as PEM text.
pub const VONAGE_PRIVATE_KEY: &str = "VONAGE_PRIVATE_KEY";
/// The path of a file holding the Vonage application's private key.
pub const VONAGE_PRIVATE_KEY_PATH: &str = "VONAGE_PRIVATE_KEY_PATH";
/// Overrides the REST base URL (a proxy, a test double such as `FakePlatform`).
pub const OPENTOK_API_URL: &str = "OPENTOK_API_URL";

/// The process environment as a lookup function.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Credentials {
    /// Reads credentials from the process environment; see [`Credentials::from_env_with`].
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_env_with(process_env)
    }

    /// Reads credentials through `lookup` (a variable name to its value), so that tests
    /// and hosts with their own configuration source need not touch the process
    /// environment.
    ///
    /// Either `OPENTOK_API_KEY` + `OPENTOK_API_SECRET`, or `VONAGE_APPLICATION_ID` plus
    /// one of `VONAGE_PRIVATE_KEY` (the PEM itself) / `VONAGE_PRIVATE_KEY_PATH`. Empty
    /// values count as unset. `Ok(None)` when none of these is set (demo mode); an
    /// error names the variable that is missing, malformed or conflicting.
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        credentials(&lookup)
    }
}

impl OpenTokDialer {
    /// A dialer configured from the process environment; see
    /// [`OpenTokDialerBuilder::from_env_with`].
    pub fn from_env() -> Result<Self, ConfigError> {
        OpenTokDialerBuilder::from_env_with(process_env)?.build()
    }
}

impl OpenTokDialerBuilder {
    /// A builder from environment variables read through `lookup`: the credentials of
    /// [`Credentials::from_env_with`] (required here) and `OPENTOK_API_URL`.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let credentials =
            Credentials::from_env_with(&lookup)?.ok_or(ConfigError::MissingVariable {
                name: OPENTOK_API_KEY,
                hint: Some(
                    "set OPENTOK_API_KEY and OPENTOK_API_SECRET, or VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_PRIVATE_KEY_PATH)",
                ),
            })?;
        let mut builder = OpenTokDialer::builder(credentials);
        if let Some(url) = get(&lookup, OPENTOK_API_URL) {
            check_base_url(&url).map_err(|reason| ConfigError::InvalidVariable {
                name: OPENTOK_API_URL,
                reason,
            })?;
            builder = builder.base_url(url);
        }
        Ok(builder)
    }
}

/// A variable's value, with empty (or all-blank) values counting as unset: `.env`
/// templates routinely leave `OPENTOK_API_SECRET=` in place.
fn get(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn credentials(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, ConfigError> {
    let api_key = get(lookup, OPENTOK_API_KEY);
    let api_secret = get(lookup, OPENTOK_API_SECRET);
    let app_id = get(lookup, VONAGE_APPLICATION_ID);
    let key = get(lookup, VONAGE_PRIVATE_KEY);
    let key_path = get(lookup, VONAGE_PRIVATE_KEY_PATH);

    let project_var = if api_key.is_some() {
        Some(OPENTOK_API_KEY)
    } else if api_secret.is_some() {
        Some(OPENTOK_API_SECRET)
    } else {
        None
    };
    let app_var = if app_id.is_some() {
        Some(VONAGE_APPLICATION_ID)
    } else if key.is_some() {
        Some(VONAGE_PRIVATE_KEY)
    } else if key_path.is_some() {
        Some(VONAGE_PRIVATE_KEY_PATH)
    } else {
        None
    };

    match (project_var, app_var) {
        (None, None) => Ok(None),
        (Some(first), Some(second)) => Err(ConfigError::ConflictingVariables {
            first,
            second,
            reason: "configure either a project (OPENTOK_API_KEY, OPENTOK_API_SECRET) or a Vonage application (VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH)",
        }),
        (Some(_), None) => project(api_key, api_secret).map(Some),
        (None, Some(_)) => application(app_id, key, key_path).map(Some),
    }
}

fn project(
    api_key: Option<String>,
    api_secret: Option<String>,
) -> Result<Credentials, ConfigError> {
    let api_key = api_key.ok_or(ConfigError::MissingVariable {
        name: OPENTOK_API_KEY,
        hint: Some("required with OPENTOK_API_SECRET"),
    })?;
    let api_secret = api_secret.ok_or(ConfigError::MissingVariable {
        name: OPENTOK_API_SECRET,
        hint: Some("required with OPENTOK_API_KEY"),
    })?;
    let credentials = Credentials::project(api_key, api_secret);
    credentials.validate().map_err(|e| match e {
        ConfigError::InvalidCredential { what, reason } => ConfigError::InvalidVariable {
            name: if what == "API key" {
                OPENTOK_API_KEY
            } else {
                OPENTOK_API_SECRET
            },
            reason,
        },
        other => other,
    })?;
    Ok(credentials)
}

fn application(
    app_id: Option<String>,
    key: Option<String>,
    key_path: Option<String>,
) -> Result<Credentials, ConfigError> {
    let app_id = app_id.ok_or(ConfigError::MissingVariable {
        name: VONAGE_APPLICATION_ID,
        hint: Some("required with VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH"),
    })?;
    let (pem, key_var) = match (key, key_path) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::ConflictingVariables {
                first: VONAGE_PRIVATE_KEY,
                second: VONAGE_PRIVATE_KEY_PATH,
                reason: "give the private key either inline or as a file path",
            });
        }
        (None, None) => {
            return Err(ConfigError::MissingVariable {
                name: VONAGE_PRIVATE_KEY,
                hint: Some("or VONAGE_PRIVATE_KEY_PATH, required with VONAGE_APPLICATION_ID"),
            });
        }
        (Some(pem), None) => (secrecy::SecretString::from(pem), VONAGE_PRIVATE_KEY),
        (None, Some(path)) => {
            let pem =
                read_key_file(Path::new(&path)).map_err(|reason| ConfigError::InvalidVariable {
                    name: VONAGE_PRIVATE_KEY_PATH,
                    reason: format!("cannot read {path}: {reason}"),
                })?;
            (pem, VONAGE_PRIVATE_KEY_PATH)
        }
    };
    Credentials::application(app_id, pem.expose_secret()).map_err(|e| match e {
        ConfigError::InvalidCredential { what, reason } => ConfigError::InvalidVariable {
            name: if what == "application id" {
                VONAGE_APPLICATION_ID
            } else {
                key_var
            },
            reason,
        },
        other => other,
    })
}
