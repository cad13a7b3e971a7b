//! The API configuration every case runs against.

use std::sync::Arc;

use crate::api::{Authorizer, Backend, DEFAULT_BODY_LIMIT, SipDialApiBuilder, SipTarget};
use crate::fake::FakeDialer;
use crate::{Dtmf, SipAuth, SipDialApi, SipDialer, SipUri};

/// A [`FakeDialer`] and a [`SipDialApi`] configured over it with two targets, one allowed
/// origin and small call limits, so that each limit is reached in a few requests.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The dialer the API calls; cases script failures on it and count its calls.
    pub dialer: Arc<FakeDialer>,
    /// The configured API, handed to [`super::HttpIntegration::build`]; anonymous.
    pub api: SipDialApi,
    /// The API's prefix and shared state, for [`Fixture::with_authorizer`].
    prefix: String,
    backend: Backend,
}

impl Fixture {
    /// The mount prefix.
    pub const PREFIX: &'static str = "/sip";
    /// The one origin allowed to change state.
    pub const ALLOWED_ORIGIN: &'static str = "https://app.example";
    /// An origin that must be refused.
    pub const FOREIGN_ORIGIN: &'static str = "https://evil.example";
    /// Concurrent active calls allowed per session.
    pub const MAX_ACTIVE_CALLS: usize = 2;
    /// Dials allowed per session per minute.
    pub const DIALS_PER_MINUTE: u32 = 3;
    /// Dials per minute to [`Self::OTHER_TARGET`], over every session and client.
    pub const OTHER_TARGET_DIALS_PER_MINUTE: u32 = 2;
    /// The body limit (the default).
    pub const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;
    /// The default target's name.
    pub const DEFAULT_TARGET: &'static str = "support";
    /// The default target's label.
    pub const DEFAULT_TARGET_LABEL: &'static str = "Support desk";
    /// The second target's name.
    pub const OTHER_TARGET: &'static str = "sales";
    /// The SSE heartbeat interval: short, so a case sees one quickly.
    pub const SSE_HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(200);
    /// The digits the second target plays once a call is answered.
    pub const DTMF_AFTER_ANSWER: &'static str = "4711#";
    /// The longest `POST /dial?wait=answered` holds its answer here: short, so the
    /// case that waits for nothing ends quickly.
    pub const ANSWER_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);
    /// The SIP host of both targets: configuration, never shown to callers.
    pub const SIP_HOST: &'static str = "pbx.fixture.example";
    /// The default target's digest password: a secret, never shown to callers.
    pub const SIP_PASSWORD: &'static str = "fixture-sip-password-7f3a";
    /// The secret the platform's callbacks are signed with (the cases sign theirs).
    pub const CALLBACK_SECRET: &'static str = "fixture-callback-secret-91c2";

    /// A fresh dialer and API: no rooms, no calls, full rate budgets.
    ///
    /// # Panics
    /// When the fixture's own configuration is refused: a bug of the suite or of
    /// the builder, reported before any case runs.
    pub fn new() -> Self {
        Self::with_prefix(Self::PREFIX)
    }

    /// Like [`Fixture::new`] with the API's own prefix set to `prefix` (`""` puts the
    /// routes at the root of wherever the form mounts the API).
    ///
    /// # Panics
    /// As [`Fixture::new`].
    pub fn with_prefix(prefix: &str) -> Self {
        Self::with_prefix_and_backend(prefix, None)
    }

    /// A fresh dialer and an API over `backend` (which should hold no state yet).
    ///
    /// # Panics
    /// As [`Fixture::new`].
    pub fn with_backend(backend: Backend) -> Self {
        Self::with_prefix_and_backend(Self::PREFIX, Some(backend))
    }

    /// [`Fixture::with_prefix`] over `backend` (in memory when `None`).
    ///
    /// # Panics
    /// As [`Fixture::new`].
    pub fn with_prefix_and_backend(prefix: &str, backend: Option<Backend>) -> Self {
        Self::configured(prefix, backend, |b| {
            b.callback_secret(Self::CALLBACK_SECRET)
        })
    }

    /// The fixture's API configured further by `configure`, which also chooses the
    /// callback settings (the fixture's own sign them with [`Self::CALLBACK_SECRET`]).
    pub(crate) fn configured(
        prefix: &str,
        backend: Option<Backend>,
        callbacks: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder,
    ) -> Self {
        let dialer = Arc::new(FakeDialer::new());
        let backend = backend.unwrap_or_else(Backend::in_memory);
        let api = callbacks(Self::builder(&dialer, prefix, backend.clone()).anonymous())
            .build()
            .unwrap_or_else(|e| panic!("fixture configuration refused: {e}"));
        Self {
            dialer,
            api,
            prefix: prefix.to_owned(),
            backend,
        }
    }

    /// The key the suite's grants are signed with (HS256).
    pub const GRANT_KEY: &'static [u8] = b"conformance-grant-key-0123456789abcdef";

    /// An API like [`Fixture::api`] (same dialer, same shared state: a second replica)
    /// that asks `authorizer`.
    ///
    /// # Panics
    /// As [`Fixture::new`].
    pub fn with_authorizer(&self, authorizer: Arc<dyn Authorizer>) -> SipDialApi {
        Self::builder(&self.dialer, &self.prefix, self.backend.clone())
            .authorizer(authorizer)
            // Its cases post callbacks bare: what they prove is who is asked, not the
            // signature (which the fixture's own API checks).
            .accept_unsigned_callbacks()
            .build()
            .unwrap_or_else(|e| panic!("fixture configuration refused: {e}"))
    }

    fn builder(dialer: &Arc<FakeDialer>, prefix: &str, backend: Backend) -> SipDialApiBuilder {
        let uri = |user: &str| {
            SipUri::new(format!("sip:{user}@{}", Self::SIP_HOST))
                .unwrap_or_else(|e| panic!("fixture SIP URI refused: {e}"))
        };
        SipDialApi::builder(dialer.clone() as Arc<dyn SipDialer>)
            .prefix(prefix)
            .body_limit(Self::BODY_LIMIT)
            .target(
                SipTarget::new(Self::DEFAULT_TARGET, uri("desk"))
                    .label(Self::DEFAULT_TARGET_LABEL)
                    .auth(SipAuth::new("desk", Self::SIP_PASSWORD)),
            )
            .target(
                SipTarget::new(Self::OTHER_TARGET, uri("sales"))
                    .label("Sales")
                    .dials_per_minute(Self::OTHER_TARGET_DIALS_PER_MINUTE)
                    .dtmf_after_answer(
                        Dtmf::new(Self::DTMF_AFTER_ANSWER)
                            .unwrap_or_else(|e| panic!("fixture digits refused: {e}")),
                    ),
            )
            .default_target(Self::DEFAULT_TARGET)
            .allowed_origins([Self::ALLOWED_ORIGIN])
            .max_active_calls_per_session(Self::MAX_ACTIVE_CALLS)
            .dials_per_minute(Self::DIALS_PER_MINUTE)
            .sse_heartbeat(Self::SSE_HEARTBEAT)
            .answer_wait_limit(Self::ANSWER_WAIT_LIMIT)
            .backend(backend)
    }

    /// `{prefix}{path}` with the default prefix, for tests that mount the fixture's
    /// API at the top of their app.
    pub fn path(path: &str) -> String {
        format!("{}{path}", Self::PREFIX)
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}
