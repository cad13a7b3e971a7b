//! Telling the core where the host nested the router.
//!
//! `Router::nest("/api", …)` strips `/api` before the request reaches our routes, and
//! only the original URI (kept by axum's top router) still has it. The difference is
//! the mount, handed to the core as a [`MountPath`] so that `Location` and the served
//! OpenAPI document point below it. The actual path is used, not the nest pattern, so
//! a host nesting at `/t/{tenant}` gets `/t/acme` back.

use std::task::{Context, Poll};

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri};
use sipdial_core::SipDialService;
use sipdial_core::api::{ClientAddr, MountPath};
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
        // The peer, for the per-client limits of anonymous requests: present when the
        // host serves with `into_make_service_with_connect_info::<SocketAddr>()`.
        if req.extensions().get::<ClientAddr>().is_none()
            && let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        {
            let peer = *peer;
            req.extensions_mut().insert(ClientAddr(peer));
        }
        if let Some(OriginalUri(original)) = req.extensions().get::<OriginalUri>() {
            // Merged at the top (nothing stripped) the mount is the root, which is also
            // what the core reads when no mount is given: skip building one per
            // request, unless an outer layer set another that must be replaced.
            let stripped = original.path() != req.uri().path();
            if stripped || req.extensions().get::<MountPath>().is_some() {
                let mount = MountPath::from_stripped(original.path(), req.uri().path());
                req.extensions_mut().insert(mount);
            }
        }
        self.0.call(req)
    }
}
