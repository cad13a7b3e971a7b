//! Serving HTTP: accepting connections, reading bodies with a limit, recording each
//! request, applying scripted faults, checking auth, and routing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::Inner;
use crate::body::{self, Body};
use crate::error::ApiError;
use crate::faults::{self, Fault};
use crate::recorded::RecordedRequest;
use crate::routes::{Ctx, Route};
use crate::sync::lock;

/// Largest request body read; the cloud's bodies are a few kilobytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(super) async fn accept_loop(
    listener: TcpListener,
    inner: Arc<Inner>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                conns.spawn(serve_connection(stream, Arc::clone(&inner), stop.clone()));
            }
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(1), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    inner: Arc<Inner>,
    mut stop: watch::Receiver<bool>,
) {
    // A `DropConnection` fault fires this; dropping the connection future then closes
    // the socket with no response written.
    let kill = Arc::new(Notify::new());
    let svc_kill = Arc::clone(&kill);
    let svc = service_fn(move |req| {
        let inner = Arc::clone(&inner);
        let kill = Arc::clone(&svc_kill);
        async move { Ok::<_, Infallible>(handle(&inner, req, &kill).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = kill.notified() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn handle(
    inner: &Inner,
    req: http::Request<hyper::body::Incoming>,
    kill: &Notify,
) -> http::Response<Body> {
    let (parts, incoming) = req.into_parts();
    let body = match Limited::new(incoming, MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                .into_response();
        }
    };
    let path = parts.uri.path().to_owned();
    let now = crate::clock::now_secs();
    let auth = crate::auth::verify_rest(&parts.headers, &inner.creds, now);
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
            kill.notify_one();
            // The connection task drops this future with the connection.
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
        None => route(inner, &parts, &body, auth, now),
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

fn route(
    inner: &Inner,
    parts: &http::request::Parts,
    body: &Bytes,
    auth: Result<crate::auth::Verified, &'static str>,
    now: i64,
) -> http::Response<Body> {
    let result = Route::parse(&parts.method, parts.uri.path()).and_then(|route| {
        let verified = auth.map_err(ApiError::forbidden)?;
        if route.key().is_some_and(|k| k != verified.key) {
            return Err(ApiError::forbidden(
                "The project key in the path does not match the credentials",
            ));
        }
        let ctx = Ctx {
            creds: &inner.creds,
            store: &inner.store,
            lifecycle: &inner.lifecycle,
            sip: inner.sip.as_deref(),
            verified: &verified,
            headers: &parts.headers,
            body,
            now_secs: now,
        };
        crate::routes::handle(route, &ctx)
    });
    result.unwrap_or_else(ApiError::into_response)
}

fn status_fault(
    status: u16,
    body: Option<String>,
    retry_after: Option<u64>,
) -> http::Response<Body> {
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
