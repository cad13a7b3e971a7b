//! The SIP Interconnect sample page on axum: `cargo run -p axum-demo`, then open the URL
//! it prints. Without credentials it runs in demo mode on the fake dialer; every variable
//! is listed in the README's quick start and read by `sipdial-demo-support`.

use std::process::ExitCode;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sipdial_demo_support::{
    Asset, METRICS_CONTENT_TYPE, METRICS_PATH, render_metrics, shutdown_signal, start,
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
    let served = async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
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
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}
