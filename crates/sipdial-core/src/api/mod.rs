//! The HTTP API as hosts see it: one place that names every public type of the
//! layers below (`call`, `backend`, `policy`, `engine`, `http`, `config`; see
//! `docs/architecture.md`), so that a host, an adapter or a backend crate imports
//! `sipdial_core::api::X` whatever folder `X` lives in.
//!
//! [`SipDialApi::handle`] takes an `http::Request` whose path starts with the prefix
//! (a host router that nested the API passes the rest of the path on and names where it
//! mounted it with a [`MountPath`] extension) and any body, and answers an
//! `http::Response<ResponseBody>`. The contract (routes, JSON shapes, the error table)
//! is in `docs/http-api.md`; the OpenAPI document comes from [`openapi::document`].
//!
//! [`ResponseBody`]: crate::ResponseBody

pub use crate::backend::Backend;
pub use crate::backend::change_record;
pub use crate::backend::change_record::{ChangeRecorded, ChangeRecording};
pub use crate::backend::dedupe::{DEDUPE_CAPACITY, DeliveryDedupe};
pub use crate::backend::dial_record;
pub use crate::backend::dial_record::{DialRecorded, DialRecording};
pub use crate::backend::event_log::{
    EventId, EventListener, EventLog, Listeners, LoggedEvent, MAX_EVENT_ID_LEN, Since,
};
pub use crate::backend::idempotency::{
    IDEMPOTENCY_CAPACITY, IDEMPOTENCY_RETENTION, IdempotencyStore, KeyState, StoredAnswer,
};
pub use crate::backend::limits::{
    ACTIVE_LIMIT_RETRY_AFTER, DEFAULT_CLIENT_DIALS_PER_MINUTE, DEFAULT_CLIENT_MAX_ACTIVE_CALLS,
    DEFAULT_CLIENT_SESSIONS_PER_MINUTE, DEFAULT_DIALS_PER_MINUTE, DEFAULT_MAX_ACTIVE_CALLS,
    DEFAULT_TOTAL_DIALS_PER_MINUTE, DEFAULT_TOTAL_MAX_ACTIVE_CALLS, DIAL_RATE_WINDOW, DialLimits,
    DialPolicy, DialScope, Limit, Quota, Refusal,
};
pub use crate::backend::memory::store::{MAX_ENDED_CALLS_PER_SESSION, MAX_SESSIONS_IN_MEMORY};
pub use crate::backend::memory::{
    InMemoryCallStore, InMemoryCallTimers, InMemoryDedupe, InMemoryDialLimits, InMemoryEventLog,
    InMemoryIdempotency, InMemoryParked, InMemoryPendingDtmf,
};
pub use crate::backend::parked::{PARKED_CAPACITY, PARKED_PER_CALL, PARKED_TTL, ParkedEvents};
pub use crate::backend::pending_dtmf::{PENDING_DTMF_CAPACITY, PENDING_DTMF_TTL, PendingDtmf};
pub use crate::backend::session_lease::{SESSION_LEASE_TTL, SessionLease, SingleProcessLease};
pub use crate::backend::store::{CallStore, StoreError, Updated};
pub use crate::backend::timers::{CallTimers, DueTimer, TimerOp};
pub use crate::call::event::{ApplyOutcome, CallEvent, CallEventCause, CallEventHook};
pub use crate::call::outcome::{CallOutcome, LocalEnd};
pub use crate::call::ticket::DialTicket;
pub use crate::call::timer::TimerKind;
pub use crate::call::transition::{CallChange, CallUpdate, reason_for_code};
pub use crate::call::{CallRecord, CallState};
pub use crate::config::SipDialApiBuilder;
pub use crate::engine::answer_wait::DEFAULT_ANSWER_WAIT;
pub use crate::engine::dtmf_rate::{
    DTMF_DIGIT_WINDOW, DTMF_DIGITS, DTMF_REQUEST_WINDOW, DTMF_REQUESTS,
};
pub use crate::engine::metrics;
#[cfg(feature = "jwt")]
pub use crate::engine::signature;
pub use crate::engine::timer_poller::TIMER_LEASE;
pub use crate::engine::webhooks;
pub use crate::http::openapi;
pub use crate::http::prefix::normalize_path_prefix;
pub use crate::http::sse::{
    DEFAULT_SSE_HEARTBEAT, DEFAULT_SSE_REPLAY, MAX_STREAM_LIFETIME, MAX_STREAMS_PER_SESSION,
    MAX_STREAMS_TOTAL,
};
pub use crate::http::{
    ApiError, BoxError, DEFAULT_BODY_LIMIT, DEFAULT_PREFIX, MountPath, SIP_CONNECTION_DATA,
    SipDialApi,
};
pub use crate::policy::allow_list::{
    CALLER_USER_FORBIDDEN, MAX_WILDCARD_DIGITS, MAX_WILDCARD_USER, UriAllowList,
};
#[allow(deprecated)]
pub use crate::policy::authorizer::DefaultAuthorizer;
pub use crate::policy::authorizer::{
    Action, Authorizer, AuthorizerExt, Both, Decision, SafeDefaults, Unauthenticated,
};
pub use crate::policy::calls::{
    DEFAULT_CALL_EXPIRY, DEFAULT_TIMER_POLL_INTERVAL, MAX_CALL_DURATION, MAX_CALL_EXPIRY,
    MAX_RING_TIMEOUT, MAX_TIMER_POLL_INTERVAL, MIN_RECONCILE_INTERVAL,
};
pub use crate::policy::config_error::ApiConfigError;
#[cfg(feature = "jwt")]
pub use crate::policy::grant::{Grant, GrantAuthorizer, GrantError, MIN_HS256_KEY_LEN};
pub use crate::policy::principal::{
    ClientAddr, ClientKey, MAX_SUBJECT_LEN, Principal, TrustedProxies,
};
pub use crate::policy::targets::{
    MAX_TARGET_LABEL_LEN, MAX_TARGET_NAME_LEN, SipTarget, check_target_label, check_target_name,
};

/// The route's own body parser, reachable by the fuzz targets in `fuzz/`; not a
/// stable interface.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a `POST /dial` body exactly as the route does (the same JSON reader, field
    /// rules and error rewriting), stopping before the field values are validated.
    pub fn parse_dial_body(bytes: &[u8]) -> Result<(), super::ApiError> {
        crate::http::extract::parse_json::<crate::http::wire::DialBody>(bytes).map(drop)
    }
}
