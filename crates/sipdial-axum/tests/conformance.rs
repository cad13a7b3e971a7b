//! The conformance suite against both Axum forms, each inside a host app with its own
//! state, routes and fallback.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::routing::get;
use sipdial_core::SipDialApi;
use sipdial_core::testing::{
    Http1Client, HttpIntegration, StreamingIntegration, TestRequest, TestResponse, TestStream,
    host, run_sse_suite, run_suite,
};
use tower::ServiceExt;

/// The host's own state, to show the API router does not need (or fix) it.
#[derive(Clone)]
struct HostState {
    name: &'static str,
}

/// The host's handler: answers the marker for whatever it receives.
async fn host_handler(
    State(state): State<HostState>,
    method: Method,
    uri: Uri,
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
struct Served {
    client: Http1Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl HttpIntegration for Served {
    async fn build(api: SipDialApi) -> Self {
        let Merged(app) = Merged::build(api).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("axum serve");
        });
        Served {
            client: Http1Client::new(addr),
            server,
        }
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        self.client.send(request).await
    }
}

impl StreamingIntegration for Served {
    async fn open(&self, request: TestRequest) -> TestStream {
        self.client.open(request).await
    }
}

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
