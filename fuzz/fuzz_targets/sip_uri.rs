//! `SipUri`: accepted URIs are ASCII, without controls or whitespace, within the size limit, `sip:`/`sips:`, and round-trip through JSON.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::sip_uri(data));
