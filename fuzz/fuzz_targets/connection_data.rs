//! `ConnectionData`: accepted exactly when at most 1000 characters.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::connection_data(data));
