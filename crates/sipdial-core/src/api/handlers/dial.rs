//! `POST /dial`: resolve the target, check the caller's URI and headers, apply the
//! limits, then place and record the call as one unit that outlives the request.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, StatusCode, header};

use super::super::SIP_CONNECTION_DATA;
use super::super::authorizer::Action;
use super::super::completion::run_to_completion;
use super::super::error::ApiError;
use super::super::json_response;
use super::super::store::CallRecord;
use super::super::targets::Target;
use super::super::wire::DialBody;
use super::{Answer, Handlers, dial_error, session_field, store_error};
use crate::{ConnectionData, DialRequest, Role, SipHeaders, SipUri, StreamId, TokenOptions};

impl Handlers<'_> {
    /// Which configured target a dial uses.
    fn resolve_target(
        &self,
        requested: Option<&str>,
        custom_uri: bool,
    ) -> Result<Option<&Target>, ApiError> {
        let targets = &self.inner.targets;
        match requested {
            Some(name) => targets
                .find(name)
                .map(Some)
                .ok_or_else(|| ApiError::invalid_field("target", "names no configured target")),
            None => match targets.default() {
                Some(t) => Ok(Some(t)),
                None if custom_uri => Ok(None),
                None if targets.is_empty() => Err(ApiError::invalid_field(
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
    pub(crate) async fn dial(&self, body: DialBody) -> Answer {
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
            // The record moves into the store; `call` still names the leg to end if it
            // cannot be recorded, so no copy of the record is kept for that.
            let record = match lifecycle
                .insert_dialed(CallRecord::dialed(&call, target_name))
                .await
            {
                Ok(recorded) => recorded,
                Err(e) => {
                    // An untracked live call could not be hung up through the API: end it.
                    let err = store_error(e);
                    if let Err(e) = dialer.hang_up(&call.session_id, &call.connection_id).await {
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
        // Relative to the mount the client used, so following it reaches this API
        // wherever the host nested it.
        let location = format!("{}{}/calls/{}", self.mount, inner.prefix, record.id);
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
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
