//! Serving HTTP: `axum::serve` runs the router behind a layer that reads each body with
//! a limit, records the request and applies scripted faults. The one thing axum cannot do
//! for a fake is close a connection without answering, so the connections come from a
//! listener that can cut them.

use std::future::{Future, IntoFuture as _};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::serve::{IncomingStream, Listener};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::Inner;
use crate::body;
use crate::error::ApiError;
use crate::faults::{self, Fault};
use crate::recorded::RecordedRequest;
use crate::routes::Arrived;
use crate::sync::lock;

/// Largest request body read; the cloud's bodies are a few kilobytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a stop waits for requests in flight before cutting their connections.
const GRACE: Duration = Duration::from_secs(1);

pub(super) async fn serve(
    listener: TcpListener,
    inner: Arc<Inner>,
    mut stop: watch::Receiver<bool>,
) {
    let (cut_all, all_cut) = watch::channel(false);
    let app = crate::routes::router()
        .layer(middleware::from_fn_with_state(Arc::clone(&inner), record))
        .with_state(inner)
        .into_make_service_with_connect_info::<Cut>();
    let listener = CuttingListener { listener, all_cut };
    let mut stopped = stop.clone();
    let serving = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .into_future();
    tokio::pin!(serving);
    tokio::select! {
        _ = &mut serving => return,
        _ = stop.wait_for(|stop| *stop) => {}
    }
    if tokio::time::timeout(GRACE, serving).await.is_err() {
        let _ = cut_all.send(true);
    }
}

/// Reads the body, records the request, and either answers with its scripted fault or
/// hands it to the routes.
async fn record(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(cut): ConnectInfo<Cut>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
            .into_response();
    };
    let path = parts.uri.path().to_owned();
    let now_secs = crate::clock::now_secs();
    let auth = crate::auth::verify_rest(&parts.headers, &inner.creds, now_secs);
    let index = {
        let mut requests = lock(&inner.requests);
        requests.push(RecordedRequest {
            method: parts.method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body: body.clone(),
            auth_claims: auth.as_ref().ok().map(|v| v.claims.clone()),
            auth_kind: auth.as_ref().ok().map(|v| v.kind),
            status: None,
        });
        requests.len() - 1
    };
    let fault = faults::take(&mut lock(&inner.faults), &parts.method, &path);
    let mut slow = None;
    let resp = match fault {
        Some(Fault::Status {
            status,
            body,
            retry_after,
        }) => Some(status_fault(status, body, retry_after)),
        Some(Fault::MalformedJson) => Some(body::raw_json_response(
            StatusCode::OK,
            Bytes::from_static(b"{\"id\":\"8d2c0e1a-trunc"),
        )),
        Some(Fault::DropConnection) => {
            cut.now();
            // The connection fails on its next read and is dropped with this future.
            std::future::pending::<()>().await;
            None
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::SlowBody(d)) => {
            slow = Some(d);
            None
        }
        None => None,
    };
    let resp = match resp {
        // An injected failure closes its connection after the answer, as a failing
        // upstream behind a load balancer does: the client's next attempt then never
        // races the pool for a connection still being handed back, and a test counting
        // sockets sees the same whatever the scheduler's timing.
        Some(mut r) => {
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        None => {
            let mut req = Request::from_parts(parts, axum::body::Body::empty());
            req.extensions_mut().insert(Arrived {
                body,
                auth,
                now_secs,
            });
            next.run(req).await
        }
    };
    let resp = match slow {
        Some(d) => body::slow(resp, d).await,
        None => resp,
    };
    if let Some(r) = lock(&inner.requests).get_mut(index) {
        r.status = Some(resp.status().as_u16());
    }
    resp
}

fn status_fault(status: u16, body: Option<String>, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match body {
        None => ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Injected fault"),
        )
        .into_response(),
        Some(text) => {
            let is_json = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            let mut r = body::raw_json_response(status, text);
            if !is_json {
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            }
            r
        }
    };
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Accepts as axum's `TcpListener` does, and hands out connections that can be cut: one
/// by a `DropConnection` fault, or all once a stop's grace period is over.
struct CuttingListener {
    listener: TcpListener,
    all_cut: watch::Receiver<bool>,
}

impl Listener for CuttingListener {
    type Io = CuttableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.listener).await;
        (CuttableStream::new(stream, self.all_cut.clone()), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Listener::local_addr(&self.listener)
    }
}

/// Cuts one connection: what a request sees of the connection it came on.
#[derive(Clone)]
struct Cut(Arc<Notify>);

impl Cut {
    fn now(&self) {
        self.0.notify_one();
    }
}

impl Connected<IncomingStream<'_, CuttingListener>> for Cut {
    fn connect_info(stream: IncomingStream<'_, CuttingListener>) -> Self {
        stream.io().cut.clone()
    }
}

/// A socket that fails every read and write once cut. hyper reads even while a request
/// is being handled (to notice a client going away), so a cut ends the connection at
/// once, drops the request's future and closes the socket with nothing more written.
struct CuttableStream {
    stream: TcpStream,
    cut: Cut,
    /// Ready once this connection or every connection is cut (or the server is gone).
    on_cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    is_cut: bool,
}

impl CuttableStream {
    fn new(stream: TcpStream, mut all_cut: watch::Receiver<bool>) -> Self {
        let cut = Cut(Arc::new(Notify::new()));
        let this_cut = Arc::clone(&cut.0);
        let on_cut = Box::pin(async move {
            tokio::select! {
                () = this_cut.notified() => {}
                _ = all_cut.wait_for(|cut| *cut) => {}
            }
        });
        Self {
            stream,
            cut,
            on_cut,
            is_cut: false,
        }
    }

    /// An error once cut; until then, registers the task to be woken by the cut.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.is_cut && self.on_cut.as_mut().poll(cx).is_ready() {
            self.is_cut = true;
        }
        if self.is_cut {
            Err(io::ErrorKind::ConnectionAborted.into())
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
