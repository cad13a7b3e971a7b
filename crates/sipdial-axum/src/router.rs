//! The router and layer forms.

use axum::Router;
use sipdial_core::{SipDialApi, SipDialLayer, SipDialService};

use crate::mount::Mounted;

/// A router serving the API under its prefix, for the host to merge or nest into its
/// own router: `Router<S>` for any host state `S`, without calling `with_state`.
///
/// Merged at the top it serves `{prefix}/…`; nested with `Router::nest("/api", …)` (at
/// any depth) it serves `/api{prefix}/…`, and every URL it answers with (`Location`,
/// the served OpenAPI document's server) starts with the path the client used for the
/// mount. The prefix itself and every path below it (whatever the method) go to the
/// core, so the core answers its own 404, 405 and `Allow`. Any other path is left to
/// the host's routes and fallback.
///
/// # Panics
/// Like any Axum route, when the host already routes one of the same paths.
pub fn router<S>(api: SipDialApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let prefix = api.prefix().to_owned();
    let service = Mounted(SipDialService::new(api));
    if prefix.is_empty() {
        return Router::new()
            .route_service("/", service.clone())
            .route_service("/{*rest}", service);
    }
    Router::new()
        .route_service(&prefix, service.clone())
        .route_service(&format!("{prefix}/"), service.clone())
        .route_service(&format!("{prefix}/{{*rest}}"), service)
}

/// The layer form, for hosts that wrap their whole app (`Router::layer`,
/// `tower::ServiceBuilder`): requests under the prefix are served, every other request
/// reaches the wrapped app untouched. The layer sees the path of whatever it wraps, so
/// its prefix is the full path (`/api/sip` to serve below `/api`); use [`router`] to
/// nest.
pub fn layer(api: SipDialApi) -> SipDialLayer {
    SipDialLayer::new(api)
}

/// The API as something a host [`Router`] converts from, so it can be merged with
/// `Router::merge` or converted with `.into()` where a `Router<S>` is expected.
///
/// A newtype because neither `SipDialApi` nor `Router` is defined here.
#[derive(Debug, Clone)]
pub struct SipDial(pub SipDialApi);

impl From<SipDialApi> for SipDial {
    fn from(api: SipDialApi) -> Self {
        Self(api)
    }
}

impl<S> From<SipDial> for Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn from(api: SipDial) -> Self {
        router(api.0)
    }
}
