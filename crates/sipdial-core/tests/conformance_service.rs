//! The conformance suite against the bare Tower service, plus the proof that the suite
//! can fail: a form that changes one status is reported by the cases that see it.
#![cfg(feature = "test-suite")]

use http::StatusCode;
use sipdial_core::testing::{
    HttpIntegration, TestRequest, TestResponse, run_suite, run_suite_report,
};
use sipdial_core::{SipDialApi, SipDialService};
use tower::ServiceExt;

/// `SipDialService` on its own: every path is the API's, so foreign paths get its 404.
struct Bare(SipDialService);

impl HttpIntegration for Bare {
    async fn build(api: SipDialApi) -> Self {
        Bare(SipDialService::new(api))
    }

    fn wraps_host_app(&self) -> bool {
        false
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        let Ok(response) = self.0.clone().oneshot(request.into_http()).await;
        TestResponse::from_http(response).await
    }
}

#[tokio::test]
async fn bare_service_conforms() {
    run_suite::<Bare>().await;
}

/// The bare service with one deliberate deviation: 413 answered as 400.
struct Tampered(Bare);

impl HttpIntegration for Tampered {
    async fn build(api: SipDialApi) -> Self {
        Tampered(Bare::build(api).await)
    }

    fn wraps_host_app(&self) -> bool {
        false
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        let mut response = self.0.send(request).await;
        if response.status == StatusCode::PAYLOAD_TOO_LARGE {
            response.status = StatusCode::BAD_REQUEST;
        }
        response
    }
}

#[tokio::test]
async fn a_changed_status_fails_exactly_the_cases_that_see_it() {
    let failures = run_suite_report::<Tampered>().await;
    let names: Vec<&str> = failures.iter().map(|f| f.case).collect();
    assert_eq!(
        names,
        [
            "body_over_the_limit_is_413",
            "chunked_body_over_the_limit_is_413"
        ],
        "{failures:#?}"
    );
    assert!(failures[0].message.contains("413"), "{}", failures[0]);
}
