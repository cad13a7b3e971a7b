//! Errors of the dialer contract.
//!
//! Two layers: [`ValidationError`] is what a validated newtype says when it refuses a
//! value at construction; [`DialError`] is what every [`crate::SipDialer`] operation
//! returns. Both are written so that a message can be shown to a caller as is: they
//! never echo a secret and never echo the raw offending input (which might carry a
//! CR/LF injection attempt into a log line).

use std::borrow::Cow;
use std::time::Duration;

/// A value refused by a validated newtype.
///
/// `what` names the type or field (`"SIP URI"`, `"session id"`), `reason` says which rule
/// was broken. The rejected input itself is deliberately not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct ValidationError {
    what: &'static str,
    reason: Cow<'static, str>,
}

impl ValidationError {
    /// Builds an error for the value kind `what` broken by `reason`.
    pub fn new(what: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            what,
            reason: reason.into(),
        }
    }

    /// The kind of value that was refused (e.g. `"SIP URI"`).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The rule that was broken.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The error of every [`crate::SipDialer`] operation.
///
/// The variants separate *who* has to act: the caller (invalid input, not found,
/// conflict), the host's operator (rejected credentials, configuration), or nobody but
/// time (rate limited, timeout, upstream, transport). The HTTP API maps each one to a
/// status; see `docs/http-api.md`.
///
/// `#[non_exhaustive]` because dialers for other platforms will need more cases; match
/// with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The request was malformed or a value broke the platform's rules.
    #[error("invalid input{}: {message}", field.as_ref().map(|f| format!(" in `{f}`")).unwrap_or_default())]
    InvalidInput {
        /// The offending field, when known.
        field: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A session, connection, stream or call does not exist (or no longer does).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`"session"`, `"connection"`, ...).
        what: String,
    },
    /// The platform refused because of the resource's state, e.g. dialing into a
    /// relayed (not routed) session.
    #[error("conflict: {message}")]
    Conflict {
        /// Why the platform refused.
        message: String,
    },
    /// The platform rejected the host's own credentials (HTTP 401/403 upstream).
    #[error("the platform rejected the configured credentials")]
    RejectedCredentials,
    /// Too many requests; retry after the given delay when the platform said one.
    #[error("rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The platform's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// The platform answered with an unexpected status (5xx and the like).
    #[error("platform error (HTTP {status}{}){}", code.map(|c| format!(", code {c}")).unwrap_or_default(), message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Upstream {
        /// The HTTP status the platform answered with.
        status: u16,
        /// The platform's own error code, from its `{code, message}` body.
        code: Option<i64>,
        /// The platform's message, from its `{code, message}` body.
        message: Option<String>,
    },
    /// The platform did not answer within the configured timeout.
    #[error("the platform did not answer in time")]
    Timeout,
    /// The platform could not be reached or the connection broke.
    #[error("transport error: {message}")]
    Transport {
        /// What went wrong, without URLs carrying credentials.
        message: String,
    },
    /// The dialer itself is misconfigured (missing key, unreadable private key, ...).
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong with the configuration.
        message: String,
    },
}

impl DialError {
    /// An [`DialError::InvalidInput`] for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A [`DialError::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Whether a retry of the same request can succeed without anyone changing anything.
    ///
    /// Only meaningful for idempotent operations: the HTTP API never retries a dial.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Timeout | Self::Transport { .. }
        ) || matches!(self, Self::Upstream { status, .. } if *status >= 500)
    }
}

impl From<ValidationError> for DialError {
    fn from(e: ValidationError) -> Self {
        Self::InvalidInput {
            field: None,
            message: e.to_string(),
        }
    }
}
