//! `SipDialApi::handle` on `POST /sip/callbacks` with any body (the platform's callback parser once the route exists).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sipdial_hostile_tests::props::callback_request(data);
});
