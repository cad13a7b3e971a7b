//! The axum-demo binary's connection bounds: the header-read (and idle) timeout and the
//! connection limit. The checks live once in `sipdial_demo_support::harness::connections`.

use sipdial_demo_support::harness::connections;

const BIN: &str = env!("CARGO_BIN_EXE_axum-demo");

#[test]
fn a_client_sending_one_header_byte_a_second_is_cut() {
    connections::slow_header_client_is_cut(BIN);
}

#[test]
fn connections_beyond_the_bound_wait_until_one_closes() {
    connections::connections_beyond_the_bound_wait(BIN);
}
