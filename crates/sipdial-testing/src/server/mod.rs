//! The fake platform: its builder, its handle (inspection, call control) and the HTTP
//! server that records every request, applies scripted faults, checks auth and hands
//! the request to its route.

mod builder;
mod call_control;
mod http;
mod platform;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub use builder::FakePlatformBuilder;
pub use platform::FakePlatform;

use crate::callbacks::Lifecycle;
use crate::credentials::Credentials;
use crate::faults::FaultRule;
use crate::recorded::RecordedRequest;
use crate::state::Store;

/// State shared by the server tasks and the [`FakePlatform`] handle.
pub(crate) struct Inner {
    pub(crate) creds: Credentials,
    pub(crate) store: Arc<Mutex<Store>>,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) faults: Mutex<Vec<FaultRule>>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    /// The emulated SIP gateway, when SIP is on.
    pub(crate) sip: Option<Box<dyn crate::sip_legs::SipLegs>>,
    pub(crate) sip_addr: Option<SocketAddr>,
}
