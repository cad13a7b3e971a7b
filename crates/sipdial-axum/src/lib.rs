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

/// Who may do what, re-exported so a host writes its authorizer (or puts its user in
/// the request as a [`Principal`]) without depending on `sipdial-core` itself.
pub use sipdial_core::api::{
    Action, Authorizer, AuthorizerExt, ClientAddr, Decision, Principal, SafeDefaults,
    Unauthenticated,
};
/// The ready-made grant verifier and the builder hosts sign grants with (feature
/// `grants`).
#[cfg(feature = "grants")]
pub use sipdial_core::api::{Grant, GrantAuthorizer, GrantError};
/// The attribute an [`Authorizer`] impl needs.
pub use sipdial_core::async_trait;
