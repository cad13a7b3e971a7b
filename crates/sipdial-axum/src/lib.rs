#![doc = include_str!("../README.md")]
//!
//! # What this crate adds
//!
//! Nothing but routing glue: every request under the prefix goes to
//! [`sipdial_core::SipDialService`], with the host's mount path (what `Router::nest`
//! stripped) attached; the route table, validation, policy and error mapping stay in
//! the core, so an Axum app answers exactly what every other form answers (the shared
//! conformance suite checks it).

mod error;
mod mount;
mod router;

pub use error::ApiErrorResponse;
pub use router::{SipDial, layer, router};

/// The core API, re-exported so hosts need not depend on `sipdial-core` for the common
/// case.
pub use sipdial_core::{SipDialApi, SipDialLayer, SipDialService};
