//! CPU cost per request that machine load cannot move: pushes `N` token or dial
//! requests through one form of the API in process, for `bench/cost.sh` to count the
//! instructions under `valgrind --tool=callgrind`.
//!
//! `req-cost FORM ROUTE N`, FORM one of
//! - `core`: `SipDialApi::handle`, the demos' API (`sipdial_demo_support::Demo`);
//! - `axum`: the same API through `sipdial_axum::router`, one `oneshot` per request;
//! - `actix`: the same API through `sipdial_actix::scope` in an `App`, one
//!   `test::call_service` per request;
//! - `ceiling`: the bare ceilings' handlers (`token_route::token`,
//!   `dial_route::dial`), the same code `ceiling-token` / `ceiling-dial` serve;
//!
//! and ROUTE `token` or `dial`. The environment is the examples' (as `bench/run.sh`
//! sets it): `OPENTOK_API_KEY`, `OPENTOK_API_SECRET`, `OPENTOK_API_URL` (a running
//! `fake-platform`: the dial's platform round trip is real, over reqwest, and the fake's
//! own work happens in its own process, outside the count), `SIP_URI`, `SIP_HEADERS`,
//! `SIP_USERNAME`, `SIP_PASSWORD`, the raised limits, the call policies
//! (`SIP_RING_TIMEOUT_SECS`, `SIP_MAX_DURATION_SECS`) and `RUST_LOG` (default `warn`);
//! the examples' metrics recorder is installed unless `REQCOST_METRICS=0`.
//! `WARMUP` requests (default 200) run first, outside the count.
//!
//! Everything runs on one current-thread runtime (actix's `System`), so every task the
//! requests spawn (the dial's own task, reqwest's connection) runs inside
//! [`measured_requests`]: `callgrind --toggle-collect='*measured_requests*'` counts
//! exactly the N requests. What no form does here is the server's HTTP parsing and
//! writing (hyper, actix-http), the same for sipdial and its ceiling. Prints
//! `REQCOST {"form":…,"route":…,"n":N,"ok":K}`.

use std::future::Future;
use std::process::ExitCode;

use actix_web::rt::{System, SystemRunner};
use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt as _, Full};
use sipdial_bench_ceilings::{dial_route, read_body, token_route};
use sipdial_core::SipDialApi;
use tower::ServiceExt as _;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("req-cost: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [form, route, n] = args.as_slice() else {
        return Err("usage: req-cost core|axum|actix|ceiling token|dial N".to_owned());
    };
    let n: usize = n.parse().map_err(|_| "N must be a number".to_owned())?;
    let warmup: usize = sipdial_bench_ceilings::env_or("WARMUP", "200")
        .parse()
        .map_err(|_| "WARMUP must be a number".to_owned())?;
    if !matches!(route.as_str(), "token" | "dial") {
        return Err(format!("unknown route {route}"));
    }
    if std::env::var_os("RUST_LOG").is_none() {
        return Err("set RUST_LOG (bench/run.sh runs the examples at warn)".to_owned());
    }
    sipdial_demo_support::init_tracing();
    // The examples install their Prometheus recorder at start-up; `REQCOST_METRICS=0`
    // leaves the facade without one, to price the metrics.
    if std::env::var("REQCOST_METRICS").map_or(true, |v| v != "0") {
        sipdial_demo_support::install_metrics();
    }
    let demo =
        sipdial_demo_support::Demo::from_env("req-cost").map_err(|e| format!("config: {e}"))?;
    let api = demo.api();
    let system = System::new();
    let session = system.block_on(new_session(&api))?;
    let body = Bytes::from(format!(r#"{{"sessionId":"{session}"}}"#));
    let path = format!("/sip/{route}");
    let ok = match form.as_str() {
        "core" => drive(&system, warmup, n, || {
            let api = api.clone();
            let req = request(&path, &body);
            async move { ok_and_drained(api.handle(req).await).await }
        }),
        "axum" => {
            let router: axum::Router = sipdial_axum::router(api.clone());
            drive(&system, warmup, n, || {
                let router = router.clone();
                let req = request(&path, &body).map(axum::body::Body::new);
                async move {
                    match router.oneshot(req).await {
                        Ok(res) => ok_and_drained(res).await,
                        Err(never) => match never {},
                    }
                }
            })
        }
        "actix" => {
            use actix_web::{App, test};
            let app = system.block_on(test::init_service(
                App::new().service(sipdial_actix::scope(api.clone())),
            ));
            drive(&system, warmup, n, || {
                let req = test::TestRequest::post()
                    .uri(&path)
                    .insert_header(("host", "127.0.0.1:3000"))
                    .insert_header(("content-type", "application/json"))
                    .insert_header(("content-length", body.len().to_string()))
                    .set_payload(body.clone())
                    .to_request();
                let app = &app;
                async move {
                    let res = test::call_service(app, req).await;
                    let ok = res.status().is_success();
                    let _ = test::read_body(res).await;
                    ok
                }
            })
        }
        "ceiling" if route == "token" => {
            let config = token_route::config()?;
            drive(&system, warmup, n, || {
                let req = request(&path, &body);
                let config = &config;
                async move { ok_and_drained(token_route::token(config, read_body(req).await)).await }
            })
        }
        "ceiling" => {
            let config = dial_route::config()?;
            drive(&system, warmup, n, || {
                let req = request(&path, &body);
                let config = &config;
                async move { ok_and_drained(dial_route::dial(config, read_body(req).await).await).await }
            })
        }
        other => return Err(format!("unknown form {other}")),
    };
    println!(r#"REQCOST {{"form":"{form}","route":"{route}","n":{n},"ok":{ok}}}"#);
    if ok != n {
        return Err(format!("{} of {n} requests failed", n - ok));
    }
    Ok(())
}

/// A session the API knows, created through its own route.
async fn new_session(api: &SipDialApi) -> Result<String, String> {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/sip/session")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(b"{}")))
        .map_err(|e| e.to_string())?;
    let res = api.handle(req).await;
    let status = res.status();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    json["sessionId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("POST /sip/session answered {status}: {json}"))
}

/// The request wrk sends: `POST path` with `Host`, `Content-Type` and `Content-Length`.
fn request(path: &str, body: &Bytes) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body.clone()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = path.parse().unwrap_or_default();
    let headers = req.headers_mut();
    headers.insert(
        header::HOST,
        http::HeaderValue::from_static("127.0.0.1:3000"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    req
}

/// Whether the answer is a success, its body read to the end as a server would.
async fn ok_and_drained<B: http_body::Body>(res: http::Response<B>) -> bool {
    let ok = res.status().is_success();
    ok && res.into_body().collect().await.is_ok()
}

/// `warmup` requests, then `n` counted ones; the number that succeeded.
fn drive<F, Fut>(system: &SystemRunner, warmup: usize, n: usize, mut one: F) -> usize
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let warm = system.block_on(sequential(warmup, &mut one));
    if warm != warmup {
        eprintln!(
            "req-cost: {} of {warmup} warm-up requests failed",
            warmup - warm
        );
    }
    measured_requests(system, n, &mut one)
}

/// The counted requests, one after the other (the callgrind toggle point).
#[inline(never)]
fn measured_requests<F, Fut>(system: &SystemRunner, n: usize, one: &mut F) -> usize
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    system.block_on(sequential(n, one))
}

async fn sequential<F, Fut>(n: usize, one: &mut F) -> usize
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut ok = 0;
    for _ in 0..n {
        if one().await {
            ok += 1;
        }
    }
    ok
}
