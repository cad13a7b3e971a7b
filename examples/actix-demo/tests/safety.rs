//! Safe by default, through the actix-demo binary: its own Host only (DNS rebinding),
//! the access token, real mode refusing to start open, the page's
//! Content-Security-Policy and demo mode's signed callbacks. The checks live once in
//! `sipdial_demo_support::harness::safety`.

use sipdial_demo_support::harness::safety;

const BIN: &str = env!("CARGO_BIN_EXE_actix-demo");

#[test]
fn a_foreign_host_is_misdirected_even_with_a_matching_origin() {
    safety::foreign_host_is_misdirected(BIN);
}

#[test]
fn the_access_token_guards_the_page_the_api_and_metrics() {
    safety::access_token_guards_page_api_and_metrics(BIN);
}

#[test]
fn real_mode_refuses_to_start_open() {
    safety::real_mode_refuses_to_start_open(BIN, "actix-demo");
}

#[test]
fn the_content_security_policy_is_exact() {
    safety::content_security_policy_is_exact(BIN);
}

#[test]
fn demo_mode_refuses_a_forged_unsigned_callback() {
    safety::demo_callbacks_are_signed(BIN);
}
