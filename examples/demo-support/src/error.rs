//! The one error type of start-up configuration.
//!
//! Every variant names the environment variable to fix, and none carries the variable's
//! value: `SIP_PASSWORD` or a password inside `SIP_TARGETS` must never reach a terminal
//! or a log collector because someone mistyped a neighbouring field.

/// A configuration the demo refuses to start with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable is set to something the demo cannot use.
    #[error("environment variable {var}: {reason}")]
    Invalid {
        /// The variable to fix.
        var: &'static str,
        /// What is wrong with it (never its value).
        reason: String,
    },
    /// The OpenTok/Vonage credential variables are incomplete or malformed.
    #[error("{0}")]
    Credentials(#[source] sipdial_opentok::ConfigError),
    /// The dialer could not be built from otherwise valid variables.
    #[error("the Vonage Video dialer could not be configured: {0}")]
    Dialer(#[source] sipdial_opentok::ConfigError),
    /// The HTTP API refused the targets and limits built from the variables.
    #[error("the SIP API configuration was refused: {0}")]
    Api(#[source] sipdial_core::api::ApiConfigError),
}

impl ConfigError {
    pub(crate) fn invalid(var: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            var,
            reason: reason.into(),
        }
    }

    /// The variable named by an [`ConfigError::Invalid`] error.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { var, .. } => Some(var),
            _ => None,
        }
    }
}
