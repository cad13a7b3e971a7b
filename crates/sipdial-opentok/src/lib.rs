//! The production [`SipDialer`](sipdial_core::SipDialer) of sipdial: places SIP calls into
//! Vonage Video (OpenTok) sessions through the platform's REST API, sending exactly what
//! the official SDKs send.
//!
//! ```no_run
//! use sipdial_opentok::{Credentials, OpenTokDialer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A classic project (API key + secret) ...
//! let dialer = OpenTokDialer::builder(Credentials::project("123456", "secret")).build()?;
//! // ... or a Vonage application (id + RSA private key), or the environment:
//! let dialer = OpenTokDialer::from_env()?;
//! # let _ = dialer; Ok(()) }
//! ```
//!
//! Every REST call carries a fresh JWT (iat back-dated 60 s for clock skew, exp 5 min
//! ahead, random `jti`), runs in a `tracing` span named `opentok.request` and maps the
//! platform's answer to a [`DialError`](sipdial_core::DialError). Hang-ups, force-mutes
//! and stream lists are retried after transient failures, dials never (see [`retry`]).
//! See `docs/opentok.md` and `docs/reliability.md`.

mod clock;
mod config_error;
mod credentials;
mod dialer;
pub mod env;
pub mod legacy;
pub mod retry;
mod status;
mod tokens;
mod transport;
mod wire;

pub use config_error::ConfigError;
pub use credentials::{
    CredentialKind, Credentials, OPENTOK_API_URL, REST_JWT_BACKDATE_SECS, REST_JWT_TTL_SECS,
    RestClaims, VONAGE_API_URL,
};
pub use dialer::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, OpenTokDialer, OpenTokDialerBuilder, TokenFormat,
    default_user_agent,
};
pub use retry::RetryPolicy;
pub use tokens::ApplicationTokenClaims;
