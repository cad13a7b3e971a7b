//! The Axum forms the suite runs through: in process (`oneshot`) and over TCP.

use axum::Router;
use axum::body::Body;
use sipdial_core::SipDialApi;
use sipdial_core::testing::{
    Http1Client, HttpIntegration, StreamingIntegration, TestRequest, TestResponse, TestStream, host,
};
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
pub struct Served {
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
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
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
