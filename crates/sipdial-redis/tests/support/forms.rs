//! The Axum forms the suite runs through: in process (`oneshot`) and over TCP.

use axum::Router;
use axum::body::Body;
use sipdial_core::SipDialApi;
use sipdial_core::testing::{
    self, HttpIntegration, ServedForm, StopServer, TestRequest, TestResponse, host,
};
use std::net::SocketAddr;
use tower::ServiceExt;

/// The API router inside a host app whose fallback answers the host marker.
pub struct Merged(Router);

impl HttpIntegration for Merged {
    async fn build(api: SipDialApi) -> Self {
        let app = Router::new().merge(sipdial_axum::router(api)).fallback(
            |method: http::Method, uri: http::Uri, body: axum::body::Bytes| async move {
                host::response(&method, uri.path(), body.len())
            },
        );
        Merged(app)
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

/// The same app served over TCP, for the event streams.
pub struct AxumOnSocket;

impl ServedForm for AxumOnSocket {
    async fn serve(api: SipDialApi) -> (SocketAddr, StopServer) {
        let Merged(app) = Merged::build(api).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        (addr, Box::new(move || server.abort()))
    }
}

/// [`AxumOnSocket`] as the suite runs it.
pub type Served = testing::Served<AxumOnSocket>;

/// The API in `sipdial_actix::scope` inside an Actix app whose default service answers
/// the host marker, served by an `HttpServer` on a thread of its own.
pub struct ActixOnSocket;

/// [`ActixOnSocket`] as the suite runs it.
pub type ActixServed = testing::Served<ActixOnSocket>;

async fn actix_host(
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    let method =
        http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or(http::Method::GET);
    let marker = host::response(&method, req.path(), body.len());
    let mut res = actix_web::HttpResponse::build(
        actix_web::http::StatusCode::from_u16(marker.status().as_u16()).unwrap_or_default(),
    );
    for (name, value) in marker.headers() {
        res.insert_header((name.as_str(), value.as_bytes()));
    }
    res.body(marker.into_body())
}

impl ServedForm for ActixOnSocket {
    async fn serve(api: SipDialApi) -> (SocketAddr, StopServer) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .service(sipdial_actix::scope(api.clone()))
                        .default_service(actix_web::web::to(actix_host))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("bind");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle()))
                    .expect("report the address");
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("the actix server started");
        let stop = move || {
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)));
        };
        (addr, Box::new(stop))
    }
}
