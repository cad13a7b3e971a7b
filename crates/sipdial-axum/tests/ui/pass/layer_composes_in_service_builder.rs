//! The core layer composes in a `tower::ServiceBuilder` around a plain Tower service and
//! around an Axum app, and as `Router::layer`; the result is still an HTTP service that
//! servers accept (cloneable, `Send`, infallible).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use axum::routing::get;
use http_body_util::Full;
use sipdial_core::fake::FakeDialer;
use sipdial_core::{SipDialApi, SipDialLayer};
use tower::{Service, ServiceBuilder, service_fn};

fn assert_http_service<S, B>(_: &S)
where
    S: Service<Request<B>, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
{
}

fn main() {
    let api = SipDialApi::builder(Arc::new(FakeDialer::new())).anonymous()
        .build()
        .unwrap();

    let plain = ServiceBuilder::new()
        .layer(SipDialLayer::new(api.clone()))
        .service(service_fn(|_req: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"host"))))
        }));
    assert_http_service::<_, Full<Bytes>>(&plain);

    let host: Router = Router::new().route("/", get(|| async { "host" }));
    let wrapped = ServiceBuilder::new()
        .layer(sipdial_axum::layer(api.clone()))
        .service(host.clone());
    assert_http_service::<_, Body>(&wrapped);

    let layered: Router = host.layer(sipdial_axum::layer(api));
    let _make_service = layered.into_make_service();
}
