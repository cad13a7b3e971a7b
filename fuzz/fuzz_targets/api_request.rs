//! `SipDialApi::handle` on any route with any body and content type: known statuses, JSON error shape, nothing reaches the dialer unless the route succeeds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sipdial_hostile_tests::props::api_request(data);
});
