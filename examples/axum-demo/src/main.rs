//! The SIP Interconnect sample page on axum: `cargo run -p axum-demo`, then open the URL
//! it prints. Without credentials it runs in demo mode on the fake dialer; every variable
//! is listed in the README's quick start and read by `sipdial-demo-support`.

use std::process::ExitCode;

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sipdial_demo_support::{Asset, shutdown_signal, start};

#[tokio::main]
async fn main() -> ExitCode {
    let (demo, listener) = match start("axum-demo") {
        Ok(started) => started,
        Err(code) => return code,
    };
    // The API at /sip, the page at / and its two files under /assets.
    let mut app = sipdial_axum::router(demo.api());
    for asset in demo.assets() {
        app = app.route(
            asset.path(),
            get(move || std::future::ready(respond(&asset))),
        );
    }
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
