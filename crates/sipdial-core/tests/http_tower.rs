//! The Tower forms: `SipDialService` and `SipDialLayer` (pass-through of foreign paths,
//! prefix matching, readiness), and the body limit enforced while streaming.
#![cfg(feature = "fake")]

mod http_support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{Method, Request, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use http_support::*;
use serde_json::json;
use sipdial_core::fake::Operation;
use sipdial_core::{LayerBody, SipDialLayer, SipDialService};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

fn assert_service_bounds<T: Clone + Send + Sync + 'static>(_: &T) {}

#[test]
fn service_and_layer_are_clone_send_sync() {
    let f = fixture();
    let svc = SipDialService::new(f.api.clone());
    assert_service_bounds(&svc);
    let layer = SipDialLayer::new(f.api.clone());
    assert_service_bounds(&layer);
    let wrapped = layer.layer(tower::service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }));
    assert_service_bounds(&wrapped);
    fn future_is_send<F: Send>(_: &F) {}
    let mut svc = svc;
    let fut =
        Service::<Request<Full<Bytes>>>::call(&mut svc, request(Method::GET, "/sip/targets", None));
    future_is_send(&fut);
}

/// A host app that answers everything with 418, a custom header and its own body.
fn host_app() -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(|req: Request<Full<Bytes>>| async move {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let mut res = Response::new(Full::new(Bytes::from(format!(
            "host saw {} bytes",
            body.len()
        ))));
        *res.status_mut() = StatusCode::IM_A_TEAPOT;
        res.headers_mut()
            .insert("x-host-app", "yes".parse().unwrap());
        res.headers_mut()
            .insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        Ok::<_, Infallible>(res)
    })
}

async fn collect(
    res: Response<LayerBody<Full<Bytes>>>,
) -> (StatusCode, http::HeaderMap, Bytes, bool) {
    let (parts, body) = res.into_parts();
    let is_api = body.is_api();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes, is_api)
}

#[tokio::test]
async fn layer_passes_foreign_paths_to_the_host_untouched() {
    let f = fixture();
    let app = ServiceBuilder::new()
        .layer(SipDialLayer::new(f.api.clone()))
        .service(host_app());
    for path in [
        "/",
        "/index.html",
        "/sipx",
        "/sip-other/session",
        "/api/sip/session",
    ] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, HOST)
            .body(Full::new(Bytes::from_static(b"hello")))
            .unwrap();
        let (status, headers, body, is_api) =
            collect(app.clone().oneshot(req).await.unwrap()).await;
        assert_eq!(status, StatusCode::IM_A_TEAPOT, "{path}");
        assert_eq!(headers["x-host-app"], "yes");
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
        assert_eq!(headers.len(), 2, "no header added: {headers:?}");
        assert_eq!(&body[..], b"host saw 5 bytes");
        assert!(!is_api);
    }
    assert!(f.fake.recorded().is_empty());
}

#[tokio::test]
async fn layer_serves_the_prefix() {
    let f = fixture();
    let app = SipDialLayer::new(f.api.clone()).layer(host_app());
    let (status, headers, body, is_api) = collect(
        app.clone()
            .oneshot(request(
                Method::POST,
                "/sip/session",
                Some(json!({ "room": "a" })),
            ))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(is_api);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["room"], "a");
    // Unknown routes under the prefix belong to the API (JSON 404), not the host.
    let (status, _, body, is_api) = collect(
        app.oneshot(request(Method::GET, "/sip/nope", None))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(is_api);
    assert!(String::from_utf8_lossy(&body).contains("not_found"));
}

#[tokio::test]
async fn layer_respects_a_custom_prefix() {
    let f = fixture_with(|b| b.prefix("/api/v1/sip/"));
    let app = SipDialLayer::new(f.api.clone()).layer(host_app());
    let (status, _, _, _) = collect(
        app.clone()
            .oneshot(request(Method::GET, "/sip/targets", None))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::IM_A_TEAPOT);
    let res = app
        .oneshot(request(
            Method::POST,
            "/api/v1/sip/dial",
            Some(json!({ "sessionId": "1_x" })),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "session unknown, but served by the API");
    let session = f.session_at("/api/v1/sip").await;
    let dial = send(
        &f.api,
        Method::POST,
        "/api/v1/sip/dial",
        Some(json!({ "sessionId": session })),
    )
    .await;
    assert_eq!(dial.status, 201);
    let id = dial.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        dial.headers[header::LOCATION],
        format!("/api/v1/sip/calls/{id}").as_str()
    );
}

trait SessionAt {
    async fn session_at(&self, prefix: &str) -> String;
}

impl SessionAt for Fixture {
    async fn session_at(&self, prefix: &str) -> String {
        let res = send(&self.api, Method::POST, &format!("{prefix}/session"), None).await;
        res.json()["sessionId"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn service_answers_json_404_outside_the_prefix() {
    let f = fixture();
    for path in ["/", "/sipx", "/other/sip/session"] {
        let res = f.send(Method::GET, path, None).await;
        assert_eq!(res.assert_error(404), "not_found", "{path}");
    }
}

/// A streaming body with no length: `chunks` frames of `size` bytes (endless when
/// `None`), counting the frames polled.
fn chunked(
    size: usize,
    chunks: Option<usize>,
    polled: Arc<AtomicUsize>,
) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static>
{
    let chunk = Bytes::from(vec![b' '; size]);
    let s = stream::repeat_with(move || {
        polled.fetch_add(1, Ordering::SeqCst);
        Ok(Frame::data(chunk.clone()))
    });
    let s: std::pin::Pin<Box<dyn futures_util::Stream<Item = _> + Send>> = match chunks {
        Some(n) => Box::pin(futures_util::StreamExt::take(s, n)),
        None => Box::pin(s),
    };
    StreamBody::new(s)
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413_without_reading_it_all() {
    let f = fixture();
    let polled = Arc::new(AtomicUsize::new(0));
    let body = chunked(1024, None, polled.clone());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sip/session")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    assert!(req.headers().get(header::CONTENT_LENGTH).is_none());
    let res = tokio::time::timeout(Duration::from_secs(10), send_req(&f.api, req))
        .await
        .expect("an endless body must be cut off at the limit");
    assert_eq!(res.assert_error(413), "payload_too_large");
    let polled = polled.load(Ordering::SeqCst);
    assert!(polled <= 17, "read {polled} KiB of a 16 KiB limit");
    assert_eq!(f.fake.count(Operation::CreateSession), 0);
}

#[tokio::test]
async fn chunked_body_under_the_limit_is_read() {
    let f = fixture_with(|b| b.body_limit(64));
    // 40 spaces of JSON whitespace then an object, in five frames: under the limit.
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = (0..4)
        .map(|_| Ok(Frame::data(Bytes::from_static(b"          "))))
        .chain(std::iter::once(Ok(Frame::data(Bytes::from_static(b"{}")))))
        .collect();
    let body = StreamBody::new(stream::iter(frames));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sip/session")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    let res = send_req(&f.api, req).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

#[tokio::test]
async fn declared_length_over_the_limit_is_413() {
    let f = fixture_with(|b| b.body_limit(100));
    let big = format!("{{\"room\":\"{}\"}}", "a".repeat(200));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sip/session")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Full::new(Bytes::from(big)))
        .unwrap();
    assert_eq!(
        send_req(&f.api, req).await.assert_error(413),
        "payload_too_large"
    );
    // The same size without the header is cut off while streaming.
    let big = format!("{{\"room\":\"{}\"}}", "a".repeat(200));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sip/session")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(big)))
        .unwrap();
    assert_eq!(
        send_req(&f.api, req).await.assert_error(413),
        "payload_too_large"
    );
}

/// An inner service that is ready only once per `poll_ready`, like a concurrency
/// limit; a clone starts unready, so calling a fresh clone would panic.
struct OneShotReady {
    ready: bool,
}

impl Clone for OneShotReady {
    fn clone(&self) -> Self {
        Self { ready: false }
    }
}

impl Service<Request<Full<Bytes>>> for OneShotReady {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.ready = true;
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"inner")))))
    }
}

#[tokio::test]
async fn layer_calls_the_inner_instance_that_was_polled_ready() {
    let f = fixture();
    let mut svc = SipDialLayer::new(f.api.clone()).layer(OneShotReady { ready: false });
    for _ in 0..3 {
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(request(Method::GET, "/elsewhere", None))
            .await
            .unwrap();
        assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "inner");
    }
}
