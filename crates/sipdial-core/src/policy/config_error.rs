//! What `build()` refuses, as one typed error: every misconfiguration names what is
//! wrong, so a host fails at start-up with a message it can act on.

use std::time::Duration;

use crate::ValidationError;
use crate::policy::webhook::WebhookConfigError;

/// A configuration `build()` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiConfigError {
    /// Neither an authorizer nor anonymous mode was chosen: an API that places calls
    /// at its owner's cost is not opened to everyone by omission.
    #[error(
        "choose who may use the API: `.authorizer(..)` (e.g. a GrantAuthorizer, or your \
         rules on top of SafeDefaults), or `.anonymous()` for a demo on loopback"
    )]
    NoAuthorizer,
    /// The mount prefix is not `/segment[/segment…]` of URL-safe characters.
    #[error("invalid prefix: {0}")]
    Prefix(&'static str),
    /// The body limit is zero.
    #[error("the body limit must be at least 1 byte")]
    BodyLimit,
    /// A target name is empty, too long or has characters outside `[A-Za-z0-9_.-]`.
    #[error("invalid target name `{0}`: 1 to 64 of A-Z a-z 0-9 _ . -")]
    TargetName(String),
    /// Two targets share a name.
    #[error("target `{0}` is configured twice")]
    DuplicateTarget(String),
    /// A target's label is empty, too long or has control characters.
    #[error("invalid label of target `{0}`: 1 to 100 characters without control characters")]
    TargetLabel(String),
    /// A target's URI (given as text to
    /// [`SipTarget::parse`](crate::api::SipTarget::parse)) is invalid.
    #[error("invalid SIP URI of target `{name}`: {source}")]
    TargetUri {
        /// The target.
        name: String,
        /// Why the URI was refused.
        source: ValidationError,
    },
    /// The default target names no configured target.
    #[error("the default target `{0}` is not configured")]
    UnknownDefaultTarget(String),
    /// An allow-list pattern is malformed.
    #[error("invalid allow-list pattern `{pattern}`: {reason}")]
    UriPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An allowed origin is not `http(s)://host[:port]`.
    #[error("invalid allowed origin `{origin}`: {reason}")]
    Origin {
        /// The origin.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A limit is zero.
    #[error("{0} must be at least 1")]
    Limit(&'static str),
    /// The callback signature secret is empty.
    #[error("the callback signature secret must not be empty")]
    CallbackSecret,
    /// A ring timeout, maximum duration or timer setting is zero or above its bound.
    #[error("the {setting} of {scope} must be above zero and at most {max:?}")]
    CallPolicy {
        /// Which setting.
        setting: &'static str,
        /// Where it was set: `target `name``, `the defaults` or `the API`.
        scope: String,
        /// Its upper bound.
        max: Duration,
    },
    /// A header a target lets callers set is not one they may ever set (not a header
    /// name, one the SIP stack owns, one that sets the caller's identity, or a compact
    /// form).
    #[error("target `{target}` cannot let callers set `{header}`: {reason}")]
    TargetCallerHeader {
        /// The target.
        target: String,
        /// The header name as configured.
        header: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A status webhook is misconfigured.
    #[error(transparent)]
    Webhook(#[from] WebhookConfigError),
}
