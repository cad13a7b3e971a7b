//! What the load benchmark (`bench/run.sh`) compares sipdial with, and the probes it
//! drives: the smallest hyper programs that do the same job as sipdial's token and dial
//! routes (the "ceilings"), an in-process token-rate probe and the concurrent-dial
//! scale driver.
//!
//! A ceiling does the work a route cannot avoid (parse the JSON body, sign the same
//! JWTs with the same code, forward the same dial body to the same platform over
//! reqwest) and nothing else: no routing table, validation, authorizer, origin check,
//! limits, call store or tracing. sipdial's share of a ceiling's req/s is then the cost
//! of everything it adds.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sipdial_core::jwt::{ClientTokenClaims, Hs256Key};
use sipdial_core::{ClientToken, ConnectionData, DialError, Role, SessionId, TokenOptions};

pub mod dial_route;
pub mod token_route;

/// Largest request body a ceiling reads (sipdial's default limit).
pub const BODY_LIMIT: usize = 16 * 1024;

/// A response of a ceiling.
pub type Reply = Response<Full<Bytes>>;

/// A variable's value, or `default` when it is unset or empty.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A required variable, or a message naming it.
pub fn env_required(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is required"))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A JSON answer.
pub fn json_reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A JSON error answer in sipdial's shape, so that wrk counts it as non-2xx like any
/// other failure.
pub fn error_reply(status: StatusCode, code: &str) -> Reply {
    let body = serde_json::json!({"error": {"code": code, "message": code}}).to_string();
    json_reply(status, body)
}

/// Reads a request body of at most [`BODY_LIMIT`] bytes (hyper's `Incoming` when
/// served, a buffered body when `req-cost` calls a handler in process).
pub async fn read_body<B>(req: Request<B>) -> Option<Bytes>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Limited::new(req.into_body(), BODY_LIMIT)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

/// A client token for `session`, minted by the same code sipdial's dialers use
/// ([`ClientTokenClaims::sign_hs256_with`], the secret prepared once as the dialer
/// prepares it).
pub fn mint_token(
    api_key: &str,
    key: &Hs256Key,
    session: &SessionId,
    role: Role,
    data: Option<ConnectionData>,
) -> Result<ClientToken, DialError> {
    let options = TokenOptions {
        role,
        data,
        ..TokenOptions::default()
    };
    ClientTokenClaims::new(
        api_key,
        session,
        &options,
        now_secs(),
        rand::random::<f64>(),
    )
    .sign_hs256_with(key)
}

/// Binds `HOST` (default 127.0.0.1) and `PORT` (default 0), prints
/// `NAME listening on http://ADDR` and serves `handler` on HTTP/1.1 until SIGTERM or
/// Ctrl-C. Runs on a multi-threaded tokio runtime, as the axum example does.
pub fn serve<H, F>(name: &'static str, handler: H) -> Result<(), String>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(accept_loop(name, Arc::new(handler)))
}

async fn accept_loop<H, F>(name: &'static str, handler: Arc<H>) -> Result<(), String>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let host: IpAddr = env_or("HOST", "127.0.0.1")
        .parse()
        .map_err(|_| "HOST must be an IP address".to_owned())?;
    let port: u16 = env_or("PORT", "0")
        .parse()
        .map_err(|_| "PORT must be a number from 0 to 65535".to_owned())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(host, port))
        .await
        .map_err(|e| format!("cannot bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    println!("{name} listening on http://{addr}");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return Ok(()),
            a = listener.accept() => a,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors or a reset before accept: keep serving.
                eprintln!("{name}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let fut = handler(req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `VmRSS` and `VmHWM` of a process, in KiB (Linux only; `None` elsewhere or when the
/// process is gone).
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
