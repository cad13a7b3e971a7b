//! The conformance suite against the bare Tower service, plus the proof that the suite
//! can fail: a form that changes one status is reported by the cases that see it.
#![cfg(feature = "test-suite")]

use http::StatusCode;
use sipdial_core::testing::{
    HttpIntegration, SSE_CASES, StreamingIntegration, TestRequest, TestResponse, TestStream,
    run_sse_suite, run_sse_suite_report, run_suite, run_suite_report,
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

impl StreamingIntegration for Bare {
    async fn open(&self, request: TestRequest) -> TestStream {
        let Ok(response) = self.0.clone().oneshot(request.into_http()).await;
        TestStream::from_http(response)
    }
}

#[tokio::test]
async fn bare_service_streams_events() {
    run_sse_suite::<Bare>().await;
}

/// The bare service with an empty prefix: the API is the whole service.
struct BareAtRoot(Bare);

impl HttpIntegration for BareAtRoot {
    async fn build(api: SipDialApi) -> Self {
        BareAtRoot(Bare::build(api).await)
    }

    fn wraps_host_app(&self) -> bool {
        false
    }

    fn prefix() -> &'static str {
        ""
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        self.0.send(request).await
    }
}

impl StreamingIntegration for BareAtRoot {
    async fn open(&self, request: TestRequest) -> TestStream {
        self.0.open(request).await
    }
}

#[tokio::test]
async fn bare_service_with_an_empty_prefix_conforms() {
    run_suite::<BareAtRoot>().await;
    run_sse_suite::<BareAtRoot>().await;
}

/// A form that buffers responses (as an adapter that collected the body would) can
/// never hand out an event before the stream ends: the streaming cases catch it.
struct Buffering(Bare);

impl HttpIntegration for Buffering {
    async fn build(api: SipDialApi) -> Self {
        Buffering(Bare::build(api).await)
    }

    fn wraps_host_app(&self) -> bool {
        false
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        self.0.send(request).await
    }
}

impl StreamingIntegration for Buffering {
    async fn open(&self, request: TestRequest) -> TestStream {
        let Ok(response) = self.0.0.clone().oneshot(request.into_http()).await;
        let (parts, body) = response.into_parts();
        // Collecting an endless body: give up after a while, as a client would.
        let collected = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            http_body_util::BodyExt::collect(body),
        )
        .await;
        let chunks = match collected {
            Ok(Ok(c)) => vec![Ok(c.to_bytes())],
            _ => vec![Err("the buffered body never ended".to_owned())],
        };
        TestStream::new(
            parts.status,
            parts.headers,
            futures_util::stream::iter(chunks),
        )
    }
}

#[tokio::test]
async fn a_buffering_form_fails_the_streaming_cases() {
    let failures = run_sse_suite_report::<Buffering>().await;
    let names: Vec<&str> = failures.iter().map(|f| f.case).collect();
    // Every case that reads an event fails; only the JSON error case passes.
    let want: Vec<&str> = SSE_CASES
        .iter()
        .copied()
        .filter(|c| *c != "sse_errors_are_json")
        .collect();
    assert_eq!(names, want, "{failures:#?}");
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
