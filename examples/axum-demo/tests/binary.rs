//! The axum-demo binary: demo-mode start-up line and banner, real-mode start-up,
//! malformed configuration and graceful shutdown. The checks live once in
//! `sipdial_demo_support::harness::checks`.

use sipdial_demo_support::harness::checks;

const BIN: &str = env!("CARGO_BIN_EXE_axum-demo");

#[test]
fn demo_mode_prints_its_line_serves_the_banner_and_stops_on_sigterm() {
    checks::demo_mode_startup(BIN, "axum-demo");
}

#[test]
fn credentials_switch_to_the_real_dialer_without_leaking_them() {
    checks::cloud_mode_startup(BIN);
}

#[test]
fn malformed_variables_stop_startup_naming_the_variable() {
    checks::malformed_config_exits(BIN, "axum-demo");
}

#[test]
fn a_busy_port_stops_startup() {
    checks::busy_port_exits(BIN, "axum-demo");
}

#[test]
fn sipdial_mount_moves_the_page_and_the_api() {
    checks::mounted_below_sipdial_mount(BIN);
}

#[test]
fn limit_variables_reach_the_api() {
    checks::limits_from_env(BIN);
}

#[test]
fn platform_callbacks_must_be_signed_and_move_the_call() {
    sipdial_demo_support::harness::signed_callbacks(BIN);
}

#[test]
fn metrics_are_served_as_prometheus_text() {
    checks::metrics_after_a_dial(BIN);
}
