//! The HTTP layer: the API type and its dispatch (`SipDialApi::handle`), the route
//! table (`routes`: matching, 404/405 and OpenAPI all derive from it), request
//! extraction (`extract`: content type, body limit, JSON), the error type and its
//! mapping of every lower layer's error (`error`), the JSON shapes (`wire`), the origin
//! check (`origin`), where the host mounted us (`mount`, `prefix`), the OpenAPI document
//! (`openapi`), the event streams (`sse`), one file per route group (`handlers`), and
//! the Tower `Service` and `Layer` (`service`, `layer`).
//!
//! [`SipDialApi::handle`] takes an `http::Request` whose path starts with the prefix
//! (a host router that nested the API passes the rest of the path on and names where it
//! mounted it with a [`MountPath`] extension) and any body, and answers an
//! `http::Response<ResponseBody>`. The contract (routes, JSON shapes, the error table)
//! is in `docs/http-api.md`; the OpenAPI document comes from [`openapi::document`].

pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod handlers;
pub(crate) mod layer;
pub(crate) mod mount;
pub mod openapi;
pub(crate) mod origin;
pub(crate) mod prefix;
pub(crate) mod routes;
pub(crate) mod service;
pub(crate) mod sse;
pub(crate) mod wire;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tracing::Instrument;

use crate::backend::event_log::EventLog;
use crate::backend::limits::{DialLimits, DialPolicy};
use crate::backend::store::{CallStore, StoreError};
use crate::body::ResponseBody;
use crate::call::event::ApplyOutcome;
use crate::engine::lifecycle;
use crate::engine::{dtmf_at_answer, metrics, rooms, webhooks};
use crate::events::PlatformEvent;
use crate::policy::authorizer::Authorizer;
use crate::policy::{allow_list, targets};
use crate::{SessionId, SipDialer};

pub use error::ApiError;
pub use mount::MountPath;

/// Default mount prefix.
pub const DEFAULT_PREFIX: &str = "/sip";
/// Default request body limit (16 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// Boxed error of a request body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connection data of every SIP leg's token, as in the original sample, so pages can
/// tell SIP streams apart. Browser tokens may not carry data starting with `sip=`.
pub const SIP_CONNECTION_DATA: &str = "sip=true";

/// The configured API: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct SipDialApi {
    pub(crate) inner: Arc<Inner>,
    /// Which routes this handle serves: all, the platform's callbacks only, or the
    /// user-facing ones only (so a host mounts the callbacks outside its login).
    pub(crate) routes: RouteSet,
}

/// The routes a [`SipDialApi`] handle serves; see [`SipDialApi::callbacks_only`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteSet {
    All,
    CallbacksOnly,
    WithoutCallbacks,
}

/// What every request shares; assembled by the builder (`config`).
pub(crate) struct Inner {
    pub(crate) dialer: Arc<dyn SipDialer>,
    pub(crate) prefix: String,
    pub(crate) body_limit: usize,
    pub(crate) targets: targets::Targets,
    pub(crate) allow_list: allow_list::CompiledAllowList,
    pub(crate) authorizer: Arc<dyn Authorizer>,
    pub(crate) origins: origin::OriginPolicy,
    pub(crate) limits: Arc<dyn DialLimits>,
    pub(crate) policy: DialPolicy,
    pub(crate) trusted_proxies: crate::policy::principal::TrustedProxies,
    pub(crate) store: Arc<dyn CallStore>,
    /// The dials' `Idempotency-Key`s.
    pub(crate) idempotency: crate::engine::idempotency::Keys,
    pub(crate) rooms_in_flight: rooms::RoomFlights,
    pub(crate) lifecycle: Arc<lifecycle::Lifecycle>,
    pub(crate) dtmf_at_answer: Arc<dtmf_at_answer::DtmfAtAnswer>,
    /// Each call's budget of caller DTMF.
    pub(crate) dtmf_rate: crate::engine::dtmf_rate::DtmfRate,
    pub(crate) events: Arc<dyn EventLog>,
    pub(crate) answer_wait_limit: Option<std::time::Duration>,
    pub(crate) webhooks: Option<Arc<webhooks::Webhooks>>,
    pub(crate) streams: sse::Streams,
    #[cfg(feature = "jwt")]
    pub(crate) callback_secret: Option<secrecy::SecretString>,
    /// Unsigned callbacks are applied (as unverified) when no secret is set.
    pub(crate) accept_unsigned_callbacks: bool,
}

impl std::fmt::Debug for SipDialApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipDialApi")
            .field("prefix", &self.inner.prefix)
            .field("body_limit", &self.inner.body_limit)
            .field(
                "targets",
                &self
                    .inner
                    .targets
                    .iter()
                    .map(|t| &t.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl SipDialApi {
    /// This process's status webhook totals (all zero without a webhook); the same
    /// counts go to the `metrics` facade as `sipdial_webhook_*` series.
    pub fn webhook_stats(&self) -> webhooks::WebhookStats {
        self.inner
            .webhooks
            .as_ref()
            .map(|w| w.stats())
            .unwrap_or_default()
    }

    /// This API serving only `POST /callbacks`, which is authorized by the platform's
    /// signature alone: a host mounts it outside its login middleware (and mounts
    /// [`SipDialApi::without_callbacks`] behind it). Every other route answers 404
    /// here. Both handles share the same state.
    pub fn callbacks_only(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            routes: RouteSet::CallbacksOnly,
        }
    }

    /// This API serving every route but `POST /callbacks` (which answers 404 here); see
    /// [`SipDialApi::callbacks_only`].
    pub fn without_callbacks(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            routes: RouteSet::WithoutCallbacks,
        }
    }

    /// The API's prefix below the host's mount (`/sip` by default), without a
    /// trailing slash; empty when the API sits at the mount's root.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The largest request body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Whether `path` is served by this API (the prefix itself or below it).
    pub fn serves(&self, path: &str) -> bool {
        let p = self.prefix();
        path == p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// The dialer the API places calls with, for hosts that also call it directly.
    pub fn dialer(&self) -> &Arc<dyn SipDialer> {
        &self.inner.dialer
    }

    /// The call store, for hosts (and the SIP callback handling) that update calls.
    pub fn store(&self) -> &Arc<dyn CallStore> {
        &self.inner.store
    }

    /// Applies one platform event, as `POST {prefix}/callbacks` would an unsigned
    /// one: for hosts that receive the platform's events some other way (a queue,
    /// their own webhook route). Such an event never makes a session known (see
    /// [`SipDialApiBuilder::record_unknown_calls`](crate::SipDialApiBuilder::record_unknown_calls)).
    pub async fn apply_event(&self, event: PlatformEvent) -> Result<ApplyOutcome, StoreError> {
        self.inner.lifecycle.serve();
        self.inner.lifecycle.apply(event).await
    }

    /// How many digits at answer (`dtmfAfterAnswer`) could not be sent so far, by
    /// this process: the platform or the backend refused them. Each failure is also
    /// logged; none fails the callback that answered the call.
    pub fn dtmf_after_answer_failures(&self) -> u64 {
        self.inner.dtmf_at_answer.failures()
    }

    /// How many `GET {prefix}/events` streams of `session` are open (in this process).
    pub fn event_subscribers(&self, session: &SessionId) -> usize {
        self.inner.streams.subscribers(session)
    }

    /// The route template (below the prefix, e.g. `/calls/{id}`) that `method` on
    /// `path` (full path) is served by, if any. Used to check the OpenAPI document
    /// against what the service serves.
    pub fn route_of(&self, method: &http::Method, path: &str) -> Option<&'static str> {
        let rest = path.strip_prefix(self.prefix())?;
        routes::match_route(method, rest).ok().map(|m| m.spec.path)
    }

    /// Answers one request. The path starts with the prefix; a router that consumed a
    /// mount path in front of it says so with a [`MountPath`] extension, and every URL
    /// the answer carries starts with that mount. The body is read up to
    /// [`Self::body_limit`] while streaming.
    ///
    /// Never fails: every error is a JSON error response. Runs inside a `sipdial`
    /// tracing span with the method, route, status and call id (no secrets, no
    /// query string).
    pub async fn handle<B>(&self, req: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let span = tracing::info_span!(
            "sipdial",
            method = %req.method(),
            route = tracing::field::Empty,
            status = tracing::field::Empty,
            call_id = tracing::field::Empty,
        );
        self.inner.lifecycle.serve();
        let fut = async move {
            let res = match self.dispatch(req).await {
                Ok(res) => res,
                Err(e) => {
                    if e.status().is_server_error() {
                        tracing::warn!(code = e.code(), "request failed");
                    } else {
                        tracing::debug!(code = e.code(), "request refused");
                    }
                    e.into_response()
                }
            };
            let span = tracing::Span::current();
            span.record("status", res.status().as_u16());
            tracing::info!("request answered");
            res
        };
        fut.instrument(span).await
    }

    async fn dispatch<B>(
        &self,
        req: http::Request<B>,
    ) -> Result<http::Response<ResponseBody>, ApiError>
    where
        B: http_body::Body<Data = Bytes> + Send,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path();
        let rest = path
            .strip_prefix(self.prefix())
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or_else(ApiError::no_route)?;
        let matched = routes::match_route(&parts.method, rest)?;
        let spec = matched.spec;
        let is_callback = spec.id == routes::RouteId::Callbacks;
        let served = match self.routes {
            RouteSet::All => true,
            RouteSet::CallbacksOnly => is_callback,
            RouteSet::WithoutCallbacks => !is_callback,
        };
        if !served {
            return Err(ApiError::no_route());
        }
        let param = matched.param.map(str::to_owned);
        tracing::Span::current().record("route", spec.path);
        if spec.checks_origin() {
            self.inner
                .origins
                .check(&parts.method, &parts.uri, &parts.headers)
                .map_err(|refusal| {
                    let message = match refusal {
                        origin::OriginRefusal::Opaque => {
                            "requests from an opaque origin are not allowed"
                        }
                        origin::OriginRefusal::Foreign => {
                            "requests from this origin are not allowed"
                        }
                    };
                    ApiError::forbidden("origin_not_allowed", message)
                })?;
        }
        // Who the request is from, before any id it names is looked up (a stranger gets
        // 401 whatever it asks for). Callbacks carry the platform's signature instead,
        // and the OpenAPI document is public.
        if !is_callback && spec.id != routes::RouteId::OpenApi {
            self.inner
                .authorizer
                .authenticate(&mut parts)
                .await
                .map_err(|_| ApiError::unauthenticated())?;
        }
        // Borrowed, not joined into the base URL here: only the routes that emit a URL
        // (the dial's `Location`, the OpenAPI document) pay for formatting it.
        let mount = parts
            .extensions
            .get::<MountPath>()
            .map_or("", MountPath::as_str);
        let h = handlers::Handlers {
            inner: &self.inner,
            head: &parts,
            mount,
        };
        use routes::RouteId as R;
        // Each route's future is boxed (the token's, small and the hottest, aside): inline,
        // the largest (the dial's) sized this future for every route, and every adapter
        // moves it into a box of its own per request (test
        // `the_request_future_stays_small`).
        match spec.id {
            R::ListTargets => Box::pin(h.list_targets()).await,
            R::ListCalls => Box::pin(h.list_calls(parts.uri.query())).await,
            R::GetCall => Box::pin(h.get_call(param.as_deref())).await,
            R::HangUp => Box::pin(h.hang_up(param.as_deref())).await,
            R::Events => Box::pin(h.watch_events(parts.uri.query())).await,
            R::OpenApi => Box::pin(h.openapi()).await,
            R::Callbacks => {
                let answer = async {
                    let bytes =
                        extract::read_json_body(&parts.headers, body, self.body_limit()).await?;
                    Box::pin(h.receive_callback(&bytes)).await
                };
                answer
                    .await
                    .inspect_err(|e| metrics::callback_refused(e.code()))
            }
            R::Mute => {
                let bytes =
                    extract::read_json_body(&parts.headers, body, self.body_limit()).await?;
                extract::parse_json::<wire::MuteBody>(&bytes)?;
                Box::pin(h.mute(param.as_deref())).await
            }
            R::HangUpAction => {
                let bytes =
                    extract::read_json_body(&parts.headers, body, self.body_limit()).await?;
                extract::parse_json::<wire::HangUpBody>(&bytes)?;
                Box::pin(h.hang_up(param.as_deref())).await
            }
            R::CreateSession | R::IssueToken | R::Dial | R::PlayDtmf => {
                let bytes =
                    extract::read_json_body(&parts.headers, body, self.body_limit()).await?;
                match spec.id {
                    R::CreateSession => {
                        Box::pin(h.create_session(extract::parse_json(&bytes)?)).await
                    }
                    R::IssueToken => h.issue_token(extract::parse_json(&bytes)?).await,
                    R::Dial => {
                        let body: wire::DialBody = extract::parse_json(&bytes)?;
                        let target = metrics::dial_target(
                            &self.inner.targets,
                            body.target.as_deref(),
                            body.uri.is_some(),
                        );
                        let answer = Box::pin(h.dial(body)).await;
                        // A replayed answer placed nothing: counted apart.
                        let result = match &answer {
                            Ok(res) if res.headers().contains_key(handlers::REPLAYED_HEADER) => {
                                Some("replayed")
                            }
                            Ok(_) => None,
                            Err(e) => Some(e.code()),
                        };
                        metrics::dial_answered(target, result);
                        answer
                    }
                    _ => {
                        Box::pin(h.play_dtmf(param.as_deref(), extract::parse_json(&bytes)?)).await
                    }
                }
            }
        }
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response<T: serde::Serialize>(
    status: StatusCode,
    value: &T,
) -> Result<http::Response<ResponseBody>, ApiError> {
    let body = serde_json::to_vec(value).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the response could not be encoded",
        )
    })?;
    let mut res = http::Response::new(ResponseBody::full(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// A 204.
pub(crate) fn no_content() -> http::Response<ResponseBody> {
    let mut res = http::Response::new(ResponseBody::empty());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(all(test, feature = "fake"))]
mod tests {
    /// Every adapter moves the request's future into a box (the Tower service, axum's
    /// route, actix's handler), and a future is as large as its largest state: with
    /// the dial's state inline it was 8.6 KB (release), copied on every request of
    /// every route. The routes' own futures are boxed below `dispatch` instead.
    #[test]
    fn the_request_future_stays_small() {
        let api = super::SipDialApi::builder(std::sync::Arc::new(crate::fake::FakeDialer::new()))
            .anonymous()
            .build()
            .unwrap();
        let req = http::Request::new(http_body_util::Full::new(bytes::Bytes::new()));
        let size = std::mem::size_of_val(&api.handle(req));
        eprintln!("SipDialApi::handle future: {size} bytes");
        assert!(size <= 4096, "{size} bytes");
    }
}
