//! The HTTP API's own cost, over the in-memory `FakeDialer`: routing, the content-type,
//! body-limit and JSON checks, field validation, the store and the response JSON.
//!
//! - `api/route_404`: an unknown path (routing only);
//! - `api/token`: `POST /sip/token` (validation, known-session lookup, HS256 minting);
//! - `api/dial_invalid_session` and `api/dial_unknown_field`: `POST /sip/dial` refused
//!   by validation (routing + JSON + validation, no dialer);
//! - `api/dial`: a whole dial (two tokens' worth of work in the fake, limits, store);
//! - `api/list_calls/N`: `GET /sip/calls?sessionId=S` for a session of 10 calls while
//!   the store holds N calls in all: it must stay flat from 1k to 100k.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use sipdial_core::api::{CallStore, InMemoryCallStore, SipTarget};
use sipdial_core::fake::FakeDialer;
use sipdial_core::{SipAuth, SipDialApi, SipHeaders, SipUri};

mod support;

use support::{SIZES, filled_store};

fn api_over(store: Arc<dyn CallStore>) -> SipDialApi {
    let headers: BTreeMap<String, String> = [
        ("X-Bench-Run".to_owned(), "criterion".to_owned()),
        ("X-Customer".to_owned(), "baseline".to_owned()),
    ]
    .into_iter()
    .collect();
    let target = SipTarget::new(
        "default",
        SipUri::new("sip:bench@127.0.0.1;transport=tls").expect("uri"),
    )
    .auth(SipAuth::new("bench-user", "bench-pass"))
    .headers(SipHeaders::try_from(headers).expect("headers"));
    SipDialApi::builder(Arc::new(FakeDialer::new()))
        .anonymous()
        .prefix("/sip")
        .target(target)
        .default_target("default")
        .max_active_calls_per_session(usize::MAX / 2)
        .dials_per_minute(u32::MAX)
        .max_active_calls_per_client(usize::MAX / 2)
        .client_dials_per_minute(u32::MAX)
        .client_sessions_per_minute(u32::MAX)
        .max_active_calls_total(usize::MAX / 2)
        .dials_per_minute_total(u32::MAX)
        .store(store)
        .build()
        .expect("api")
}

fn request(method: Method, uri: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request")
}

/// Runs one request to completion; the API over the fake never waits on I/O.
fn call(api: &SipDialApi, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    async {
        let res = api.handle(req).await;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        (status, body)
    }
    .now_or_never()
    .expect("the API over the fake answers without waiting")
}

fn new_session(api: &SipDialApi) -> String {
    let (status, body) = call(api, request(Method::POST, "/sip/session", "{}"));
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    v["sessionId"].as_str().expect("sessionId").to_owned()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn routes(c: &mut Criterion) {
    let api = api_over(Arc::new(InMemoryCallStore::new()));
    let session = new_session(&api);
    let token_body = leak(format!(r#"{{"sessionId":"{session}"}}"#));
    let mut group = c.benchmark_group("api");
    group.bench_function("route_404", |b| {
        b.iter(|| call(&api, request(Method::GET, "/sip/nope", "")));
    });
    group.bench_function("token", |b| {
        b.iter(|| {
            let (status, body) = call(&api, request(Method::POST, "/sip/token", token_body));
            debug_assert_eq!(status, StatusCode::OK);
            body
        });
    });
    group.bench_function("dial_invalid_session", |b| {
        b.iter(|| {
            call(
                &api,
                request(
                    Method::POST,
                    "/sip/dial",
                    r#"{"sessionId":"not a session id"}"#,
                ),
            )
        });
    });
    group.bench_function("dial_unknown_field", |b| {
        b.iter(|| {
            call(
                &api,
                request(
                    Method::POST,
                    "/sip/dial",
                    r#"{"sessionId":"1_x","sipUri":"x"}"#,
                ),
            )
        });
    });
    // A fresh API (and fake) every 1,000 dials, untimed, so the session's call list and
    // the fake's log stay small and every sample measures the same thing.
    group.bench_function("dial", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(1_000);
                left -= n;
                let api = api_over(Arc::new(InMemoryCallStore::new()));
                let session = new_session(&api);
                let body = leak(format!(r#"{{"sessionId":"{session}"}}"#));
                let started = Instant::now();
                for _ in 0..n {
                    let (status, _) = call(&api, request(Method::POST, "/sip/dial", body));
                    debug_assert_eq!(status, StatusCode::CREATED);
                }
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn list_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("api/list_calls");
    for total in SIZES {
        let (store, session) = filled_store(total);
        let api = api_over(store);
        let uri = leak(format!("/sip/calls?sessionId={session}"));
        group.bench_with_input(BenchmarkId::from_parameter(total), &total, |b, _| {
            b.iter(|| {
                let (status, body) = call(&api, request(Method::GET, uri, ""));
                debug_assert_eq!(status, StatusCode::OK);
                black_box(body)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, routes, list_calls);
criterion_main!(benches);
