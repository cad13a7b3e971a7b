//! A REST call as the transport sees it: which operation, method, path and body, what a
//! 404 means and which secrets an error message must not echo.

use std::fmt;

use reqwest::Method;
use serde::Serialize;
use sipdial_core::DialError;

/// An operation's name, as it appears in tracing spans and error context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    CreateSession,
    Dial,
    HangUp,
    PlayDtmf,
    ForceMute,
    ListStreams,
    ListConnections,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::CreateSession => "create_session",
            Operation::Dial => "dial",
            Operation::HangUp => "hang_up",
            Operation::PlayDtmf => "play_dtmf",
            Operation::ForceMute => "force_mute",
            Operation::ListStreams => "list_streams",
            Operation::ListConnections => "list_connections",
        }
    }

    /// Whether sending the request twice has the effect of sending it once, so a lost
    /// answer may be retried: hanging up, force-muting and listing. Never a dial (a
    /// second call), a session (a second session) or DTMF (digits played twice).
    pub(crate) fn is_idempotent(self) -> bool {
        match self {
            Operation::HangUp
            | Operation::ForceMute
            | Operation::ListStreams
            | Operation::ListConnections => true,
            Operation::CreateSession | Operation::Dial | Operation::PlayDtmf => false,
        }
    }
}

/// A request body. `Debug` shows only its kind and size: a dial body carries the
/// client token and the SIP password.
pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    Form(String),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(b) => write!(f, "Json({} bytes)", b.len()),
            Body::Form(b) => write!(f, "Form({} bytes)", b.len()),
        }
    }
}

/// One REST call, before authentication and transport.
#[derive(Debug)]
pub(crate) struct Planned<'a> {
    pub(crate) op: Operation,
    pub(crate) method: Method,
    /// Path below the base URL, starting with `/`; ids are validated newtypes and
    /// need no escaping.
    pub(crate) path: String,
    pub(crate) body: Body,
    /// What a 404 means for this operation (`session`, `connection`, ...).
    pub(crate) not_found: &'static str,
    /// Values a platform error message must not echo back into logs (the dial's
    /// token and SIP password).
    pub(crate) scrub: Scrub<'a>,
}

/// The secrets an error message is scrubbed of, borrowed from the request they belong
/// to: only a failed call reads them, so a success pays for no copy of the token (and
/// no zeroing of that copy). `Debug` shows how many, never what.
#[derive(Default)]
pub(crate) struct Scrub<'a>(pub(crate) Vec<&'a str>);

impl fmt::Debug for Scrub<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrub({} values)", self.0.len())
    }
}

pub(super) fn json(value: &impl Serialize) -> Result<Body, DialError> {
    serde_json::to_vec(value)
        .map(Body::Json)
        .map_err(|e| DialError::Config {
            message: format!("could not encode a request body: {e}"),
        })
}

pub(super) fn project_path(project: &str, rest: &str) -> String {
    format!("/v2/project/{project}{rest}")
}
