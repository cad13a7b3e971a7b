//! A struct holding a client token cannot derive `Serialize`: the token is written out
//! only through an explicit `expose_secret()`.

use sipdial_core::ClientToken;

#[derive(serde::Serialize)]
struct Leaky {
    token: ClientToken,
}

fn main() {
    let _ = Leaky { token: ClientToken::new("t", 0) };
}
