//! The HTTP conformance suite: every case of the HTTP API contract, written once and run
//! against every way of serving the API (the bare Tower service, the Tower layer and
//! each framework adapter), in the style of juniper's `run_http_test_suite`.
//!
//! A form under test implements [`HttpIntegration`]: it mounts a [`SipDialApi`] the way a
//! host app would and translates a [`TestRequest`] into its framework's request and the
//! answer back into a [`TestResponse`]. [`run_suite`] then builds a fresh [`Fixture`] for
//! every case, so cases never share calls, rooms or rate-limit budgets, and reports every
//! failing case by name at once. A case added here runs against every form.
//!
//! Forms that can hand out an open response (every real one) also implement
//! [`StreamingIntegration`] and run [`run_sse_suite`]: the Server-Sent Events cases of
//! `GET {prefix}/events`. [`Served`] runs a form over a real socket through
//! [`Http1Client`]: the form only says how it starts its server ([`ServedForm`]).
//!
//! [`SipDialApi`]: crate::SipDialApi

mod cases;
mod fixture;
pub mod host;
mod http1;
mod request;
mod runner;
pub mod sse;
mod streaming;

pub use fixture::Fixture;
pub use http1::{Http1Client, Served, ServedForm, StopServer};
pub use request::{TestBody, TestRequest, TestRequestBody, TestResponse};
pub use runner::{
    BackendFactory, CASES, CaseFailure, HttpIntegration, run_suite, run_suite_on, run_suite_report,
    run_suite_report_on,
};
pub use sse::{SseEvent, SseItem, TestStream};
pub use streaming::{
    SSE_CASES, StreamingIntegration, run_sse_suite, run_sse_suite_on, run_sse_suite_report,
    run_sse_suite_report_on,
};
