//! The conformance suite against both Axum forms, each inside a host app with its own
//! state, routes and fallback.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::Method;
use axum::routing::get;
use sipdial_core::testing::{
    self, HttpIntegration, ServedForm, StopServer, StreamingIntegration, TestRequest, TestResponse,
    TestStream, host, run_sse_suite, run_suite, run_suite_report,
};
use sipdial_core::{SipDialApi, SipDialService};
use std::net::SocketAddr;
use tower::ServiceExt;

/// The host's own state, to show the API router does not need (or fix) it.
#[derive(Clone)]
struct HostState {
    name: &'static str,
}

/// The host's handler: answers the marker for whatever it receives (the path the
/// client sent, also inside a nested router).
async fn host_handler(
    State(state): State<HostState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> axum::http::Response<String> {
    debug_assert_eq!(state.name, "host");
    host::response(&method, uri.path(), body.len())
}

fn host_routes() -> Router<HostState> {
    Router::new()
        .route("/host/page", get(host_handler))
        .fallback(host_handler)
}

async fn send(app: &Router, request: TestRequest) -> TestResponse {
    let request = request.into_http().map(Body::new);
    let Ok(response) = app.clone().oneshot(request).await;
    TestResponse::from_http(response).await
}

/// `sipdial_axum::router` merged into the host router.
struct Merged(Router);

impl HttpIntegration for Merged {
    async fn build(api: SipDialApi) -> Self {
        let app = host_routes()
            .merge(sipdial_axum::router(api))
            .with_state(HostState { name: "host" });
        Merged(app)
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        send(&self.0, request).await
    }
}

/// `sipdial_axum::layer` around the whole host router.
struct Layered(Router);

impl HttpIntegration for Layered {
    async fn build(api: SipDialApi) -> Self {
        let app = host_routes()
            .with_state(HostState { name: "host" })
            .layer(sipdial_axum::layer(api));
        Layered(app)
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        send(&self.0, request).await
    }
}

async fn open(app: &Router, request: TestRequest) -> TestStream {
    let request = request.into_http().map(Body::new);
    let Ok(response) = app.clone().oneshot(request).await;
    TestStream::from_http(response)
}

impl StreamingIntegration for Merged {
    async fn open(&self, request: TestRequest) -> TestStream {
        open(&self.0, request).await
    }
}

impl StreamingIntegration for Layered {
    async fn open(&self, request: TestRequest) -> TestStream {
        open(&self.0, request).await
    }
}

/// The merged router served by `axum::serve` on a real socket, so a client that goes
/// away is a closed TCP connection, and every answer crosses hyper.
struct OnSocket;

impl ServedForm for OnSocket {
    async fn serve(api: SipDialApi) -> (SocketAddr, StopServer) {
        let Merged(app) = Merged::build(api).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .expect("axum serve");
        });
        (addr, Box::new(move || server.abort()))
    }
}

type Served = testing::Served<OnSocket>;

#[tokio::test]
async fn axum_router_streams_events() {
    run_sse_suite::<Merged>().await;
}

#[tokio::test]
async fn axum_layer_streams_events() {
    run_sse_suite::<Layered>().await;
}

#[tokio::test]
async fn axum_over_tcp_conforms_and_streams_events() {
    run_suite::<Served>().await;
    run_sse_suite::<Served>().await;
}

#[tokio::test]
async fn axum_router_conforms() {
    run_suite::<Merged>().await;
}

#[tokio::test]
async fn axum_layer_conforms() {
    run_suite::<Layered>().await;
}

// ---- mounted below the host's own paths ----------------------------------------------

/// The host's router for a mount: its own route and fallback next to the API's router.
fn mounted(api: Router<HostState>) -> Router<HostState> {
    Router::new()
        .route("/host/page", get(host_handler))
        .merge(api)
        .fallback(host_handler)
}

/// `api` nested at each of `levels` in turn (outermost first), inside the host app.
fn nest_at(levels: &[&str], api: Router<HostState>) -> Router {
    let inner = levels.iter().rev().fold(mounted(api), |inner, level| {
        Router::new().nest(level, inner)
    });
    host_routes()
        .merge(inner)
        .with_state(HostState { name: "host" })
}

/// Declares a form that nests `sipdial_axum::router` at `$levels` with the API's
/// prefix `$prefix`.
macro_rules! nested_form {
    ($(#[$meta:meta])* $name:ident, $levels:expr, $mount:expr, $prefix:expr) => {
        $(#[$meta])*
        struct $name(Router);

        impl HttpIntegration for $name {
            async fn build(api: SipDialApi) -> Self {
                $name(nest_at($levels, sipdial_axum::router(api)))
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
                send(&self.0, request).await
            }
        }

        impl StreamingIntegration for $name {
            async fn open(&self, request: TestRequest) -> TestStream {
                open(&self.0, request).await
            }
        }
    };
}

nested_form!(
    /// `Router::nest("/api", sipdial_axum::router(api))`.
    NestedOnce, &["/api"], "/api", "/sip"
);
nested_form!(
    /// Two levels: `/v1` then `/api`.
    NestedTwice, &["/v1", "/api"], "/v1/api", "/sip"
);
nested_form!(
    /// A tenant path: the mount is the path the client used, not the pattern.
    NestedPerTenant, &["/t/{tenant}"], "/t/acme", "/sip"
);
nested_form!(
    /// A tenant with a percent-encoded character: URLs keep the bytes the client sent.
    NestedPerEncodedTenant, &["/t/{tenant}"], "/t/ac%20me", "/sip"
);
nested_form!(
    /// The API at the root of its mount: prefix `""` nested at `/api`.
    NestedAtRoot, &["/api"], "/api", ""
);

#[tokio::test]
async fn axum_nested_once_conforms_and_streams_events() {
    run_suite::<NestedOnce>().await;
    run_sse_suite::<NestedOnce>().await;
}

#[tokio::test]
async fn axum_nested_twice_conforms_and_streams_events() {
    run_suite::<NestedTwice>().await;
    run_sse_suite::<NestedTwice>().await;
}

#[tokio::test]
async fn axum_nested_per_tenant_conforms() {
    run_suite::<NestedPerTenant>().await;
    run_suite::<NestedPerEncodedTenant>().await;
}

#[tokio::test]
async fn axum_nested_at_the_mount_root_conforms() {
    run_suite::<NestedAtRoot>().await;
    run_sse_suite::<NestedAtRoot>().await;
}

/// Today's router before mounts were learned: the core service at the prefix, told
/// nothing about where the host nested it.
fn prefix_blind_router(api: SipDialApi) -> Router<HostState> {
    let prefix = api.prefix().to_owned();
    let service = SipDialService::new(api);
    Router::new()
        .route_service(&prefix, service.clone())
        .route_service(&format!("{prefix}/{{*rest}}"), service)
}

#[tokio::test]
async fn the_mount_cases_catch_a_prefix_blind_router() {
    // NestedOnce, but built from the blind router.
    struct Blind(Router);
    impl HttpIntegration for Blind {
        async fn build(api: SipDialApi) -> Self {
            Blind(nest_at(&["/api"], prefix_blind_router(api)))
        }
        fn wraps_host_app(&self) -> bool {
            true
        }
        fn mount(&self) -> &str {
            "/api"
        }
        async fn send(&self, request: TestRequest) -> TestResponse {
            send(&self.0, request).await
        }
    }
    let failed: Vec<&str> = run_suite_report::<Blind>()
        .await
        .into_iter()
        .map(|f| f.case)
        .collect();
    for case in [
        "dial_default_target_is_201_with_location",
        "openapi_names_the_mount_as_its_server",
    ] {
        assert!(
            failed.contains(&case),
            "{case} passed against a router that ignores the mount: {failed:?}"
        );
    }
    // The real router passes the very same cases in the very same host.
    assert!(run_suite_report::<NestedOnce>().await.is_empty());
}
