//! Hostile-input, authorization and fuzz-property checks of sipdial's HTTP API.
//!
//! - [`props`]: the properties the fuzz targets in `fuzz/` check, written once here so
//!   that a crashing input found by the fuzzer becomes a plain `cargo test` regression
//!   case calling the same function.
//! - [`fixture`], [`forms`], [`table`], [`check`] (feature `adapters`, on by default):
//!   the API configuration under attack, the Axum router and Actix scope mounted in host
//!   apps through the adapters' public API, the table of bad requests with their
//!   expected answers, and the assertions every row goes through.

pub mod props;

#[cfg(feature = "adapters")]
pub mod check;
#[cfg(feature = "adapters")]
pub mod fixture;
#[cfg(feature = "adapters")]
pub mod forms;
#[cfg(feature = "adapters")]
pub mod table;
