//! The SIP Interconnect sample page on actix-web: `cargo run -p actix-demo`, then open the
//! URL it prints. Without credentials it runs in demo mode on the fake dialer; every
//! variable is listed in the README's quick start and read by `sipdial-demo-support`.

use std::process::ExitCode;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, COOKIE, HOST};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use sipdial_demo_support::{
    Asset, Gate, Incoming, METRICS_CONTENT_TYPE, METRICS_PATH, Refusal, render_metrics,
    shutdown_signal, start,
};

#[actix_web::main]
async fn main() -> ExitCode {
    let (demo, listener) = match start("actix-demo") {
        Ok(started) => started,
        Err(code) => return code,
    };
    let (api, assets, mount) = (demo.api(), demo.assets(), demo.mount().to_owned());
    let gate = demo.gate();
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
        // In front of every route: the Host check and, when set, the access token.
        let gate = gate.clone();
        App::new()
            .wrap(from_fn(move |req, next| guard(gate.clone(), req, next)))
            .service(scope)
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

/// Hands the request's Host, credentials and path to the demo's [`Gate`].
async fn guard(
    gate: std::sync::Arc<Gate>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let verdict = {
        let headers = req.headers();
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let cookie = headers
            .get_all(COOKIE)
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        gate.check(&Incoming {
            path: req.path(),
            query: Some(req.query_string()).filter(|q| !q.is_empty()),
            host: text(HOST).or_else(|| req.uri().authority().map(|a| a.as_str())),
            authorization: text(AUTHORIZATION),
            cookie: Some(cookie.as_str()).filter(|c| !c.is_empty()),
        })
    };
    match verdict {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(refusal) => Ok(req.into_response(refused(&refusal)).map_into_right_body()),
    }
}

fn refused(refusal: &Refusal) -> HttpResponse {
    let mut response = HttpResponse::build(
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN),
    );
    for header in refusal.headers() {
        response.append_header((header.0, header.1.as_str()));
    }
    response.body(refusal.body())
}

fn respond(asset: &Asset) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for header in asset.headers() {
        response.insert_header(header);
    }
    response.body(asset.body())
}
