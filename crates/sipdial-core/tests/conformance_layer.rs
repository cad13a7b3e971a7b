//! The conformance suite against the Tower layer wrapped around a host service.
#![cfg(feature = "test-suite")]

use std::convert::Infallible;

use http_body_util::BodyExt;
use sipdial_core::testing::{
    HttpIntegration, StreamingIntegration, TestRequest, TestRequestBody, TestResponse, TestStream,
    host, run_sse_suite, run_suite,
};
use sipdial_core::{SipDialApi, SipDialLayer};
use tower::util::BoxCloneService;
use tower::{Layer, ServiceExt, service_fn};

type Host = BoxCloneService<http::Request<TestRequestBody>, http::Response<String>, Infallible>;

/// The host app: answers every request with the marker.
fn host_app() -> Host {
    BoxCloneService::new(service_fn(
        |req: http::Request<TestRequestBody>| async move {
            let (parts, body) = req.into_parts();
            let Ok(body) = body.collect().await;
            Ok::<_, Infallible>(host::response(
                &parts.method,
                parts.uri.path(),
                body.to_bytes().len(),
            ))
        },
    ))
}

struct Layered(<SipDialLayer as Layer<Host>>::Service);

impl HttpIntegration for Layered {
    async fn build(api: SipDialApi) -> Self {
        Layered(SipDialLayer::new(api).layer(host_app()))
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        let Ok(response) = self.0.clone().oneshot(request.into_http()).await;
        TestResponse::from_http(response).await
    }
}

#[tokio::test]
async fn tower_layer_conforms() {
    run_suite::<Layered>().await;
}

impl StreamingIntegration for Layered {
    async fn open(&self, request: TestRequest) -> TestStream {
        let Ok(response) = self.0.clone().oneshot(request.into_http()).await;
        TestStream::from_http(response)
    }
}

#[tokio::test]
async fn tower_layer_streams_events() {
    run_sse_suite::<Layered>().await;
}
