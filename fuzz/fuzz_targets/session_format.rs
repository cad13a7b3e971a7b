//! `session_format::encode` then `decode` gives the fields back.
#![no_main]

libfuzzer_sys::fuzz_target!(
    |data: &[u8]| sipdial_hostile_tests::props::session_format_round_trip(data)
);
