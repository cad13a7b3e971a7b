//! A SIP password is a `SecretString`: no `Display` either.

use sipdial_core::SipAuth;

fn main() {
    let auth = SipAuth::new("alice", "hunter2");
    let _line = format!("{}", auth.password());
}
