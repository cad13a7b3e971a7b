//! `SessionId` and `session_format::decode`: safe path segments; decode is stable under re-encoding.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::session_id(data));
