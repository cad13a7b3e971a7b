//! The two adapter forms under attack, mounted in host apps through the adapters'
//! public API exactly as a host would: `sipdial_axum::router` merged into a host
//! `Router` with its own state and fallback, and `sipdial_actix::scope` in a host `App`
//! with its own `app_data` and default service.
//!
//! They implement the core conformance suite's [`HttpIntegration`], so the same
//! [`TestRequest`]s drive both; only framework translation lives here.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use futures_util::{Stream, stream};
use sipdial_core::SipDialApi;
use sipdial_core::testing::{HttpIntegration, TestBody, TestRequest, TestResponse, host};
use tower::ServiceExt;

/// The host's handler for both frameworks' fallbacks: the marker answer of
/// [`host::response`].
fn host_marker(method: &str, path: &str, body_len: usize) -> http::Response<String> {
    let method = http::Method::from_bytes(method.as_bytes()).unwrap_or_default();
    host::response(&method, path, body_len)
}

/// `sipdial_axum::router(api)` merged into a host router with state and a fallback.
#[derive(Clone)]
pub struct AxumRouter(Router);

impl HttpIntegration for AxumRouter {
    async fn build(api: SipDialApi) -> Self {
        async fn fallback(
            axum::extract::State(_host): axum::extract::State<&'static str>,
            method: http::Method,
            uri: http::Uri,
            body: Bytes,
        ) -> http::Response<String> {
            host_marker(method.as_str(), uri.path(), body.len())
        }
        let app = Router::new()
            .fallback(fallback)
            .merge(sipdial_axum::router(api))
            .with_state("host");
        AxumRouter(app)
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        let request = request.into_http().map(Body::new);
        let Ok(response) = self.0.clone().oneshot(request).await;
        TestResponse::from_http(response).await
    }
}

type Sender = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = TestResponse>>>>;

/// `App::new().service(sipdial_actix::scope(api))` in a host app with `app_data` and a
/// default service. Runs on Actix's single-threaded test runtime.
#[derive(Clone)]
pub struct ActixScope(Sender);

async fn actix_host(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let marker = host_marker(req.method().as_str(), req.path(), body.len());
    let status = actix_web::http::StatusCode::from_u16(marker.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((host::HEADER, host::HEADER_VALUE))
        .body(marker.into_body())
}

/// The suite's request as an Actix test request, headers by value (the body framing
/// header comes from the payload).
fn to_actix(request: &TestRequest) -> test::TestRequest {
    let method = actix_web::http::Method::from_bytes(request.method.as_str().as_bytes())
        .unwrap_or(actix_web::http::Method::GET);
    let mut builder = test::TestRequest::default()
        .method(method)
        .uri(&request.uri);
    for (name, value) in &request.headers {
        if name == http::header::CONTENT_LENGTH {
            continue;
        }
        let name = actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = actix_web::http::header::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            builder = builder.append_header((name, value));
        }
    }
    builder
}

impl HttpIntegration for ActixScope {
    async fn build(api: SipDialApi) -> Self {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new("host"))
                .service(sipdial_actix::scope(api))
                .default_service(web::to(actix_host)),
        )
        .await;
        let app = Rc::new(app);
        ActixScope(Rc::new(move |request: TestRequest| {
            let app = app.clone();
            Box::pin(async move {
                let builder = to_actix(&request);
                let actix_request = match request.body {
                    TestBody::Empty => builder.to_request(),
                    TestBody::Full(bytes) => builder.set_payload(bytes).to_request(),
                    TestBody::Chunked(chunks) => {
                        let chunks =
                            stream::iter(chunks.into_iter().map(Ok::<Bytes, PayloadError>));
                        let chunks: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                            Box::pin(chunks);
                        let (req, _) = builder
                            .to_request()
                            .replace_payload(Payload::Stream { payload: chunks });
                        req
                    }
                };
                let response = test::call_service(&*app, actix_request).await;
                let status = http::StatusCode::from_u16(response.status().as_u16())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                let mut headers = http::HeaderMap::new();
                for (name, value) in response.headers() {
                    if let (Ok(n), Ok(v)) = (
                        http::HeaderName::from_bytes(name.as_str().as_bytes()),
                        http::HeaderValue::from_bytes(value.as_bytes()),
                    ) {
                        headers.append(n, v);
                    }
                }
                let body = test::read_body(response).await;
                TestResponse {
                    status,
                    headers,
                    body,
                }
            })
        }))
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        (self.0)(request).await
    }
}
