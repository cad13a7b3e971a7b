//! `SipFrom`: accepted values are `user@host` without controls or parameters.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::sip_from(data));
