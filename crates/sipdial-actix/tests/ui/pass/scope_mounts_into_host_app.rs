//! The scope and configure forms mount into a host `App` that has its own `app_data`,
//! routes and default service, and into the per-worker factory `HttpServer` takes.

use std::sync::Arc;
use std::sync::Mutex;

use actix_web::{App, HttpResponse, HttpServer, web};
use sipdial_core::SipDialApi;
use sipdial_core::fake::FakeDialer;

struct Visits(Mutex<u64>);

async fn index(visits: web::Data<Visits>) -> String {
    let mut n = visits.0.lock().unwrap();
    *n += 1;
    n.to_string()
}

fn main() {
    let api = SipDialApi::builder(Arc::new(FakeDialer::new())).anonymous()
        .build()
        .unwrap();
    let visits = web::Data::new(Visits(Mutex::new(0)));

    let _scoped = App::new()
        .app_data(visits.clone())
        .route("/", web::get().to(index))
        .service(sipdial_actix::scope(api.clone()))
        .default_service(web::to(HttpResponse::NotFound));

    let _configured = App::new()
        .app_data(visits.clone())
        .configure(sipdial_actix::configure(api.clone()))
        .route("/", web::get().to(index));

    let _server = HttpServer::new(move || {
        App::new()
            .app_data(visits.clone())
            .route("/", web::get().to(index))
            .service(sipdial_actix::scope(api.clone()))
    });
}
