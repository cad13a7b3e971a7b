//! One module per route group, each method validating its input field by field,
//! checking that the session or call exists, asking the authorizer and applying the
//! limits before it calls the dialer. This module holds what every route shares: the
//! per-request context and the error mapping of the dialer and the store.

mod callbacks;
mod calls;
mod dial;
mod events;
mod openapi;
mod session;
mod targets;
mod token;

use http::StatusCode;

use super::Inner;
use crate::backend::store::StoreError;
use crate::body::ResponseBody;
use crate::call::CallRecord;
use crate::call::event::CallEventCause;
use crate::engine::rooms::RoomError;
use crate::http::error::ApiError;
use crate::policy::authorizer::{Action, Decision};
use crate::{CallId, DialError, Role, SessionId};

/// What a route answers.
pub(crate) type Answer = Result<http::Response<ResponseBody>, ApiError>;

/// The handlers of one request.
pub(crate) struct Handlers<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) head: &'a http::request::Parts,
    /// The host's mount (`/api` when a host nests the API under `/api`, `""` at the
    /// root): with the prefix in front of every URL we emit, see [`Handlers::base`].
    pub(crate) mount: &'a str,
}

/// Logs a dialer failure (its text may hold platform detail: fine in logs, never in
/// responses) and maps it.
pub(crate) fn dial_error(op: &'static str, e: DialError) -> ApiError {
    crate::engine::metrics::platform_failed(op, &e);
    ApiError::from(e)
}

/// Logs a store failure (its text may name keys or hosts) and answers 503.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "call store failed");
    ApiError::store_unavailable()
}

fn session_field(value: &str, field: &str) -> Result<SessionId, ApiError> {
    SessionId::new(value).map_err(|e| ApiError::invalid_value(field, &e))
}

fn session_not_found() -> ApiError {
    ApiError::not_found("session_not_found", "this server knows no such session")
}

fn call_not_found() -> ApiError {
    ApiError::not_found("call_not_found", "no such call")
}

fn call_ended() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "call_ended", "the call has ended")
}

fn stream_unknown() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "stream_unknown",
        "the call's stream is not known yet",
    )
}

impl Handlers<'_> {
    /// The API's base as the client sees it: the host's mount followed by the prefix
    /// (`/api/sip`), for every URL we emit.
    fn base(&self) -> String {
        [self.mount, &self.inner.prefix].concat()
    }

    async fn authorize(&self, action: Action) -> Result<Option<Role>, ApiError> {
        match self.inner.authorizer.authorize(self.head, &action).await {
            Decision::Allow => Ok(None),
            Decision::AllowWithRole(role) => Ok(Some(role)),
            Decision::Deny(reason) => {
                tracing::info!(action = action.name(), "denied by the authorizer");
                Err(ApiError::forbidden("forbidden", reason))
            }
        }
    }

    async fn known_session(&self, session: &SessionId) -> Result<(), ApiError> {
        match self.inner.store.is_known_session(session).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(session_not_found()),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn find_call(&self, param: Option<&str>) -> Result<CallRecord, ApiError> {
        let id = param
            .and_then(|p| CallId::new(p).ok())
            .ok_or_else(call_not_found)?;
        tracing::Span::current().record("call_id", id.as_str());
        self.inner
            .store
            .call(&id)
            .await
            .map_err(store_error)?
            .ok_or_else(call_not_found)
    }

    /// Ends `call` from our side, through the state machine (SSE and hook included).
    async fn mark_ended(
        &self,
        call: &CallRecord,
        reason: &str,
        cause: CallEventCause,
    ) -> Result<(), ApiError> {
        self.inner
            .lifecycle
            .end_locally(call, reason, cause)
            .await
            .map_err(store_error)
    }
}

/// A room's session that could not be had: the store's 500 or the platform's error.
impl From<RoomError> for ApiError {
    fn from(e: RoomError) -> Self {
        match e {
            RoomError::Store(e) => store_error(e),
            RoomError::Dial(e) => dial_error("create_session", e),
            RoomError::Refused(r, policy) => r.into_error(&policy),
        }
    }
}
