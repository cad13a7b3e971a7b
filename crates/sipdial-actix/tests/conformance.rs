//! The conformance suite against the Actix scope and configure forms, each inside a
//! host `App` with its own `app_data`, routes and default service.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::Method as ActixMethod;
use actix_web::http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, test, web};
use bytes::Bytes;
use futures_util::{Stream, stream};
use sipdial_core::SipDialApi;
use sipdial_core::testing::{
    self, HttpIntegration, ServedForm, StopServer, StreamingIntegration, TestBody, TestRequest,
    TestResponse, TestStream, host, run_sse_suite, run_suite, run_suite_report,
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
type Opener = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = TestStream>>>>;

/// Converts the head of an Actix response.
fn head(
    response: &actix_web::dev::ServiceResponse<impl MessageBody>,
) -> (http::StatusCode, http::HeaderMap) {
    let status = http::StatusCode::from_u16(response.status().as_u16()).unwrap();
    let mut headers = http::HeaderMap::new();
    for (name, value) in response.headers() {
        headers.append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    (status, headers)
}

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

/// The suite's request as a built Actix request, body attached (a macro because the
/// request type lives in `actix-http`, which this crate does not name).
macro_rules! actix_request {
    ($request:expr) => {{
        let request: TestRequest = $request;
        let builder = to_actix(&request);
        match request.body {
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
        }
    }};
}

fn host_app() -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(HostName("host")))
        .route("/host/page", web::get().to(host_handler))
}

/// Mounts the API in a host app (with `mount`) and keeps a sender and an opener over
/// it: the sender reads whole answers, the opener hands out the body as it streams.
async fn mount(mount: impl FnOnce(&mut web::ServiceConfig) + 'static) -> (Sender, Opener) {
    let app = test::init_service(
        host_app()
            .configure(mount)
            .default_service(web::to(host_handler)),
    )
    .await;
    let app = Rc::new(app);
    let for_open = app.clone();
    let sender: Sender = Rc::new(move |request: TestRequest| {
        let app = app.clone();
        Box::pin(async move {
            let response = test::call_service(&*app, actix_request!(request)).await;
            let (status, headers) = head(&response);
            let body = test::read_body(response).await;
            TestResponse {
                status,
                headers,
                body,
            }
        })
    });
    let opener: Opener = Rc::new(move |request: TestRequest| {
        let app = for_open.clone();
        Box::pin(async move {
            let response = test::call_service(&*app, actix_request!(request)).await;
            let (status, headers) = head(&response);
            let mut body = response.into_body().boxed();
            let chunks = futures_util::stream::poll_fn(move |cx| {
                Pin::new(&mut body)
                    .poll_next(cx)
                    .map(|c| c.map(|r| r.map_err(|e| e.to_string())))
            });
            TestStream::new(status, headers, chunks)
        })
    });
    (sender, opener)
}

/// `App::service(sipdial_actix::scope(api))`.
struct Scoped(Sender, Opener);

impl HttpIntegration for Scoped {
    async fn build(api: SipDialApi) -> Self {
        let (send, open) = mount(move |cfg| {
            cfg.service(sipdial_actix::scope(api));
        })
        .await;
        Scoped(send, open)
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        (self.0)(request).await
    }
}

/// `App::configure(sipdial_actix::configure(api))`.
struct Configured(Sender, Opener);

impl HttpIntegration for Configured {
    async fn build(api: SipDialApi) -> Self {
        let (send, open) = mount(sipdial_actix::configure(api)).await;
        Configured(send, open)
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        (self.0)(request).await
    }
}

impl StreamingIntegration for Scoped {
    async fn open(&self, request: TestRequest) -> TestStream {
        (self.1)(request).await
    }
}

impl StreamingIntegration for Configured {
    async fn open(&self, request: TestRequest) -> TestStream {
        (self.1)(request).await
    }
}

/// The scope in a real `HttpServer` on a socket: a client that goes away is a closed
/// TCP connection, and the body crosses Actix's HTTP/1 dispatcher, which must stream
/// it (a buffered event stream would never deliver its first event).
struct OnSocket;

impl ServedForm for OnSocket {
    async fn serve(api: SipDialApi) -> (SocketAddr, StopServer) {
        let server = actix_web::HttpServer::new(move || {
            host_app()
                .service(sipdial_actix::scope(api.clone()))
                .default_service(web::to(host_handler))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind 127.0.0.1");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let stop = move || {
            actix_web::rt::spawn(async move { handle.stop(false).await });
        };
        (addr, Box::new(stop))
    }
}

type Served = testing::Served<OnSocket>;

#[actix_web::test]
async fn actix_scope_streams_events() {
    run_sse_suite::<Scoped>().await;
}

#[actix_web::test]
async fn actix_configure_streams_events() {
    run_sse_suite::<Configured>().await;
}

#[actix_web::test]
async fn actix_over_tcp_conforms_and_streams_events() {
    run_suite::<Served>().await;
    run_sse_suite::<Served>().await;
}

#[actix_web::test]
async fn actix_scope_conforms() {
    run_suite::<Scoped>().await;
}

#[actix_web::test]
async fn actix_configure_conforms() {
    run_suite::<Configured>().await;
}

// ---- inside the host's own scopes ----------------------------------------------------

/// How the API goes into the innermost scope.
#[derive(Clone, Copy)]
enum Via {
    Service,
    Configure,
    /// Today's conversion before mounts were learned (the full request path to the
    /// core): the suite must catch it.
    PrefixBlind,
}

/// The core handler reached with the whole request path, as before scopes were
/// honoured.
async fn prefix_blind(
    api: web::Data<SipDialApi>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let mut converted = http::Request::new(http_body_util::Full::new(body));
    *converted.method_mut() = http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    *converted.uri_mut() = http::Uri::try_from(req.uri().to_string()).unwrap();
    for (name, value) in req.headers() {
        converted.headers_mut().append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let (parts, body) = api.handle(converted).await.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut out =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(parts.status.as_u16()).unwrap());
    for (name, value) in &parts.headers {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(body)
}

/// The API inside `levels` (outermost first) of host scopes, the innermost also
/// holding a host route and the host's default service.
fn in_scopes(
    levels: &'static [&'static str],
    api: SipDialApi,
    via: Via,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let (last, outer) = levels.split_last().expect("at least one level");
        let inner = web::scope(last).route("/host/page", web::get().to(host_handler));
        let inner = match via {
            Via::Service => inner.service(sipdial_actix::scope(api)),
            Via::Configure => inner.configure(sipdial_actix::configure(api)),
            Via::PrefixBlind => inner.service(
                web::scope(api.prefix())
                    .app_data(web::Data::new(api))
                    .default_service(web::to(prefix_blind)),
            ),
        };
        let scope = outer.iter().rev().fold(
            inner.default_service(web::to(host_handler)),
            |inner, level| web::scope(level).service(inner),
        );
        cfg.service(scope);
    }
}

/// Declares a form with the API inside host scopes.
macro_rules! scoped_form {
    ($(#[$meta:meta])* $name:ident, $levels:expr, $mount:expr, $via:expr, $prefix:expr) => {
        $(#[$meta])*
        struct $name(Sender, Opener);

        impl HttpIntegration for $name {
            async fn build(api: SipDialApi) -> Self {
                let (send, open) = mount(in_scopes($levels, api, $via)).await;
                $name(send, open)
            }

            fn wraps_host_app(&self) -> bool {
                true
            }

            fn prefix() -> &'static str {
                $prefix
            }

            fn mount(&self) -> &str {
                $mount
            }

            async fn send(&self, request: TestRequest) -> TestResponse {
                (self.0)(request).await
            }
        }

        impl StreamingIntegration for $name {
            async fn open(&self, request: TestRequest) -> TestStream {
                (self.1)(request).await
            }
        }
    };
}

scoped_form!(
    /// `web::scope("/api").service(sipdial_actix::scope(api))`.
    ScopeInApi, &["/api"], "/api", Via::Service, "/sip"
);
scoped_form!(
    /// `web::scope("/api").configure(sipdial_actix::configure(api))`.
    ConfigureInApi, &["/api"], "/api", Via::Configure, "/sip"
);
scoped_form!(
    /// Two levels, `/v1` then `/api`, with `service`.
    ScopeInV1Api, &["/v1", "/api"], "/v1/api", Via::Service, "/sip"
);
scoped_form!(
    /// Two levels, `/v1` then `/api`, with `configure`.
    ConfigureInV1Api, &["/v1", "/api"], "/v1/api", Via::Configure, "/sip"
);
scoped_form!(
    /// A tenant path: the mount is the path the client used, not the pattern.
    ScopePerTenant, &["/t/{tenant}"], "/t/acme", Via::Service, "/sip"
);
scoped_form!(
    /// A tenant with a percent-encoded character: URLs keep the bytes the client sent.
    ScopePerEncodedTenant, &["/t/{tenant}"], "/t/ac%20me", Via::Service, "/sip"
);
scoped_form!(
    /// The API at the root of its mount: prefix `""` inside `/api`.
    ScopeAtMountRoot, &["/api"], "/api", Via::Service, ""
);
scoped_form!(
    /// Prefix `""` inside `/api` with `configure`.
    ConfigureAtMountRoot, &["/api"], "/api", Via::Configure, ""
);
scoped_form!(
    /// The conversion that ignored parent scopes, inside `/api`.
    BlindInApi, &["/api"], "/api", Via::PrefixBlind, "/sip"
);

#[actix_web::test]
async fn actix_scope_in_a_parent_scope_conforms_and_streams_events() {
    run_suite::<ScopeInApi>().await;
    run_sse_suite::<ScopeInApi>().await;
}

#[actix_web::test]
async fn actix_configure_in_a_parent_scope_conforms_and_streams_events() {
    run_suite::<ConfigureInApi>().await;
    run_sse_suite::<ConfigureInApi>().await;
}

#[actix_web::test]
async fn actix_two_levels_of_scopes_conform() {
    run_suite::<ScopeInV1Api>().await;
    run_suite::<ConfigureInV1Api>().await;
    run_sse_suite::<ScopeInV1Api>().await;
}

#[actix_web::test]
async fn actix_scope_per_tenant_conforms() {
    run_suite::<ScopePerTenant>().await;
    run_suite::<ScopePerEncodedTenant>().await;
}

#[actix_web::test]
async fn actix_api_at_the_mount_root_conforms() {
    run_suite::<ScopeAtMountRoot>().await;
    run_suite::<ConfigureAtMountRoot>().await;
    run_sse_suite::<ScopeAtMountRoot>().await;
}

#[actix_web::test]
async fn the_mount_cases_catch_a_prefix_blind_conversion() {
    let failed: Vec<&str> = run_suite_report::<BlindInApi>()
        .await
        .into_iter()
        .map(|f| f.case)
        .collect();
    for case in [
        "dial_default_target_is_201_with_location",
        "calls_list_and_get",
        "openapi_names_the_mount_as_its_server",
    ] {
        assert!(
            failed.contains(&case),
            "{case} passed against a conversion that ignores parent scopes: {failed:?}"
        );
    }
    // The real scope passes the very same cases in the very same host.
    assert!(run_suite_report::<ScopeInApi>().await.is_empty());
}
