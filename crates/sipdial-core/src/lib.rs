#![doc = include_str!("../README.md")]

pub mod api;
mod backend;
mod body;
mod call;
mod config;
mod dialer;
mod dtmf;
mod engine;
mod error;
pub mod events;
mod http;
mod idempotency_key;
mod ids;
mod macros;
mod policy;
mod room;
mod secret;
pub mod session_format;
mod shrink;
mod sip;
mod sync;
mod time;
mod token;

#[cfg(feature = "jwt")]
pub mod jwt;

#[cfg(feature = "fake")]
pub mod fake;

#[cfg(feature = "test-suite")]
pub mod testing;

pub use api::{SipDialApi, SipDialApiBuilder};
pub use body::{LayerBody, ResponseBody};
pub use dialer::{
    ArchiveMode, ConnectionInfo, ConnectionState, DialRequest, DtmfTarget, PlatformInfo,
    SessionOptions, SipCall, SipDialer, StreamInfo, TokenOptions,
};
pub use dtmf::{Dtmf, DtmfDigits, MAX_DTMF_LEN};
pub use error::{DialError, ValidationError};
pub use events::{EventSink, PlatformEvent, PlatformEventKind};
pub use http::layer::{LayerFuture, SipDialLayer, SipDialMiddleware};
pub use http::service::{ResponseFuture, SipDialService};
pub use idempotency_key::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_LEN};
pub use ids::{CallId, ConnectionId, MAX_RESOURCE_ID_LEN, MAX_SESSION_ID_LEN, SessionId, StreamId};
pub use room::{MAX_ROOM_LEN, Room};
pub use secret::{ClientToken, SipAuth};
pub use sip::{
    MAX_SIP_FROM_LEN, MAX_SIP_HEADER_VALUE_LEN, MAX_SIP_HEADERS, MAX_SIP_HEADERS_BYTES,
    MAX_SIP_URI_LEN, SipFrom, SipHeaders, SipUri,
};
pub use time::Timestamp;
pub use token::{
    ConnectionData, DEFAULT_TOKEN_TTL, LayoutClasses, MAX_CONNECTION_DATA_LEN,
    MAX_LAYOUT_CLASSES_LEN, MAX_TOKEN_TTL, Role, TokenExpiry,
};

/// Re-exported so that implementors of [`SipDialer`] use the same macro version.
pub use async_trait::async_trait;
