//! The conformance suite against both Axum forms, each inside a host app with its own
//! state, routes and fallback.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::routing::get;
use sipdial_core::SipDialApi;
use sipdial_core::testing::{HttpIntegration, TestRequest, TestResponse, host, run_suite};
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

#[tokio::test]
async fn axum_router_conforms() {
    run_suite::<Merged>().await;
}

#[tokio::test]
async fn axum_layer_conforms() {
    run_suite::<Layered>().await;
}
