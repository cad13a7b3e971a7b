#![doc = include_str!("../README.md")]

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
#[cfg(feature = "webhooks-http")]
pub mod webhooks;
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
