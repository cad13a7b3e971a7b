//! What the host configured, validated: the named SIP targets and the URIs callers may
//! dial (`targets`, `allow_list`), who may do what (`authorizer`; host-signed grants in `grant`; who a request acts
//! for in `principal`), the call policies
//! (`calls`: ring timeout, maximum duration, expiry) and the status webhook settings
//! (`webhook`), with the typed error of a bad setting (`config_error`). Plain values
//! and pure checks: no I/O, no backend, no engine.

pub(crate) mod allow_list;
pub(crate) mod authorizer;
pub(crate) mod calls;
pub(crate) mod config_error;
#[cfg(feature = "jwt")]
pub(crate) mod grant;
pub(crate) mod principal;
pub(crate) mod targets;
pub(crate) mod webhook;
