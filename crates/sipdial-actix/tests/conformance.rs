//! The conformance suite against the Actix scope and configure forms, each inside a
//! host `App` with its own `app_data`, routes and default service.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::Method as ActixMethod;
use actix_web::http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, test, web};
use bytes::Bytes;
use futures_util::{Stream, stream};
use sipdial_core::SipDialApi;
use sipdial_core::testing::{
    HttpIntegration, TestBody, TestRequest, TestResponse, host, run_suite,
};

/// The host's own `app_data`.
struct HostName(&'static str);

/// The host's handler: answers the marker for whatever it receives.
async fn host_handler(
    name: web::Data<HostName>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    debug_assert_eq!(name.0, "host");
    let method = http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or_default();
    let marker = host::response(&method, req.path(), body.len());
    HttpResponse::build(actix_web::http::StatusCode::from_u16(marker.status().as_u16()).unwrap())
        .insert_header((host::HEADER, host::HEADER_VALUE))
        .body(marker.into_body())
}

type Sender = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = TestResponse>>>>;

/// The suite's request as an Actix test request (the body is attached by the caller:
/// a chunked body needs the built request).
fn to_actix(request: &TestRequest) -> test::TestRequest {
    let method = ActixMethod::from_bytes(request.method.as_str().as_bytes()).unwrap();
    let mut builder = test::TestRequest::default()
        .method(method)
        .uri(&request.uri);
    for (name, value) in &request.headers {
        if name == http::header::CONTENT_LENGTH {
            continue; // set_payload sets it from the body
        }
        let name = HeaderName::from_bytes(name.as_str().as_bytes()).unwrap();
        let value = HeaderValue::from_bytes(value.as_bytes()).unwrap();
        builder = builder.append_header((name, value));
    }
    builder
}

/// Mounts the API in a host app (with `mount`) and keeps a sender over it.
async fn mount(mount: impl FnOnce(&mut web::ServiceConfig) + 'static) -> Sender {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(HostName("host")))
            .route("/host/page", web::get().to(host_handler))
            .configure(mount)
            .default_service(web::to(host_handler)),
    )
    .await;
    let app = Rc::new(app);
    Rc::new(move |request: TestRequest| {
        let app = app.clone();
        Box::pin(async move {
            let builder = to_actix(&request);
            let actix_request = match request.body {
                TestBody::Empty => builder.to_request(),
                TestBody::Full(bytes) => builder.set_payload(bytes).to_request(),
                TestBody::Chunked(chunks) => {
                    let req = builder.to_request();
                    assert!(!req.headers().contains_key(CONTENT_LENGTH));
                    let chunks = stream::iter(chunks.into_iter().map(Ok::<Bytes, PayloadError>));
                    let chunks: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                        Box::pin(chunks);
                    let (req, _) = req.replace_payload(Payload::Stream { payload: chunks });
                    req
                }
            };
            let response = test::call_service(&*app, actix_request).await;
            let status = http::StatusCode::from_u16(response.status().as_u16()).unwrap();
            let mut headers = http::HeaderMap::new();
            for (name, value) in response.headers() {
                headers.append(
                    http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                    http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                );
            }
            let body = test::read_body(response).await;
            TestResponse {
                status,
                headers,
                body,
            }
        })
    })
}

/// `App::service(sipdial_actix::scope(api))`.
struct Scoped(Sender);

impl HttpIntegration for Scoped {
    async fn build(api: SipDialApi) -> Self {
        Scoped(
            mount(move |cfg| {
                cfg.service(sipdial_actix::scope(api));
            })
            .await,
        )
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        (self.0)(request).await
    }
}

/// `App::configure(sipdial_actix::configure(api))`.
struct Configured(Sender);

impl HttpIntegration for Configured {
    async fn build(api: SipDialApi) -> Self {
        Configured(mount(sipdial_actix::configure(api)).await)
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        (self.0)(request).await
    }
}

#[actix_web::test]
async fn actix_scope_conforms() {
    run_suite::<Scoped>().await;
}

#[actix_web::test]
async fn actix_configure_conforms() {
    run_suite::<Configured>().await;
}
