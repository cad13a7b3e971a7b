//! The suite's HTTP/1.1 client (hyper's), so a form can be tested over a real socket,
//! where "the client went away" means a closed TCP connection.

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::sse::TestStream;
use super::{TestRequest, TestResponse};

/// An HTTP/1.1 client (one connection per request) for forms served on a real socket:
/// it sends a [`TestRequest`] as a browser would (chunked bodies as
/// `Transfer-Encoding: chunked`) and reads the answer whole ([`Http1Client::send`]) or
/// as a stream ([`Http1Client::open`]).
#[derive(Debug, Clone, Copy)]
pub struct Http1Client {
    addr: SocketAddr,
}

/// Closes the connection when the answer is dropped, whether or not it was read to the
/// end: that is what the server sees of a client that goes away.
struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The status a failed exchange is reported with, so the case names the reason.
fn failed() -> StatusCode {
    StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl Http1Client {
    /// A client of the server at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    async fn start(
        &self,
        request: TestRequest,
    ) -> Result<(http::Response<Incoming>, Connection), String> {
        let socket = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let conn = Connection(tokio::spawn(async move {
            let _ = conn.await;
        }));
        let mut request = request.into_http();
        if !request.headers().contains_key(http::header::HOST) {
            let host = HeaderValue::from_str(&self.addr.to_string()).map_err(|e| e.to_string())?;
            request.headers_mut().insert(http::header::HOST, host);
        }
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        Ok((response, conn))
    }

    /// Sends `request` and reads the whole answer. A failure is reported as status 599
    /// with the reason as body, so the case names it.
    pub async fn send(&self, request: TestRequest) -> TestResponse {
        match self.start(request).await {
            Ok((response, _conn)) => TestResponse::from_http(response).await,
            Err(e) => TestResponse {
                status: failed(),
                headers: HeaderMap::new(),
                body: Bytes::from(e),
            },
        }
    }

    /// Sends `request` and returns the answer as an open stream; dropping it closes the
    /// connection.
    pub async fn open(&self, request: TestRequest) -> TestStream {
        match self.start(request).await {
            Ok((response, conn)) => TestStream::from_http(response.map(|body| {
                body.map_err(move |e| {
                    // The connection lives as long as the body.
                    let _ = &conn;
                    e
                })
            })),
            Err(e) => TestStream::new(
                failed(),
                HeaderMap::new(),
                futures_util::stream::iter([Err(e)]),
            ),
        }
    }
}

/// What stops a [`ServedForm`]'s server (abort its task, stop its Actix system).
pub type StopServer = Box<dyn FnOnce()>;

/// A form served on a real socket: it only says how to start a server for `api`
/// inside its host app; [`Served`] does the rest (the client, the suite's traits,
/// stopping the server when the case ends), once for every adapter.
pub trait ServedForm {
    /// Starts serving `api` (mounted as a host app would, foreign paths reaching the
    /// host), returning where it listens and what stops it.
    fn serve(api: crate::SipDialApi) -> impl Future<Output = (SocketAddr, StopServer)>;
}

/// The form `F` over TCP through [`Http1Client`]: a client that goes away is a closed
/// connection and every answer crosses the framework's HTTP/1 server.
pub struct Served<F> {
    client: Http1Client,
    stop: Option<StopServer>,
    form: std::marker::PhantomData<F>,
}

impl<F> Drop for Served<F> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

impl<F: ServedForm> super::HttpIntegration for Served<F> {
    async fn build(api: crate::SipDialApi) -> Self {
        let (addr, stop) = F::serve(api).await;
        Self {
            client: Http1Client::new(addr),
            stop: Some(stop),
            form: std::marker::PhantomData,
        }
    }

    fn wraps_host_app(&self) -> bool {
        true
    }

    async fn send(&self, request: TestRequest) -> TestResponse {
        self.client.send(request).await
    }
}

impl<F: ServedForm> super::StreamingIntegration for Served<F> {
    async fn open(&self, request: TestRequest) -> TestStream {
        self.client.open(request).await
    }
}
