//! One method per route. Each one validates its input field by field, checks that the
//! session or call exists, asks the authorizer, applies the limits, and only then calls
//! the dialer.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use http::{HeaderValue, StatusCode, header};

use super::authorizer::{Action, Decision};
use super::config::Target;
use super::error::ApiError;
use super::lifecycle::CallEventCause;
use super::store::{CallRecord, CallState, CallStore};
use super::wire::{
    CallsResponse, DialBody, DtmfBody, SessionRequest, SessionResponse, TargetInfo,
    TargetsResponse, TokenRequest, TokenResponse,
};
use super::{Inner, RoomFlights, SIP_CONNECTION_DATA, json_response, no_content};
use crate::body::ResponseBody;
use crate::events::PlatformEvent;
use crate::{
    CallId, ConnectionData, DialError, DialRequest, Dtmf, DtmfTarget, Role, Room, SessionId,
    SessionOptions, SipDialer, SipHeaders, SipUri, StreamId, TokenOptions,
};

type Answer = Result<http::Response<ResponseBody>, ApiError>;

/// The handlers of one request.
pub(crate) struct Handlers<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) head: &'a http::request::Parts,
}

/// Logs a dialer failure (its text may hold platform detail: fine in logs, never in
/// responses) and maps it.
fn dial_error(op: &'static str, e: DialError) -> ApiError {
    if e.is_transient() || matches!(e, DialError::RejectedCredentials | DialError::Config { .. }) {
        tracing::warn!(op, error = %e, "dialer failed");
    } else {
        tracing::debug!(op, error = %e, "dialer refused");
    }
    ApiError::from(e)
}

fn store_error(e: super::store::StoreError) -> ApiError {
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

impl Handlers<'_> {
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

    /// `POST /session`.
    pub(crate) async fn create_session(&self, body: SessionRequest) -> Answer {
        let room = match body.room {
            Some(r) => Room::new(r).map_err(|e| ApiError::invalid_value("room", &e))?,
            None => Room::default(),
        };
        self.authorize(Action::CreateSession { room: room.clone() })
            .await?;
        let store = &self.inner.store;
        let session = match store.room_session(&room).await.map_err(store_error)? {
            Some(s) => s,
            None => {
                single_flight_session(
                    &self.inner.rooms_in_flight,
                    Arc::clone(&self.inner.dialer),
                    Arc::clone(store),
                    room.clone(),
                )
                .await?
            }
        };
        let platform = self.inner.dialer.platform();
        json_response(
            StatusCode::OK,
            &SessionResponse {
                room: room.as_str(),
                api_key: &platform.api_key,
                session_id: session.as_str(),
            },
        )
    }

    /// `GET /targets`.
    pub(crate) async fn list_targets(&self) -> Answer {
        self.authorize(Action::ListTargets).await?;
        let inner = self.inner;
        json_response(
            StatusCode::OK,
            &TargetsResponse {
                targets: inner
                    .targets
                    .iter()
                    .map(|t| TargetInfo {
                        name: &t.name,
                        label: &t.label,
                    })
                    .collect(),
                default_target: inner.default_target.map(|i| inner.targets[i].name.as_str()),
                custom_uri_allowed: inner.allow_list.is_enabled(),
            },
        )
    }

    /// `POST /token`.
    pub(crate) async fn issue_token(&self, body: TokenRequest) -> Answer {
        let session = session_field(&body.session_id, "sessionId")?;
        let requested = match body.role.as_deref() {
            Some(r) => Role::from_str(r).map_err(|e| ApiError::invalid_value("role", &e))?,
            None => Role::Publisher,
        };
        let data = match body.data {
            Some(d) if d.starts_with("sip=") => {
                return Err(ApiError::invalid_field(
                    "data",
                    "`sip=` connection data is reserved for SIP legs",
                ));
            }
            Some(d) => {
                Some(ConnectionData::new(d).map_err(|e| ApiError::invalid_value("data", &e))?)
            }
            None => None,
        };
        self.known_session(&session).await?;
        let role = self
            .authorize(Action::IssueToken {
                session_id: session.clone(),
                role: requested,
            })
            .await?
            .unwrap_or(requested);
        let options = TokenOptions {
            role,
            data,
            ..TokenOptions::default()
        };
        let token = self
            .inner
            .dialer
            .issue_token(&session, options)
            .map_err(|e| dial_error("issue_token", e))?;
        json_response(
            StatusCode::OK,
            &TokenResponse {
                token: token.expose_secret(),
                role,
                expires_at: token.expires_at().saturating_mul(1000),
            },
        )
    }

    /// Which configured target a dial uses.
    fn resolve_target(
        &self,
        requested: Option<&str>,
        custom_uri: bool,
    ) -> Result<Option<&Target>, ApiError> {
        let inner = self.inner;
        match requested {
            Some(name) => inner
                .targets
                .iter()
                .find(|t| t.name == name)
                .map(Some)
                .ok_or_else(|| ApiError::invalid_field("target", "names no configured target")),
            None => match inner.default_target {
                Some(i) => Ok(Some(&inner.targets[i])),
                None if custom_uri => Ok(None),
                None if inner.targets.is_empty() => Err(ApiError::invalid_field(
                    "target",
                    "is required: the server configured no target",
                )),
                None => Err(ApiError::invalid_field(
                    "target",
                    "is required: the server has several targets and no default",
                )),
            },
        }
    }

    /// `POST /dial`.
    pub(crate) async fn dial(&self, body: DialBody, prefix: &str) -> Answer {
        let inner = self.inner;
        let session = session_field(&body.session_id, "sessionId")?;
        let custom_uri = match body.uri.as_deref() {
            Some(u) => Some(SipUri::new(u).map_err(|e| ApiError::invalid_value("uri", &e))?),
            None => None,
        };
        let target = self.resolve_target(body.target.as_deref(), custom_uri.is_some())?;
        let (uri, auth) = match (&custom_uri, target) {
            // A caller-chosen URI never receives the host's digest credentials.
            (Some(uri), _) => (uri.clone(), None),
            (None, Some(t)) => (t.uri.clone(), t.auth.clone()),
            (None, None) => return Err(ApiError::invalid_field("target", "is required")),
        };
        let caller_headers = match body.headers {
            Some(map) => {
                SipHeaders::try_from(map).map_err(|e| ApiError::invalid_value("headers", &e))?
            }
            None => SipHeaders::new(),
        };
        if let Some(name) = caller_headers.identity_header() {
            return Err(ApiError::invalid_field(
                "headers",
                format!("`{name}` sets the caller's identity: only the host's target may set it"),
            ));
        }
        let mut headers = target.map(|t| t.headers.clone()).unwrap_or_default();
        headers
            .merge_missing(&caller_headers)
            .map_err(|e| ApiError::invalid_value("headers", &e))?;
        let streams = body
            .streams
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                StreamId::new(s).map_err(|e| ApiError::invalid_value(&format!("streams[{i}]"), &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(uri) = &custom_uri {
            if !inner.allow_list.is_enabled() {
                return Err(ApiError::forbidden(
                    "uri_not_allowed",
                    "this server does not accept caller-supplied SIP URIs",
                ));
            }
            if !inner.allow_list.matches(uri) {
                return Err(ApiError::forbidden(
                    "uri_not_allowed",
                    "the SIP URI is not on this server's allow-list",
                ));
            }
        }
        self.known_session(&session).await?;
        self.authorize(Action::Dial {
            session_id: session.clone(),
            target: target.map(|t| t.name.clone()),
            custom_uri: custom_uri.is_some(),
        })
        .await?;
        let active = inner
            .store
            .active_call_count(&session)
            .await
            .map_err(store_error)?;
        let permit = inner.limiter.admit(&session, active, Instant::now())?;

        let token = inner
            .dialer
            .issue_token(
                &session,
                TokenOptions {
                    role: Role::Publisher,
                    data: Some(sip_leg_data()?),
                    ..TokenOptions::default()
                },
            )
            .map_err(|e| dial_error("issue_token", e))?;
        let mut request = DialRequest::new(session.clone(), token, uri);
        request.auth = auth;
        request.headers = headers;
        request.streams = streams;
        if let Some(t) = target {
            request.from = t.from.clone();
            request.secure = t.secure;
            request.video = t.video;
            request.observe_force_mute = t.observe_force_mute;
        }
        let dialer = Arc::clone(&inner.dialer);
        let lifecycle = Arc::clone(&inner.lifecycle);
        let target_name = target.map(|t| t.name.clone());
        let place_and_record = async move {
            let call = dialer
                .dial(request)
                .await
                .map_err(|e| dial_error("dial", e))?;
            tracing::Span::current().record("call_id", call.id.as_str());
            let record = CallRecord::dialed(&call, target_name);
            let record = match lifecycle.insert_dialed(record.clone()).await {
                Ok(recorded) => recorded,
                Err(e) => {
                    // An untracked live call could not be hung up through the API: end it.
                    let err = store_error(e);
                    if let Err(e) = dialer
                        .hang_up(&record.session_id, &record.connection_id)
                        .await
                    {
                        tracing::error!(error = %e, "could not hang up an unrecorded call");
                    }
                    return Err(err);
                }
            };
            drop(permit);
            Ok(record)
        };
        let record = run_to_completion(place_and_record).await?;
        let mut res = json_response(StatusCode::CREATED, &record)?;
        let location = format!("{prefix}/calls/{}", record.id);
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
    }

    /// `GET /calls?sessionId=&all=`.
    pub(crate) async fn list_calls(&self, query: Option<&str>) -> Answer {
        let pairs = super::extract::query_pairs(query)?;
        let mut session = None;
        let mut all = None;
        for (k, v) in pairs {
            match k.as_str() {
                "sessionId" if session.is_none() => session = Some(v),
                "all" if all.is_none() => all = Some(v),
                _ => {}
            }
        }
        let session = session
            .ok_or_else(|| ApiError::invalid_field("sessionId", "is required"))
            .and_then(|s| session_field(&s, "sessionId"))?;
        let include_ended = match all.as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => return Err(ApiError::invalid_field("all", "must be true or false")),
        };
        self.known_session(&session).await?;
        self.authorize(Action::ListCalls {
            session_id: session.clone(),
            include_ended,
        })
        .await?;
        let calls = self
            .inner
            .store
            .session_calls(&session, include_ended)
            .await
            .map_err(store_error)?;
        json_response(StatusCode::OK, &CallsResponse { calls })
    }

    /// `GET /calls/{id}`.
    pub(crate) async fn get_call(&self, param: Option<&str>) -> Answer {
        let call = self.find_call(param).await?;
        self.authorize(Action::GetCall {
            call_id: call.id.clone(),
            session_id: call.session_id.clone(),
        })
        .await?;
        json_response(StatusCode::OK, &call)
    }

    /// `DELETE /calls/{id}`: idempotent; the platform no longer knowing the
    /// connection means the call already ended.
    pub(crate) async fn hang_up(&self, param: Option<&str>) -> Answer {
        let call = self.find_call(param).await?;
        self.authorize(Action::HangUp {
            call_id: call.id.clone(),
            session_id: call.session_id.clone(),
        })
        .await?;
        if call.state == CallState::Ended {
            return Ok(no_content());
        }
        match self
            .inner
            .dialer
            .hang_up(&call.session_id, &call.connection_id)
            .await
        {
            Ok(()) => {
                self.mark_ended(&call, "Hung up", CallEventCause::HungUp)
                    .await?
            }
            Err(DialError::NotFound { .. }) => {
                self.mark_ended(&call, "Disconnected", CallEventCause::Gone)
                    .await?;
            }
            Err(e) => return Err(dial_error("hang_up", e)),
        }
        Ok(no_content())
    }

    /// `POST /calls/{id}/dtmf`.
    pub(crate) async fn play_dtmf(&self, param: Option<&str>, body: DtmfBody) -> Answer {
        let digits = Dtmf::new(body.digits).map_err(|e| ApiError::invalid_value("digits", &e))?;
        let call = self.find_call(param).await?;
        if call.state == CallState::Ended {
            return Err(call_ended());
        }
        self.authorize(Action::PlayDtmf {
            call_id: call.id.clone(),
            session_id: call.session_id.clone(),
        })
        .await?;
        let target = DtmfTarget::Connection(call.session_id.clone(), call.connection_id.clone());
        match self.inner.dialer.play_dtmf(&target, &digits).await {
            Ok(()) => Ok(no_content()),
            Err(DialError::NotFound { .. }) => {
                self.mark_ended(&call, "Disconnected", CallEventCause::Gone)
                    .await?;
                Err(call_ended())
            }
            Err(e) => Err(dial_error("play_dtmf", e)),
        }
    }
}

impl Handlers<'_> {
    /// `GET /events?sessionId=`: Server-Sent Events of the session's calls.
    pub(crate) async fn watch_events(&self, query: Option<&str>) -> Answer {
        let session = super::extract::query_pairs(query)?
            .into_iter()
            .find(|(k, _)| k == "sessionId")
            .map(|(_, v)| v)
            .ok_or_else(|| ApiError::invalid_field("sessionId", "is required"))
            .and_then(|s| session_field(&s, "sessionId"))?;
        self.known_session(&session).await?;
        self.authorize(Action::WatchEvents {
            session_id: session.clone(),
        })
        .await?;
        // An id this server never issued (or garbage) just means "start over".
        let last_event_id = self
            .head
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = self
            .inner
            .lifecycle
            .subscribe(&session, last_event_id)
            .await
            .map_err(store_error)?;
        let mut res = http::Response::new(body);
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Reverse proxies (nginx) must pass each event on at once.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        Ok(res)
    }

    /// `POST /callbacks`: one platform callback, verified when a secret is
    /// configured, applied, and answered 200 for anything readable.
    pub(crate) async fn receive_callback(&self, body: &[u8]) -> Answer {
        #[cfg(feature = "jwt")]
        if let Some(secret) = &self.inner.callback_secret {
            let now = crate::Timestamp::now().as_secs();
            if let Err(e) = super::signature::verify(&self.head.headers, body, secret, now) {
                tracing::warn!(code = e.code(), "callback signature refused");
                return Err(e);
            }
        }
        self.authorize(Action::ReceiveCallback).await?;
        let event = PlatformEvent::from_callback_json(body).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the callback body is not a JSON object",
            )
        })?;
        if let Some(id) = event.call().and_then(|c| c.id.as_ref()) {
            tracing::Span::current().record("call_id", id.as_str());
        }
        let outcome = self
            .inner
            .lifecycle
            .apply(event)
            .await
            .map_err(store_error)?;
        json_response(
            StatusCode::OK,
            &serde_json::json!({ "status": outcome.as_str() }),
        )
    }
}

/// Runs the dial and its store write to the end even when the request is dropped
/// midway (the client went away, a host timeout or a hard shutdown cancelled it): once
/// the platform request is sent a call may be placed and billed, and a call missing from
/// the store could not be hung up, listed or counted against the limits. On a Tokio
/// runtime (every adapter's) it runs as a task of its own; elsewhere, inline.
async fn run_to_completion<F>(work: F) -> Result<CallRecord, ApiError>
where
    F: std::future::Future<Output = Result<CallRecord, ApiError>> + Send + 'static,
{
    use tracing::Instrument as _;
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work.await;
    };
    match runtime
        .spawn(work.instrument(tracing::Span::current()))
        .await
    {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )),
    }
}

/// The connection data of a SIP leg's token.
fn sip_leg_data() -> Result<ConnectionData, ApiError> {
    ConnectionData::new(SIP_CONNECTION_DATA).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the SIP leg's connection data is invalid",
        )
    })
}

/// Gets the session of `room`, creating it at most once however many requests ask at
/// the same time: the first starts the creation, the others await the same future.
async fn single_flight_session(
    flights: &RoomFlights,
    dialer: Arc<dyn SipDialer>,
    store: Arc<dyn CallStore>,
    room: Room,
) -> Result<SessionId, ApiError> {
    let flight = {
        let mut map = flights.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(room.clone())
            .or_insert_with(|| {
                let weak = Arc::downgrade(flights);
                let room = room.clone();
                async move {
                    let result = create_room_session(&*dialer, &*store, &room).await;
                    // Removed only after the store holds the mapping, so a later
                    // request finds it there instead of starting a second creation.
                    if let Some(map) = weak.upgrade() {
                        map.lock().unwrap_or_else(|p| p.into_inner()).remove(&room);
                    }
                    result
                }
                .boxed()
                .shared()
            })
            .clone()
    };
    flight.await
}

async fn create_room_session(
    dialer: &dyn SipDialer,
    store: &dyn CallStore,
    room: &Room,
) -> Result<SessionId, ApiError> {
    if let Some(existing) = store.room_session(room).await.map_err(store_error)? {
        return Ok(existing);
    }
    let created = dialer
        .create_session(SessionOptions::default())
        .await
        .map_err(|e| dial_error("create_session", e))?;
    tracing::info!("created the session of a room");
    store
        .insert_room_session(room, &created)
        .await
        .map_err(store_error)
}
