//! [`ApiError`]: the one error type every route answers with, and the single place where
//! a [`DialError`] becomes an HTTP status.
//!
//! Messages are written here, never copied from the platform: a platform response body
//! or a caller's raw input must not reach the client (nor, through the client, a page).

use std::borrow::Cow;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};

use crate::backend::limits::{ACTIVE_LIMIT_RETRY_AFTER, DialPolicy, Limit, Refusal};
#[cfg(feature = "jwt")]
use crate::engine::signature::SignatureRefusal;

use crate::body::ResponseBody;
use crate::{DialError, ValidationError};

/// `Retry-After` sent with a platform 429 that did not say how long to wait.
const DEFAULT_PLATFORM_RETRY_AFTER: Duration = Duration::from_secs(5);

/// An error answer of the HTTP API: status, stable machine-readable `code`, a message
/// safe to show to the caller, and the headers some statuses need.
///
/// The body is always `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
    allow: Option<HeaderValue>,
    /// The `WWW-Authenticate` value of a 401.
    challenge: Option<&'static str>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
            challenge: None,
        }
    }

    /// Adds `WWW-Authenticate: Bearer` (a 401 must say how to authenticate).
    pub fn with_challenge(mut self) -> Self {
        self.challenge = Some("Bearer realm=\"sipdial-callbacks\"");
        self
    }

    /// Adds a `Retry-After` header (whole seconds, rounded up, at least 1).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// 400 for a field that failed validation; the message names the field.
    pub fn invalid_field(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("invalid `{field}`: {reason}"),
        )
    }

    /// 400 for a field refused by a validated newtype.
    pub fn invalid_value(field: &str, e: &ValidationError) -> Self {
        Self::invalid_field(field, e.reason())
    }

    /// 401 `unauthenticated` with `WWW-Authenticate: Bearer`: the request carries no
    /// credentials the authorizer accepts (none, expired, garbled or signed with
    /// another key; the caller is not told which).
    pub fn unauthenticated() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "valid credentials are required",
        );
        e.challenge = Some("Bearer realm=\"sipdial\"");
        e
    }

    /// 403: the authorizer or a policy refused.
    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404 for an unknown resource.
    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        Self::not_found("not_found", "no such route")
    }

    /// 405 with the methods the path does accept.
    pub fn method_not_allowed(allow: HeaderValue) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route",
        );
        e.allow = Some(allow);
        e
    }

    /// 429 with a `Retry-After`.
    pub fn too_many(
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
        after: Duration,
    ) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message).with_retry_after(after)
    }

    /// 503: the shared state (the call store, the limits, the event log) did not
    /// answer; a retry a moment later may succeed (a shared store reconnects by
    /// itself).
    pub fn store_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the call store is unavailable",
        )
        .with_retry_after(Duration::from_secs(1))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable, machine-readable code (`session_not_found`, `rate_limited`, ...).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The caller-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `Retry-After` delay, when the status carries one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The JSON body, `{"error":{"code":"…","message":"…"}}`.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }

    /// The complete HTTP response.
    pub fn into_response(self) -> http::Response<ResponseBody> {
        let body = serde_json::to_vec(&self.body_json()).unwrap_or_default();
        let mut res = http::Response::new(ResponseBody::full(body));
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, allow);
        }
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        res
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl From<DialError> for ApiError {
    /// Maps who has to act to a status: the caller (400/404/409), time (429/504) or the
    /// host's operator (502, including the platform refusing our own credentials: that
    /// is not the browser's fault, so it is never a 401/403 to it).
    fn from(e: DialError) -> Self {
        match e {
            DialError::InvalidInput { field, .. } => match field {
                Some(f) if is_plain_name(&f) => Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_field",
                    format!("the platform refused `{f}` as invalid"),
                ),
                _ => Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the platform refused the request as invalid",
                ),
            },
            DialError::NotFound { what } => {
                let what = if is_plain_name(&what) {
                    what
                } else {
                    "resource".to_owned()
                };
                Self::not_found("not_found", format!("{what} not found on the platform"))
            }
            DialError::Conflict { .. } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the platform refused because of the session's state (SIP needs a routed session)",
            ),
            DialError::RateLimited { retry_after } => Self::too_many(
                "platform_rate_limited",
                "the platform is rate limiting requests",
                retry_after.unwrap_or(DEFAULT_PLATFORM_RETRY_AFTER),
            ),
            DialError::Timeout => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "platform_timeout",
                "the platform did not answer in time",
            ),
            DialError::RejectedCredentials => Self::new(
                StatusCode::BAD_GATEWAY,
                "platform_credentials_rejected",
                "the platform rejected the server's credentials",
            ),
            DialError::Config { .. } => Self::new(
                StatusCode::BAD_GATEWAY,
                "dialer_misconfigured",
                "the server's dialer is misconfigured",
            ),
            DialError::Transport { .. } => Self::new(
                StatusCode::BAD_GATEWAY,
                "platform_unreachable",
                "the platform could not be reached",
            ),
            _ => Self::new(
                StatusCode::BAD_GATEWAY,
                "platform_error",
                "the platform answered with an error",
            ),
        }
    }
}

/// Whether a dialer-supplied name is plain enough to quote (it might otherwise carry
/// platform text).
fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b' ' | b'[' | b']')
        })
}

/// A dial the limits refused: the 429 (or, for limits that check the session, the 404)
/// it answers. Written here, not beside [`Refusal`], so that the limits know nothing of
/// HTTP.
impl Refusal {
    /// The 429 it answers.
    pub(crate) fn into_error(self, policy: &DialPolicy) -> ApiError {
        match self {
            Refusal::TooManyCalls { active } => ApiError::too_many(
                "too_many_calls",
                format!(
                    "this session already has {active} active calls (at most {})",
                    policy.max_active
                ),
                ACTIVE_LIMIT_RETRY_AFTER,
            ),
            Refusal::RateLimited { retry_after } => ApiError::too_many(
                "dial_rate_limited",
                format!(
                    "at most {} dials per minute in one session",
                    policy.per_minute
                ),
                retry_after,
            ),
            Refusal::UnknownSession => {
                ApiError::not_found("session_not_found", "this server knows no such session")
            }
            Refusal::Over { limit, retry_after } => {
                let (code, message) = limit_message(limit, policy);
                ApiError::too_many(code, message, retry_after)
            }
        }
    }
}

/// The code and message of a limit beyond the session's. The target's own numbers are
/// not quoted: they are the host's configuration, not the client's business.
fn limit_message(limit: Limit, policy: &DialPolicy) -> (&'static str, String) {
    match limit {
        Limit::ClientCalls => (
            "client_too_many_calls",
            format!(
                "at most {} active calls per client",
                policy.client.max_active
            ),
        ),
        Limit::ClientDials => (
            "client_dial_rate_limited",
            format!(
                "at most {} dials per minute per client",
                policy.client.per_minute
            ),
        ),
        Limit::ClientSessions => (
            "client_session_rate_limited",
            format!(
                "at most {} new sessions per minute per client",
                policy.client_sessions_per_minute
            ),
        ),
        Limit::TargetCalls => (
            "target_too_many_calls",
            "this target has as many active calls as it allows".to_owned(),
        ),
        Limit::TargetDials => (
            "target_dial_rate_limited",
            "this target takes no more dials this minute".to_owned(),
        ),
        Limit::TotalCalls => (
            "total_too_many_calls",
            "this server has as many active calls as it allows".to_owned(),
        ),
        Limit::TotalDials => (
            "total_dial_rate_limited",
            "this server takes no more dials this minute".to_owned(),
        ),
    }
}

#[cfg(feature = "jwt")]
impl From<SignatureRefusal> for ApiError {
    fn from(r: SignatureRefusal) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, r.code, r.message).with_challenge()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_errors_map_to_the_documented_statuses() {
        let cases = [
            (DialError::invalid("uri", "bad"), 400),
            (DialError::not_found("session"), 404),
            (
                DialError::Conflict {
                    message: "relayed".into(),
                },
                409,
            ),
            (DialError::RateLimited { retry_after: None }, 429),
            (DialError::Timeout, 504),
            (DialError::RejectedCredentials, 502),
            (
                DialError::Config {
                    message: "x".into(),
                },
                502,
            ),
            (
                DialError::Transport {
                    message: "x".into(),
                },
                502,
            ),
            (
                DialError::Upstream {
                    status: 500,
                    code: None,
                    message: None,
                },
                502,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(ApiError::from(e.clone()).status().as_u16(), status, "{e:?}");
        }
    }

    #[test]
    fn platform_text_is_never_copied() {
        let e = ApiError::from(DialError::Upstream {
            status: 500,
            code: Some(15),
            message: Some("internal detail secret-ish".into()),
        });
        assert!(!e.message().contains("internal detail"));
        let e = ApiError::from(DialError::Conflict {
            message: "platform body".into(),
        });
        assert!(!e.message().contains("platform body"));
        let e = ApiError::from(DialError::invalid("x\r\nInjected: 1", "y"));
        assert!(!e.message().contains("Injected"));
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let res = ApiError::too_many("x", "y", Duration::from_millis(1500)).into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        let res = ApiError::too_many("x", "y", Duration::ZERO).into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    }
}
