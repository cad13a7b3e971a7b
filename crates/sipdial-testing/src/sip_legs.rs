//! What the REST routes ask of the SIP side when SIP is on: place a dial's call, hang it
//! up, send it DTMF. A trait, so the routes do not depend on the `sip` feature.

use std::collections::BTreeMap;

/// One dial to place, with what the REST route validated. The password lives only
/// here and in rsipstack's credential until the call ends.
// Read by the gateway, which only exists with the `sip` feature.
#[cfg_attr(not(feature = "sip"), allow(dead_code))]
pub(crate) struct Dial {
    pub(crate) call_id: String,
    pub(crate) uri: String,
    pub(crate) from: Option<String>,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) auth: Option<(String, String)>,
}

impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dial")
            .field("call_id", &self.call_id)
            .field("uri", &self.uri)
            .field("auth_username", &self.auth.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

/// The SIP side of the fake platform (the emulated gateway).
pub(crate) trait SipLegs: Send + Sync + std::fmt::Debug {
    /// Places the call for an accepted dial; its progress reaches the callbacks.
    fn place(&self, dial: Dial);
    /// Our side hangs up the call (CANCEL before the answer, BYE after); false when
    /// there is no such call.
    fn hang_up(&self, call_id: &str) -> bool;
    /// Sends `digits` to the far end of the call; false when there is no such call.
    fn dtmf(&self, call_id: &str, digits: &str) -> bool;
}
