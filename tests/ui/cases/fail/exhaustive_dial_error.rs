//! `DialError` is `#[non_exhaustive]`: a downstream crate must keep a wildcard arm, so
//! a new variant is not a breaking change.

use sipdial_core::DialError;

fn status(e: &DialError) -> u16 {
    match e {
        DialError::InvalidInput { .. } => 400,
        DialError::NotFound { .. } => 404,
        DialError::Conflict { .. } => 409,
        DialError::RejectedCredentials => 502,
        DialError::RateLimited { .. } => 429,
        DialError::Upstream { .. } => 502,
        DialError::Timeout => 504,
        DialError::Transport { .. } => 502,
        DialError::Config { .. } => 500,
    }
}

fn main() {
    let _ = status(&DialError::Timeout);
}
