//! Configuring the API: the builder (its typed error is in `config_error`, the
//! path-prefix rule in `prefix`, targets in `targets`, the URI allow-list in
//! `allow_list`).
//!
//! Everything is validated once in `build()`, so a misconfigured host fails at start-up
//! instead of on the first call.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::backend::limits::DialPolicy;
use crate::backend::store::CallStore;
use crate::call::event::CallEventHook;
use crate::engine::call_timers::PolicyTimers;
use crate::engine::dtmf_at_answer::DtmfAtAnswer;
use crate::engine::lifecycle::{Lifecycle, Parts};
use crate::engine::queue::EventQueue;
use crate::engine::webhooks::WebhookOptions;
use crate::http::origin::{Origin, OriginPolicy};
use crate::http::prefix::normalize_path_prefix;
use crate::http::sse::{DEFAULT_SSE_HEARTBEAT, DEFAULT_SSE_REPLAY, Streams};
use crate::http::{DEFAULT_BODY_LIMIT, DEFAULT_PREFIX, Inner, SipDialApi};
use crate::policy::allow_list::{CompiledAllowList, UriAllowList};
use crate::policy::authorizer::{Authorizer, SafeDefaults};
use crate::policy::calls::{CallPolicies, PolicySettings};
use crate::policy::config_error::ApiConfigError;
use crate::policy::principal::TrustedProxies;
use crate::policy::targets::{SipTarget, Targets};
use crate::{Dtmf, SipDialer};

mod policies;
#[cfg(feature = "jwt")]
mod webhooks;

impl SipDialApi {
    /// Starts configuring an API over `dialer`.
    pub fn builder(dialer: Arc<dyn SipDialer>) -> SipDialApiBuilder {
        SipDialApiBuilder::new(dialer)
    }
}

/// Builder of [`SipDialApi`]; `build()` validates the whole configuration.
#[must_use]
pub struct SipDialApiBuilder {
    dialer: Arc<dyn SipDialer>,
    prefix: String,
    body_limit: usize,
    targets: Vec<SipTarget>,
    default_target: Option<String>,
    allow_uri: UriAllowList,
    /// `None` until the host chose: `build()` refuses to guess.
    authorizer: Option<Arc<dyn Authorizer>>,
    allowed_origins: Vec<String>,
    trust_request_host: bool,
    limits: DialPolicy,
    trusted_proxies: TrustedProxies,
    backend: Option<Backend>,
    store: Option<Arc<dyn CallStore>>,
    #[cfg(feature = "jwt")]
    callback_secret: Option<secrecy::SecretString>,
    record_unknown_calls: bool,
    accept_unsigned_callbacks: bool,
    sse_heartbeat: Duration,
    sse_replay: usize,
    on_call_event: Option<CallEventHook>,
    pub(crate) policy: PolicySettings,
    default_dtmf_after_answer: Option<Dtmf>,
    answer_wait_limit: Option<Duration>,
    pub(crate) webhooks: WebhookOptions,
}

impl std::fmt::Debug for SipDialApiBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipDialApiBuilder")
            .field("prefix", &self.prefix)
            .field("body_limit", &self.body_limit)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl SipDialApiBuilder {
    pub(crate) fn new(dialer: Arc<dyn SipDialer>) -> Self {
        Self {
            dialer,
            prefix: DEFAULT_PREFIX.to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            targets: Vec::new(),
            default_target: None,
            allow_uri: UriAllowList::new(),
            authorizer: None,
            allowed_origins: Vec::new(),
            trust_request_host: true,
            limits: DialPolicy::default(),
            trusted_proxies: TrustedProxies::none(),
            backend: None,
            store: None,
            #[cfg(feature = "jwt")]
            callback_secret: None,
            record_unknown_calls: false,
            accept_unsigned_callbacks: false,
            sse_heartbeat: DEFAULT_SSE_HEARTBEAT,
            sse_replay: DEFAULT_SSE_REPLAY,
            on_call_event: None,
            policy: PolicySettings::default(),
            default_dtmf_after_answer: None,
            answer_wait_limit: None,
            webhooks: WebhookOptions::default(),
        }
    }

    /// The API's own prefix below wherever the host mounts it (default `/sip`); a
    /// trailing `/` is dropped, and `""` puts the routes at the mount's root. With the
    /// Tower layer, which wraps a whole app, it is the full path.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Request body limit in bytes (default 16 KiB), enforced while streaming.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Adds a SIP target.
    pub fn target(mut self, target: SipTarget) -> Self {
        self.targets.push(target);
        self
    }

    /// The target used when a dial names none (needless with exactly one target).
    pub fn default_target(mut self, name: impl Into<String>) -> Self {
        self.default_target = Some(name.into());
        self
    }

    /// Lets callers pass their own `uri` when it matches `list`.
    pub fn allow_uri(mut self, list: UriAllowList) -> Self {
        self.allow_uri = list;
        self
    }

    /// Who may do what: the host's authorizer (a
    /// [`GrantAuthorizer`](crate::api::GrantAuthorizer), or its own rules on top of
    /// sipdial's: `Arc::new(SafeDefaults.and(rules))`). This or
    /// [`SipDialApiBuilder::anonymous`] must be chosen: `build()` refuses to guess.
    pub fn authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// Serves anyone who can reach the routes, with [`SafeDefaults`] alone (no
    /// moderator tokens, everything else allowed): for demos and tests on loopback
    /// only. Anyone who reaches an anonymous API can place calls to the configured
    /// targets at the owner's cost, hear a room through a publisher token and end
    /// anyone's calls; the limits bound how much, not who.
    pub fn anonymous(mut self) -> Self {
        self.authorizer = Some(Arc::new(SafeDefaults));
        self
    }

    /// Origins allowed on state-changing routes besides the request's own host.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Whether an `Origin` equal to the request's own `Host` is allowed besides the
    /// listed origins (default `true`).
    ///
    /// Turn it off when the allowed origins are known: the `Host` header is whatever
    /// name the browser resolved, so a DNS-rebinding page that resolves to this server
    /// would otherwise pass the check.
    pub fn trust_request_host(mut self, trust: bool) -> Self {
        self.trust_request_host = trust;
        self
    }

    /// Most calls active at once in one session (default 3).
    pub fn max_active_calls_per_session(mut self, max: usize) -> Self {
        self.limits.max_active = max;
        self
    }

    /// Most dial attempts per session in a sliding minute (default 6).
    pub fn dials_per_minute(mut self, max: u32) -> Self {
        self.limits.per_minute = max;
        self
    }

    /// Most calls one client has active at once, over all its sessions (default 5).
    /// A client is the request's [`Principal`](crate::api::Principal), else its
    /// address (see [`Self::trusted_proxies`]).
    pub fn max_active_calls_per_client(mut self, max: usize) -> Self {
        self.limits.client.max_active = max;
        self
    }

    /// Most dial attempts per client in a sliding minute, over all its sessions
    /// (default 10): new rooms are free, so per-session limits alone are no bound.
    pub fn client_dials_per_minute(mut self, max: u32) -> Self {
        self.limits.client.per_minute = max;
        self
    }

    /// Most new sessions (rooms not yet known) one client may create in a sliding
    /// minute (default 10): each creation spends the platform's rate limit, shared
    /// by every user of the project. Joining a known room is not counted.
    pub fn client_sessions_per_minute(mut self, max: u32) -> Self {
        self.limits.client_sessions_per_minute = max;
        self
    }

    /// Most calls active at once in total (default 20): every session and client,
    /// and every replica on a shared backend. The bill's ceiling.
    pub fn max_active_calls_total(mut self, max: usize) -> Self {
        self.limits.total.max_active = max;
        self
    }

    /// Most dial attempts in total in a sliding minute (default 60).
    pub fn dials_per_minute_total(mut self, max: u32) -> Self {
        self.limits.total.per_minute = max;
        self
    }

    /// Proxies (load balancers) whose `X-Forwarded-For` is believed when the per-client
    /// limits key an anonymous request by address (default none: the header is
    /// ignored, since any client can write it and would get a fresh limit per
    /// request). Trust only the hops you run.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Where every shared part of the state is kept: rooms and calls, limits,
    /// callback dedupe, parked events and the event log (default:
    /// [`Backend::in_memory`]). Replicas of one app pass one shared backend (e.g.
    /// `sipdial_redis::RedisBackend`), so they act as one server.
    pub fn backend(mut self, backend: impl Into<Backend>) -> Self {
        self.backend = Some(backend.into());
        self
    }

    /// Where rooms and calls are kept, with the rest of the backend in memory
    /// (default: [`crate::api::InMemoryCallStore`]). Overrides the backend's store.
    pub fn store(mut self, store: Arc<dyn CallStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Requires every `POST {prefix}/callbacks` to carry an HS256 JWT signed with
    /// `secret` (the signature secret of the project's callbacks in the platform
    /// dashboard). Without it, every callback is refused (401) unless the host calls
    /// [`Self::accept_unsigned_callbacks`].
    #[cfg(feature = "jwt")]
    pub fn callback_secret(mut self, secret: impl Into<String>) -> Self {
        self.callback_secret = Some(secrecy::SecretString::from(secret.into()));
        self
    }

    /// Accepts unsigned `POST {prefix}/callbacks` when no `callback_secret` is set
    /// (default: refused with 401 `callbacks_unsigned`). Anyone who can reach the route
    /// can then report call states, so such changes are marked unverified (the hook's
    /// cause, the status webhooks' `verified: false`), and an unsigned end is applied
    /// only after the platform was asked to disconnect the leg: a forged end can end a
    /// call early, but never leave a leg running whose limit slot was freed. Meant for
    /// development and for platforms that cannot sign; with a secret it changes nothing.
    pub fn accept_unsigned_callbacks(mut self) -> Self {
        self.accept_unsigned_callbacks = true;
        self
    }

    /// Also records calls this server did not place (default false) when the
    /// platform reports them in a session this server knows, e.g. calls dialled from
    /// another server or an SDK into the same session. With signed callbacks
    /// (`callback_secret`) a verified callback also makes its session known
    /// (a shared store that lost its state learns it back); unsigned ones never do.
    pub fn record_unknown_calls(mut self, record: bool) -> Self {
        self.record_unknown_calls = record;
        self
    }

    /// Silence after which an SSE stream sends a `: heartbeat` comment (default 15 s),
    /// so proxies do not close idle streams.
    pub fn sse_heartbeat(mut self, interval: Duration) -> Self {
        self.sse_heartbeat = interval;
        self
    }

    /// Call events kept per session for `Last-Event-ID` resumption (default 256) by
    /// the in-memory event log; a shared backend has its own setting.
    pub fn sse_replay_buffer(mut self, events: usize) -> Self {
        self.sse_replay = events;
        self
    }

    /// Calls `hook` once per call change (dialled, ringing, answered, held, ended,
    /// with the cause), in order, so a host can log, count or persist without forking.
    pub fn on_call_event(mut self, hook: CallEventHook) -> Self {
        self.on_call_event = Some(hook);
        self
    }

    /// Digits played into every call to a target that sets none of its own, once the
    /// call is answered (see [`SipTarget::dtmf_after_answer`]). Never played to a
    /// caller-supplied URI.
    pub fn default_dtmf_after_answer(mut self, digits: Dtmf) -> Self {
        self.default_dtmf_after_answer = Some(digits);
        self
    }

    /// The longest `POST {prefix}/dial?wait=answered` holds its response (default:
    /// no limit of its own, the ring timeout bounds it), for hosts behind a proxy that
    /// cuts requests sooner. The call goes on either way.
    pub fn answer_wait_limit(mut self, limit: Duration) -> Self {
        self.answer_wait_limit = Some(limit);
        self
    }

    /// Validates the configuration.
    pub fn build(mut self) -> Result<SipDialApi, ApiConfigError> {
        let prefix = normalize_path_prefix(&self.prefix)?;
        if self.body_limit == 0 {
            return Err(ApiConfigError::BodyLimit);
        }
        for (value, name) in [
            (self.limits.max_active, "max_active_calls_per_session"),
            (self.limits.per_minute as usize, "dials_per_minute"),
            (self.limits.client.max_active, "max_active_calls_per_client"),
            (
                self.limits.client.per_minute as usize,
                "client_dials_per_minute",
            ),
            (
                self.limits.client_sessions_per_minute as usize,
                "client_sessions_per_minute",
            ),
            (self.limits.total.max_active, "max_active_calls_total"),
            (
                self.limits.total.per_minute as usize,
                "dials_per_minute_total",
            ),
        ] {
            if value == 0 {
                return Err(ApiConfigError::Limit(name));
            }
        }
        if self.sse_heartbeat.is_zero() {
            return Err(ApiConfigError::Limit("sse_heartbeat"));
        }
        if self.answer_wait_limit.is_some_and(|l| l.is_zero()) {
            return Err(ApiConfigError::Limit("answer_wait_limit"));
        }
        if self.sse_replay == 0 {
            return Err(ApiConfigError::Limit("sse_replay_buffer"));
        }
        #[cfg(feature = "jwt")]
        if self
            .callback_secret
            .as_ref()
            .is_some_and(|s| secrecy::ExposeSecret::expose_secret(s).is_empty())
        {
            return Err(ApiConfigError::CallbackSecret);
        }
        self.policy.check()?;
        if self.policy.reconcile.is_some() && !self.dialer.lists_connections() {
            tracing::warn!("call reconciliation is off: the dialer cannot list connections");
            self.policy.reconcile = None;
        }
        let authorizer = self.authorizer.ok_or(ApiConfigError::NoAuthorizer)?;
        let targets = Targets::new(
            self.targets,
            self.default_target,
            self.default_dtmf_after_answer,
        )?;
        let origins = self
            .allowed_origins
            .iter()
            .map(|o| {
                Origin::parse(o).map_err(|reason| ApiConfigError::Origin {
                    origin: o.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allow_list = CompiledAllowList(self.allow_uri.compile()?);
        let mut backend = self
            .backend
            .unwrap_or_else(|| Backend::in_memory_with_replay(self.sse_replay));
        if let Some(store) = self.store {
            backend.store = store;
        }
        let dtmf_at_answer = DtmfAtAnswer::new(Arc::clone(&self.dialer), backend.pending_dtmf);
        let timers = PolicyTimers::new(
            backend.session_lease,
            backend.timers,
            CallPolicies::new(
                targets.iter().map(|t| (t.name.as_str(), t.limits)),
                self.policy,
            ),
            Arc::clone(&self.dialer),
        );
        let webhooks = self
            .webhooks
            .build(&targets, Arc::clone(&backend.webhooks))?;
        let lifecycle = Lifecycle::new(
            Parts {
                store: Arc::clone(&backend.store),
                events: Arc::clone(&backend.events),
                dedupe: backend.dedupe,
                parked: backend.parked,
                limits: Arc::clone(&backend.limits),
                dtmf_at_answer: Arc::clone(&dtmf_at_answer),
                timers,
                webhooks: webhooks.clone(),
            },
            self.on_call_event,
            self.record_unknown_calls,
        );
        lifecycle.serve();
        // The dialer may learn call events itself (the fake does): they go through the
        // same state machine as HTTP callbacks.
        self.dialer.attach_events(EventQueue::sink(&lifecycle));
        Ok(SipDialApi {
            routes: crate::http::RouteSet::All,
            inner: Arc::new(Inner {
                dialer: self.dialer,
                prefix,
                body_limit: self.body_limit,
                targets,
                allow_list,
                authorizer,
                origins: OriginPolicy::new(origins, self.trust_request_host),
                limits: backend.limits,
                policy: self.limits,
                trusted_proxies: self.trusted_proxies,
                dtmf_at_answer,
                dtmf_rate: Default::default(),
                events: Arc::clone(&backend.events),
                answer_wait_limit: self.answer_wait_limit,
                streams: Streams::new(
                    backend.events,
                    Arc::clone(&backend.store),
                    self.sse_heartbeat,
                ),
                store: backend.store,
                idempotency: crate::engine::idempotency::Keys::new(backend.idempotency),
                rooms_in_flight: Default::default(),
                lifecycle,
                webhooks,
                #[cfg(feature = "jwt")]
                callback_secret: self.callback_secret,
                accept_unsigned_callbacks: self.accept_unsigned_callbacks,
            }),
        })
    }
}
