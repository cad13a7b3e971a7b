//! The SIP Interconnect sample page on actix-web: `cargo run -p actix-demo`, then open the
//! URL it prints. Without credentials it runs in demo mode on the fake dialer; every
//! variable is listed in the README's quick start and read by `sipdial-demo-support`.

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use sipdial_demo_support::{
    Asset, METRICS_CONTENT_TYPE, METRICS_PATH, render_metrics, shutdown_signal, start,
};

#[actix_web::main]
async fn main() -> ExitCode {
    let (demo, listener) = match start("actix-demo") {
        Ok(started) => started,
        Err(code) => return code,
    };
    let (api, assets, mount) = (demo.api(), demo.assets(), demo.mount().to_owned());
    // Inside a scope at SIPDIAL_MOUNT (empty by default), the way a host nests it: the
    // API at {mount}/sip, the page at {mount}/ and its two files under {mount}/assets.
    let server = HttpServer::new(move || {
        let mut scope = web::scope(&mount).service(sipdial_actix::scope(api.clone()));
        for asset in assets.clone() {
            scope = scope.route(
                asset.path(),
                web::get().to(move || std::future::ready(respond(&asset))),
            );
        }
        scope = scope.route(METRICS_PATH, web::get().to(metrics));
        if !mount.is_empty() {
            // The page resolves its links against its own URL, which must end in `/`.
            let page = format!("{mount}/");
            scope = scope.route(
                "",
                web::get().to(move || {
                    let page = page.clone();
                    async move {
                        HttpResponse::PermanentRedirect()
                            .insert_header(("location", page))
                            .finish()
                    }
                }),
            );
        }
        App::new().service(scope)
    })
    .shutdown_signal(shutdown_signal())
    .listen(listener);
    let served = match server {
        Ok(server) => server.run().await,
        Err(e) => Err(e),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actix-demo: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET {mount}/metrics`: Prometheus text (404 when another recorder is installed).
async fn metrics() -> HttpResponse {
    match render_metrics() {
        Some(text) => HttpResponse::Ok()
            .content_type(METRICS_CONTENT_TYPE)
            .body(text),
        None => HttpResponse::NotFound().finish(),
    }
}

fn respond(asset: &Asset) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for header in asset.headers() {
        response.insert_header(header);
    }
    response.body(asset.body())
}
