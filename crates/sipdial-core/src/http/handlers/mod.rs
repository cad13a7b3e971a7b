//! One module per route group, each method validating its input field by field,
//! looking up the session or call with its room, asking the authorizer and applying
//! the limits before it calls the dialer. An unknown session or call answers 404 only
//! after the authorizer was asked (and the caller authenticated in dispatch), and a
//! refusal the authorizer words as "not found" answers the same 404, so a stranger
//! cannot tell which ids exist. This module holds what every route shares: the
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

pub(crate) use dial::REPLAYED_HEADER;

use super::Inner;
use crate::backend::store::StoreError;
use crate::body::ResponseBody;
use crate::call::CallRecord;
use crate::call::event::CallEventCause;
use crate::engine::rooms::RoomError;
use crate::http::error::ApiError;
use crate::policy::authorizer::{Action, Decision};
use crate::{CallId, DialError, Role, Room, SessionId};

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

    /// Asks the authorizer about `action` on a session or call that exists when
    /// `known`. On an unknown one every refusal but 401, and an allow too, answers the
    /// unknown id's 404, so the answer never depends on whether it exists; a "not
    /// found" decision answers the same 404.
    async fn authorize_known(&self, action: Action, known: bool) -> Result<Option<Role>, ApiError> {
        let not_found = || {
            if action.call().is_some() {
                call_not_found()
            } else {
                session_not_found()
            }
        };
        let decision = self.inner.authorizer.authorize(self.head, &action).await;
        match decision {
            Decision::Unauthenticated => Err(ApiError::unauthenticated()),
            _ if !known => Err(not_found()),
            Decision::Allow => Ok(None),
            Decision::AllowWithRole(role) => Ok(Some(role)),
            Decision::NotFound => {
                tracing::info!(action = action.name(), "hidden by the authorizer");
                Err(not_found())
            }
            Decision::Deny(reason) => {
                tracing::info!(action = action.name(), "denied by the authorizer");
                Err(ApiError::forbidden("forbidden", reason))
            }
        }
    }

    /// [`Handlers::authorize_known`] for an action whose session or call was found.
    async fn authorize(&self, action: Action) -> Result<Option<Role>, ApiError> {
        self.authorize_known(action, true).await
    }

    /// The room of `session` (when the authorizer reads rooms) and whether the session
    /// exists. `check` false skips the existence check of a session without a room
    /// (the dial's limits check it).
    async fn session_context(
        &self,
        session: &SessionId,
        check: bool,
    ) -> Result<(Option<Room>, bool), ApiError> {
        let store = &self.inner.store;
        let room = if self.inner.authorizer.reads_rooms() {
            store.session_room(session).await.map_err(store_error)?
        } else {
            None
        };
        let known = room.is_some()
            || !check
            || store.is_known_session(session).await.map_err(store_error)?;
        Ok((room, known))
    }

    /// The room of the session `call` is in, when the authorizer reads rooms.
    async fn call_room(&self, call: &CallRecord) -> Result<Option<Room>, ApiError> {
        if !self.inner.authorizer.reads_rooms() {
            return Ok(None);
        }
        self.inner
            .store
            .session_room(&call.session_id)
            .await
            .map_err(store_error)
    }

    /// The call `param` names, once the authorizer allows the action `on` builds for it
    /// (from its id, session and room). Authorized before anything of the call shows, so
    /// a call outside the caller's grant answers as unknown, ended or not.
    async fn authorized_call(
        &self,
        param: Option<&str>,
        on: fn(CallId, SessionId, Option<Room>) -> Action,
    ) -> Result<CallRecord, ApiError> {
        let call = self.find_call(param).await?;
        let room = self.call_room(&call).await?;
        self.authorize(on(call.id.clone(), call.session_id.clone(), room))
            .await?;
        Ok(call)
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
