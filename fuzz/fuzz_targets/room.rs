//! `Room`: 1 to 64 of `[A-Za-z0-9_.-]`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::room(data));
