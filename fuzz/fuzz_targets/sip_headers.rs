//! `SipHeaders` from a JSON object: token names, none reserved, no CR/LF/NUL in values, within the limits, unique names.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::sip_headers_json(data));
