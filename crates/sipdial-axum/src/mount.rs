//! Telling the core where the host nested the router.
//!
//! `Router::nest("/api", …)` strips `/api` before the request reaches our routes, and
//! only the original URI (kept by axum's top router) still has it. The difference is
//! the mount, handed to the core as a [`MountPath`] so that `Location` and the served
//! OpenAPI document point below it. The actual path is used, not the nest pattern, so
//! a host nesting at `/t/{tenant}` gets `/t/acme` back.

use std::task::{Context, Poll};

use axum::extract::OriginalUri;
use sipdial_core::SipDialService;
use sipdial_core::api::MountPath;
use tower_service::Service;

/// [`SipDialService`] with the mount learned from the request.
#[derive(Debug, Clone)]
pub(crate) struct Mounted(pub(crate) SipDialService);

impl<B> Service<axum::http::Request<B>> for Mounted
where
    SipDialService: Service<axum::http::Request<B>>,
{
    type Response = <SipDialService as Service<axum::http::Request<B>>>::Response;
    type Error = <SipDialService as Service<axum::http::Request<B>>>::Error;
    type Future = <SipDialService as Service<axum::http::Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        if let Some(OriginalUri(original)) = req.extensions().get::<OriginalUri>() {
            let mount = MountPath::from_stripped(original.path(), req.uri().path());
            req.extensions_mut().insert(mount);
        }
        self.0.call(req)
    }
}
