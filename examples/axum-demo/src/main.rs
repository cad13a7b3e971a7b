//! The SIP Interconnect sample page on axum: `cargo run -p axum-demo`, then open the URL
//! it prints. Without credentials it runs in demo mode on the fake dialer; every variable
//! is listed in the README's quick start and read by `sipdial-demo-support`.

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sipdial_demo_support::{
    Asset, Gate, Incoming, METRICS_CONTENT_TYPE, METRICS_PATH, Refusal, render_metrics,
    shutdown_signal, start,
};

#[tokio::main]
async fn main() -> ExitCode {
    let (demo, listener) = match start("axum-demo") {
        Ok(started) => started,
        Err(code) => return code,
    };
    // Below SIPDIAL_MOUNT (empty by default): the API at {mount}/sip, nested the way
    // a host nests it, the page at {mount}/ and its two files under {mount}/assets.
    let mount = demo.mount().to_owned();
    let mut app = if mount.is_empty() {
        sipdial_axum::router(demo.api())
    } else {
        // The page resolves its links against its own URL, which must end in `/`.
        let page = format!("{mount}/");
        Router::new()
            .nest(&mount, sipdial_axum::router(demo.api()))
            .route(
                &mount,
                get(move || std::future::ready(Redirect::permanent(&page))),
            )
    };
    for asset in demo.assets() {
        app = app.route(
            &format!("{mount}{}", asset.path()),
            get(move || std::future::ready(respond(&asset))),
        );
    }
    app = app.route(
        &format!("{mount}{METRICS_PATH}"),
        get(|| std::future::ready(metrics())),
    );
    // In front of every route: the Host check and, when set, the access token.
    let app = app.layer(from_fn_with_state(demo.gate(), gate));
    let served = async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    };
    match served.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum-demo: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET {mount}/metrics`: Prometheus text (404 when another recorder is installed).
fn metrics() -> Response {
    match render_metrics() {
        Some(text) => ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn respond(asset: &Asset) -> Response {
    let mut response = asset.body().into_response();
    for (name, value) in asset.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// Hands the request's Host, credentials and path to the demo's [`Gate`].
async fn gate(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let verdict = {
        let headers = req.headers();
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let cookie = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        gate.check(&Incoming {
            path: req.uri().path(),
            query: req.uri().query(),
            host: text(HOST).or_else(|| req.uri().authority().map(|a| a.as_str())),
            authorization: text(AUTHORIZATION),
            cookie: Some(cookie.as_str()).filter(|c| !c.is_empty()),
        })
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(refusal) => refused(&refusal),
    }
}

fn refused(refusal: &Refusal) -> Response {
    let mut response = refusal.body().into_response();
    *response.status_mut() =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    for (name, value) in refusal.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}
