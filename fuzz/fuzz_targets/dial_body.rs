//! The `POST /dial` body parser the API uses: refusals are 400 `invalid_json`/`invalid_field` with safe messages.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipdial_hostile_tests::props::dial_body(data));
