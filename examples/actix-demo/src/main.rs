//! The SIP Interconnect sample page on actix-web: `cargo run -p actix-demo`, then open the
//! URL it prints. Without credentials it runs in demo mode on the fake dialer; every
//! variable is listed in the README's quick start and read by `sipdial-demo-support`.

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use sipdial_demo_support::{Asset, shutdown_signal, start};

#[actix_web::main]
async fn main() -> ExitCode {
    let (demo, listener) = match start("actix-demo") {
        Ok(started) => started,
        Err(code) => return code,
    };
    let (api, assets) = (demo.api(), demo.assets());
    // The API at /sip, the page at / and its two files under /assets.
    let server = HttpServer::new(move || {
        let mut app = App::new().service(sipdial_actix::scope(api.clone()));
        for asset in assets.clone() {
            let path = asset.path();
            app = app.route(
                path,
                web::get().to(move || std::future::ready(respond(&asset))),
            );
        }
        app
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

fn respond(asset: &Asset) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for header in asset.headers() {
        response.insert_header(header);
    }
    response.body(asset.body())
}
