//! A client token has no `Display`: it cannot end up in a log line by accident.

use sipdial_core::ClientToken;

fn main() {
    let token = ClientToken::new("eyJhbGciOiJIUzI1NiJ9.e30.sig", 0);
    println!("{}", token);
}
