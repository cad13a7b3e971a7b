#![doc = include_str!("../README.md")]
//!
//! # What this crate adds
//!
//! Only translation: Actix-web 4 speaks `http` 0.2 and a single-threaded payload, the
//! core speaks `http` 1.x. Each request under the prefix is converted by value (method,
//! URI, version, headers), its body is read up to the core's limit, and the one core
//! handler [`SipDialApi::handle`] answers; its status, headers and body are converted
//! back. The route table, validation, policy and error mapping stay in the core, so an
//! Actix app answers exactly what every other form answers (the shared conformance suite
//! checks it).

mod body;
mod convert;
mod error;
mod scope;

pub use error::ApiErrorResponse;
pub use scope::{configure, scope};

/// The core API, re-exported so hosts need not depend on `sipdial-core` for the common
/// case.
pub use sipdial_core::SipDialApi;

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
