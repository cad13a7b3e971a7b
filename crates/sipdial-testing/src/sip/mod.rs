//! The platform's SIP gateway, emulated on rsipstack: with SIP on
//! ([`crate::FakePlatformBuilder::sip`]) every accepted dial places a real SIP call to
//! the dialed URI, and the call's callbacks follow what the far end answers.
//!
//! What is emulated and what is not (TLS, SRTP, RFC 4733 DTMF) is in
//! docs/sip-emulation.md. [`endpoint`] is a small answering endpoint for demos and
//! tests.

mod call;
mod digest;
pub mod endpoint;
mod gateway;
mod sdp;
mod stack;
mod target;

use std::net::SocketAddr;
use std::time::Duration;

pub(crate) use gateway::SipGateway;

/// How the emulated SIP gateway places calls.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SipConfig {
    /// The address the gateway's SIP socket binds, UDP and TCP on the same port
    /// (default `127.0.0.1:0`, an ephemeral port).
    pub bind: SocketAddr,
    /// Sends every INVITE to this address instead of the dialed URI's host and port
    /// (the transport still comes from the URI), for URIs whose host is not local.
    pub route: Option<SocketAddr>,
    /// The `From` URI when the dial has no `sip.from`.
    pub default_from: String,
    /// How long a call may go unanswered before the gateway cancels it.
    pub ring_timeout: Duration,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            route: None,
            default_from: "sip:sipdial-fake-platform@127.0.0.1".to_owned(),
            ring_timeout: Duration::from_secs(60),
        }
    }
}

impl SipConfig {
    /// The defaults: loopback, no route, 60 s to answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds the gateway's SIP socket here.
    #[must_use]
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Sends every INVITE to `addr`.
    #[must_use]
    pub fn route(mut self, addr: SocketAddr) -> Self {
        self.route = Some(addr);
        self
    }

    /// The `From` of dials that give none.
    #[must_use]
    pub fn default_from(mut self, uri: impl Into<String>) -> Self {
        self.default_from = uri.into();
        self
    }

    /// Cancels calls not answered within `limit`.
    #[must_use]
    pub fn ring_timeout(mut self, limit: Duration) -> Self {
        self.ring_timeout = limit;
        self
    }
}
