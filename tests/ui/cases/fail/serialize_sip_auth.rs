//! Digest credentials cannot be serialised by accident either.

use sipdial_core::SipAuth;

#[derive(serde::Serialize)]
struct Leaky {
    auth: SipAuth,
}

fn main() {
    let _ = Leaky { auth: SipAuth::new("alice", "hunter2") };
}
