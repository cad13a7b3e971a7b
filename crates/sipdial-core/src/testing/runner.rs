//! The trait a form implements and the runner that drives every case through it.

use std::future::Future;

use super::{Fixture, TestRequest, TestResponse, cases};
use crate::SipDialApi;

/// One way of serving the HTTP API, as seen by a client.
///
/// Implemented by each form's test: the bare Tower service, the Tower layer over a host
/// service, the Axum router and layer, the Actix scope. The futures need not be `Send`:
/// Actix serves on a single-threaded runtime.
pub trait HttpIntegration: Sized {
    /// Mounts `api` the way a host app would. When [`Self::wraps_host_app`] is true, the
    /// host app answers every path the API does not serve with [`super::host::response`].
    fn build(api: SipDialApi) -> impl Future<Output = Self>;

    /// Whether foreign paths reach a host app (layer and mounted forms) rather than the
    /// API itself (the bare service).
    fn wraps_host_app(&self) -> bool;

    /// The API's own prefix this form is tested with (the fixture's `/sip` unless the
    /// form mounts an API at the root of its mount, `""`).
    fn prefix() -> &'static str {
        Fixture::PREFIX
    }

    /// Where the host mounted the API (`/api` for `nest("/api", …)` or
    /// `web::scope("/api")`, `""` at the top): every request of the suite goes below
    /// it, and every URL the API emits must start with it.
    fn mount(&self) -> &str {
        ""
    }

    /// Sends one request and collects the whole answer.
    fn send(&self, request: TestRequest) -> impl Future<Output = TestResponse>;
}

/// A case that failed, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    /// The case's function name (one of [`CASES`]).
    pub case: &'static str,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.case, self.message)
    }
}

/// What a case sees: a fresh fixture and the form mounted over its API.
pub(super) struct Cx<I> {
    pub(super) fixture: Fixture,
    pub(super) http: I,
    /// `{mount}{prefix}`: where the client finds the API.
    base: String,
}

/// Makes a fresh backend for each case (e.g. a Redis backend under a prefix of its
/// own), so that the suite runs against shared state as well as in memory.
pub type BackendFactory = std::sync::Arc<
    dyn Fn() -> futures_util::future::BoxFuture<'static, crate::api::Backend> + Send + Sync,
>;

impl<I: HttpIntegration> Cx<I> {
    pub(super) async fn new(backend: Option<&BackendFactory>) -> Self {
        let backend = match backend {
            Some(make) => Some(make().await),
            None => None,
        };
        Self::over(Fixture::with_prefix_and_backend(I::prefix(), backend)).await
    }

    /// The form over the fixture's API (in memory) configured further by `configure`,
    /// which also chooses the callback settings (the fixture's secret is not set).
    pub(super) async fn configured(
        configure: impl FnOnce(crate::api::SipDialApiBuilder) -> crate::api::SipDialApiBuilder,
    ) -> Self {
        Self::over(Fixture::configured(I::prefix(), None, configure)).await
    }

    async fn over(fixture: Fixture) -> Self {
        let http = I::build(fixture.api.clone()).await;
        let base = format!("{}{}", http.mount(), fixture.api.prefix());
        Self {
            fixture,
            http,
            base,
        }
    }

    /// The client's path of `path` below the API (`/dial` → `/api/sip/dial`); the
    /// API's root when `path` is empty.
    pub(super) fn path(&self, path: &str) -> String {
        match format!("{}{path}", self.base) {
            root if root.is_empty() => "/".to_owned(),
            full => full,
        }
    }

    /// `{mount}{prefix}` as the client sees it (empty when the API is the whole app).
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// A `POST /callbacks` of `body` signed as the platform signs it, with the
    /// fixture's [`Fixture::CALLBACK_SECRET`].
    pub(super) fn signed_callback(&self, body: &serde_json::Value) -> TestRequest {
        self.signed_callback_bytes(serde_json::to_vec(body).unwrap_or_default())
    }

    /// [`Self::signed_callback`] of a raw body (which need not be JSON).
    pub(super) fn signed_callback_bytes(&self, bytes: Vec<u8>) -> TestRequest {
        let key = crate::jwt::Hs256Key::new(Fixture::CALLBACK_SECRET.as_bytes());
        let now = crate::Timestamp::now().as_secs();
        let token = crate::engine::signature::sign_body(&bytes, &key, now).unwrap_or_default();
        let mut req = TestRequest::post(self.path("/callbacks"))
            .content_type("application/json")
            .body(super::TestBody::Full(bytes::Bytes::from(bytes)));
        if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
            req = req.header(http::header::AUTHORIZATION, v);
        }
        req
    }

    /// A JSON `POST` to `path` below the API.
    pub(super) fn post_json(&self, path: &str, body: serde_json::Value) -> TestRequest {
        TestRequest::post(self.path(path)).json(&body)
    }

    pub(super) async fn send(&self, request: TestRequest) -> TestResponse {
        self.http.send(request).await
    }
}

/// Declares the case list once: the names and the runner come from the same list, so
/// a case added here runs against every form.
macro_rules! suite {
    ($($case:ident),+ $(,)?) => {
        /// The name of every case, in the order they run.
        pub const CASES: &[&str] = &[$(stringify!($case)),+];

        /// Runs every case against `I`, each with a fresh [`Fixture`], and returns the
        /// failures (empty when the form conforms).
        pub async fn run_suite_report<I: HttpIntegration>() -> Vec<CaseFailure> {
            run_suite_report_on::<I>(None).await
        }

        /// [`run_suite_report`] with each case's fixture over a backend from `backend`
        /// (the in-memory one when `None`).
        pub async fn run_suite_report_on<I: HttpIntegration>(
            backend: Option<BackendFactory>,
        ) -> Vec<CaseFailure> {
            let mut failures = Vec::new();
            $(
                let cx = Cx::<I>::new(backend.as_ref()).await;
                if let Err(message) = cases::$case(&cx).await {
                    failures.push(CaseFailure { case: stringify!($case), message });
                }
            )+
            failures
        }
    };
}

suite![
    session_creates_and_reuses_a_room,
    session_defaults_the_room,
    session_reads_a_chunked_body,
    targets_lists_names_and_labels_only,
    token_for_a_known_session,
    token_for_an_unknown_session_is_404,
    token_moderator_is_denied_by_the_default_authorizer,
    token_invalid_role_names_the_field,
    token_missing_session_id_names_the_field,
    dial_default_target_is_201_with_location,
    dial_named_target,
    dial_unknown_target_is_refused,
    dial_uri_without_allow_list_is_refused,
    dial_unknown_session_is_404,
    dial_caller_headers_follow_the_allow_list,
    dial_caller_uris_match_digits_and_borrow_nothing,
    dial_same_idempotency_key_places_one_call,
    dial_idempotency_key_in_flight_is_409,
    dial_idempotency_key_with_another_body_is_422,
    dial_bad_idempotency_key_is_400,
    dial_failed_with_a_key_releases_it,
    calls_list_and_get,
    hang_up_is_204_and_idempotent,
    dtmf_is_204,
    dtmf_invalid_digits_names_the_field,
    dtmf_is_rate_limited_and_targets_may_refuse_it,
    mute_is_204_and_mutes_the_sip_stream,
    mute_unknown_call_is_404,
    mute_ended_call_is_409,
    mute_of_a_leg_gone_on_the_platform_is_409,
    dtmf_after_answer_is_sent_once,
    dtmf_after_answer_follows_the_request_rules,
    dtmf_after_answer_is_dropped_when_the_call_ends_unanswered,
    dial_wait_answered_returns_the_active_call,
    dial_wait_answered_returns_a_busy_call_ended,
    dial_wait_answered_is_bounded,
    dial_wait_answered_client_gone_keeps_the_call,
    dial_wait_with_a_bad_value_is_400,
    invalid_json_is_400,
    unknown_call_is_404,
    unknown_route_is_404,
    wrong_method_is_405_with_allow,
    platform_conflict_is_409,
    body_at_the_limit_is_accepted,
    body_over_the_limit_is_413,
    chunked_body_over_the_limit_is_413,
    non_json_body_is_415,
    active_call_limit_is_429_with_retry_after,
    dial_rate_limit_is_429_with_retry_after,
    rooms_do_not_dodge_the_client_limit,
    session_flood_is_429_with_retry_after,
    target_dial_rate_limit_is_429_with_retry_after,
    platform_rate_limit_is_429_with_retry_after,
    platform_error_is_502_without_its_body,
    rejected_credentials_are_502,
    platform_timeout_is_504,
    foreign_origin_is_403,
    allowed_origin_is_accepted,
    safe_methods_ignore_origin,
    callbacks_update_calls_without_an_origin_check,
    callbacks_accept_unknown_events_and_fields,
    callbacks_unsigned_are_refused_by_default,
    callbacks_unsigned_end_disconnects_the_leg,
    openapi_names_the_mount_as_its_server,
    foreign_paths_pass_through,
    responses_never_leak_secrets,
    grants_are_required_on_every_user_route,
    grants_hide_other_rooms_as_unknown,
    grants_refuse_roles_they_do_not_name,
    a_host_authorizer_sees_its_user_and_the_room,
    callbacks_never_reach_the_authorizer,
];

/// Runs every case against `I` and panics with the name and reason of every failing
/// case at once.
///
/// # Panics
/// When any case fails.
pub async fn run_suite<I: HttpIntegration>() {
    report(run_suite_report::<I>().await);
}

/// [`run_suite`] with each case's fixture over a backend from `backend`.
///
/// # Panics
/// When any case fails.
pub async fn run_suite_on<I: HttpIntegration>(backend: BackendFactory) {
    report(run_suite_report_on::<I>(Some(backend)).await);
}

fn report(failures: Vec<CaseFailure>) {
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|f| format!("  - {f}")).collect();
        panic!(
            "{} of {} conformance cases failed:\n{}",
            failures.len(),
            CASES.len(),
            list.join("\n")
        );
    }
}
