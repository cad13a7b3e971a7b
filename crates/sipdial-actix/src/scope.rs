//! The scope and configure forms.

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use sipdial_core::SipDialApi;

use crate::{body, convert};

/// A scope serving the API under its prefix: `App::new().service(sipdial_actix::scope(api))`
/// serves `{prefix}/…`; inside a parent scope (`web::scope("/api").service(…)`, at any
/// depth) it serves `/api{prefix}/…`, and every URL it answers with (`Location`, the
/// served OpenAPI document's server) starts with the path the parent scopes matched.
///
/// Every request to the prefix or below it, whatever the method, reaches the core
/// handler, so the core answers its own 404, 405 and `Allow`; other paths stay with the
/// host's services. The scope is returned as is, so hosts can add their own middleware
/// with `.wrap(..)`.
pub fn scope(api: SipDialApi) -> Scope {
    let prefix = api.prefix().to_owned();
    web::scope(&prefix).default_service(web::to(move |req: HttpRequest, payload: web::Payload| {
        let api = api.clone();
        async move { serve(&api, req, payload).await }
    }))
}

/// The same scope for `App::configure` or `Scope::configure`:
/// `App::new().configure(sipdial_actix::configure(api))`, or inside a parent scope
/// `web::scope("/api").configure(sipdial_actix::configure(api))`.
pub fn configure(api: SipDialApi) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config.service(scope(api));
    }
}

/// Translates one request to the core handler and its answer back.
async fn serve(api: &SipDialApi, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = body::read_limited(payload.into_inner(), api.body_limit()).await;
    let response = match convert::request(&req, api.prefix(), body) {
        Ok(request) => api.handle(request).await,
        Err(unreadable) => unreadable.into_response(),
    };
    convert::response(response)
}
