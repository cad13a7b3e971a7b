//! What a client token grants: role, connection data, layout classes and expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ValidationError;
use crate::macros::validated_string;

/// Longest connection data the platform accepts (the docs say 1000; SDKs disagree,
/// docs/platform-api.md §3a follows the strictest).
pub const MAX_CONNECTION_DATA_LEN: usize = 1000;
/// Longest space-joined layout class list.
pub const MAX_LAYOUT_CLASSES_LEN: usize = 1000;
/// Longest lifetime of a client token.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Lifetime of a client token when none is asked for.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// What a connection may do in a session.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Subscribe only.
    Subscriber,
    /// Publish and subscribe (the platform's default).
    #[default]
    Publisher,
    /// Publish only.
    #[serde(rename = "publisheronly")]
    PublisherOnly,
    /// Publish, subscribe, and force others to disconnect or mute.
    Moderator,
}

impl Role {
    /// The platform's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Subscriber => "subscriber",
            Role::Publisher => "publisher",
            Role::PublisherOnly => "publisheronly",
            Role::Moderator => "moderator",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "subscriber" => Ok(Role::Subscriber),
            "publisher" => Ok(Role::Publisher),
            "publisheronly" => Ok(Role::PublisherOnly),
            "moderator" => Ok(Role::Moderator),
            _ => Err(ValidationError::new(
                "role",
                "must be one of publisher, subscriber, moderator, publisheronly",
            )),
        }
    }
}

fn check_connection_data(value: &str) -> Result<(), ValidationError> {
    if value.chars().count() > MAX_CONNECTION_DATA_LEN {
        return Err(ValidationError::new(
            "connection data",
            format!("must be at most {MAX_CONNECTION_DATA_LEN} characters"),
        ));
    }
    Ok(())
}

validated_string!(
    /// Free-form data attached to a connection, seen by every other client
    /// (at most 1000 characters). The SIP leg carries `sip=true` here.
    ConnectionData,
    check_connection_data
);

/// Initial layout classes of the streams a connection publishes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct LayoutClasses(Vec<String>);

impl LayoutClasses {
    /// Validates each class (non-empty, no whitespace or control characters) and the
    /// joined length.
    pub fn new(classes: Vec<String>) -> Result<Self, ValidationError> {
        for c in &classes {
            if c.is_empty() || c.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
                return Err(ValidationError::new(
                    "layout class",
                    "must be non-empty without whitespace or control characters",
                ));
            }
        }
        let joined: usize = classes.iter().map(|c| c.chars().count()).sum::<usize>()
            + classes.len().saturating_sub(1);
        if joined > MAX_LAYOUT_CLASSES_LEN {
            return Err(ValidationError::new(
                "layout class list",
                format!("must be at most {MAX_LAYOUT_CLASSES_LEN} characters joined"),
            ));
        }
        Ok(Self(classes))
    }

    /// The classes joined by spaces, as the token claims carry them.
    pub fn joined(&self) -> String {
        self.0.join(" ")
    }

    /// The classes.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl TryFrom<Vec<String>> for LayoutClasses {
    type Error = ValidationError;
    fn try_from(v: Vec<String>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<LayoutClasses> for Vec<String> {
    fn from(l: LayoutClasses) -> Self {
        l.0
    }
}

/// When a client token expires: in the future, and at most 30 days ahead.
///
/// Held as whole seconds since the Unix epoch, as the token claims carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenExpiry(u64);

impl TokenExpiry {
    /// Expires `ttl` from now.
    pub fn after(ttl: Duration) -> Result<Self, ValidationError> {
        Self::after_from(ttl, SystemTime::now())
    }

    /// Expires `ttl` after `now` (for deterministic tests).
    pub fn after_from(ttl: Duration, now: SystemTime) -> Result<Self, ValidationError> {
        let now_s = unix_secs(now);
        Self::at_from(now_s.saturating_add(ttl.as_secs()), now)
    }

    /// Expires at `unix_secs`, checked against the current time.
    pub fn at(unix_secs: u64) -> Result<Self, ValidationError> {
        Self::at_from(unix_secs, SystemTime::now())
    }

    /// Expires at `unix_secs`, checked against `now`.
    pub fn at_from(unix_secs: u64, now: SystemTime) -> Result<Self, ValidationError> {
        let now_s = unix_secs_of(now);
        if unix_secs <= now_s {
            return Err(ValidationError::new(
                "token expiry",
                "must be in the future",
            ));
        }
        if unix_secs - now_s > MAX_TOKEN_TTL.as_secs() {
            return Err(ValidationError::new(
                "token expiry",
                "must be at most 30 days ahead",
            ));
        }
        Ok(Self(unix_secs))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(self) -> u64 {
        self.0
    }
}

fn unix_secs_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

use unix_secs_of as unix_secs;
