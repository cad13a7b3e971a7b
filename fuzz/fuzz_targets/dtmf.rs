//! `Dtmf`: only `0-9*#p`, 1 to 64.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::dtmf(data));
