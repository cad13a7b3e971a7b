//! What goes into the SIP INVITE the platform sends: the request URI, the From user and
//! custom headers.
//!
//! These are the values a toll-fraud or header-injection attempt would target, so the
//! rules are strict: no whitespace or control characters anywhere (a CR/LF would start a
//! new SIP header line), no angle brackets or quotes (which would end a name-addr), and
//! bounded sizes.

mod headers;
mod uri;

pub use headers::SipHeaders;
pub(crate) use headers::quoted_name;
pub use uri::{SipFrom, SipUri};

/// Longest SIP URI accepted, in bytes.
pub const MAX_SIP_URI_LEN: usize = 1024;
/// Longest `from` accepted, in bytes.
pub const MAX_SIP_FROM_LEN: usize = 256;
/// Most custom headers on one call.
pub const MAX_SIP_HEADERS: usize = 20;
/// Largest total size of custom header names and values, in bytes.
pub const MAX_SIP_HEADERS_BYTES: usize = 4096;
/// Longest single header value, in bytes.
pub const MAX_SIP_HEADER_VALUE_LEN: usize = 1024;
