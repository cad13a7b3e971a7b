//! `POST /dial`: resolve the target, check the caller's URI and headers, apply the
//! limits, then place and record the call as one unit that outlives the request.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};

use super::{Answer, Handlers, dial_error, session_field, store_error};
use crate::backend::limits::DialSlot;
use crate::call::CallRecord;
use crate::call::ticket::DialTicket;
use crate::engine::answer_wait::{Wait, answer_wait_bound, wait_for_answer};
use crate::engine::completion::run_to_completion;
use crate::engine::lifecycle::{Dialed, Lifecycle};
use crate::http::SIP_CONNECTION_DATA;
use crate::http::error::ApiError;
use crate::http::extract::query_pairs;
use crate::http::json_response;
use crate::http::wire::DialBody;
use crate::policy::authorizer::Action;
use crate::policy::targets::Target;
use crate::{
    ConnectionData, DialRequest, Dtmf, Role, SipDialer, SipHeaders, SipUri, StreamId, TokenOptions,
};

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
        let wait = parse_wait(self.head.uri.query())?;
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
        let requested_dtmf = body
            .dtmf_after_answer
            .map(|d| Dtmf::new(d).map_err(|e| ApiError::invalid_value("dtmfAfterAnswer", &e)))
            .transpose()?;
        let dtmf_after_answer = digits_after_answer(custom_uri.is_some(), target, requested_dtmf)?;
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
        if !inner.limits.checks_session() {
            self.known_session(&session).await?;
        }
        self.authorize(Action::Dial {
            session_id: session.clone(),
            target: target.map(|t| t.name.clone()),
            custom_uri: custom_uri.is_some(),
        })
        .await?;
        let active = if inner.limits.counts_active() {
            0
        } else {
            inner
                .store
                .active_call_count(&session)
                .await
                .map_err(store_error)?
        };
        let ticket = inner
            .limits
            .admit(&session, active, &inner.policy)
            .await
            .map_err(store_error)?
            .map_err(|refusal| refusal.into_error(&inner.policy))?;
        let slot = DialSlot::new(Arc::clone(&inner.limits), session.clone(), ticket);

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
        let at_answer = Arc::clone(&inner.dtmf_at_answer);
        let target_name = target.map(|t| t.name.clone());
        let place_and_record = async move {
            let call = match crate::engine::metrics::time_platform_dial(dialer.dial(request)).await
            {
                Ok(call) => call,
                Err(e) => {
                    // Freed before answering, so the session's next dial already finds
                    // the slot free: dropped, the slot would be released later, by a
                    // task of its own.
                    slot.release().await;
                    return Err(dial_error("dial", e));
                }
            };
            tracing::Span::current().record("call_id", call.id.as_str());
            // Kept before the call is recorded: the answer may come right after.
            if let Some(digits) = &dtmf_after_answer
                && let Err(e) = at_answer.hold(&call.id, digits).await
            {
                tracing::warn!(error = %e, "the digits at answer could not be kept; they will not be sent");
            }
            let record = CallRecord::dialed(&call, target_name);
            match record_dialed(&lifecycle, &*dialer, record, &slot).await {
                Ok(dialed) => {
                    if dialed.slot_freed {
                        slot.disarm();
                    } else {
                        slot.release().await;
                    }
                    if dtmf_after_answer.is_some() {
                        // Early callbacks may have answered it before the digits were
                        // kept; taking them is atomic, so they still go out once.
                        at_answer.on_change(&dialed.record, None);
                    }
                    Ok(dialed.record)
                }
                Err(e) => {
                    slot.release().await;
                    Err(e)
                }
            }
        };
        let bound = answer_wait_bound(
            &inner.lifecycle.timers().policies,
            target.map(|t| t.name.as_str()),
            inner.answer_wait_limit,
        );
        let record = run_to_completion(place_and_record).await?;
        // After the dial is placed and recorded: a client that leaves now only stops
        // waiting.
        let record = match wait {
            Wait::Placed => record,
            Wait::Answered => wait_for_answer(&*inner.store, &*inner.events, record, bound).await,
        };
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

/// The digits a dial plays at answer. A caller-supplied URI (already matched by the
/// allow-list) gets the caller's digits only, never the host's: a target's PIN must
/// not reach a destination the caller chose. A configured target plays its own (or
/// the builder's default); a request may add digits only to a target that has none.
fn digits_after_answer(
    custom_uri: bool,
    target: Option<&Target>,
    requested: Option<Dtmf>,
) -> Result<Option<Dtmf>, ApiError> {
    if custom_uri {
        return Ok(requested);
    }
    match (target.and_then(|t| t.dtmf_after_answer.as_ref()), requested) {
        (Some(_), Some(_)) => Err(ApiError::forbidden(
            "dtmf_not_allowed",
            "`dtmfAfterAnswer`: this target sends its own digits at answer",
        )),
        (own, requested) => Ok(own.cloned().or(requested)),
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

/// Attempts at recording a placed call before giving up, and the pause after the first
/// failure (doubled after each one): about one second in all, so a store that blinks
/// (a failover, a reconnect) does not cost a placed call.
const RECORD_ATTEMPTS: u32 = 4;
const RECORD_BACKOFF: Duration = Duration::from_millis(150);

/// Records a call the platform accepted. A placed call is never silently lost: when the
/// store still fails after the retries, the call is hung up (an untracked call could
/// not be listed, controlled or counted against the limits) and the answer is a 503
/// that names its connection and whether the hang-up worked.
async fn record_dialed(
    lifecycle: &Lifecycle,
    dialer: &dyn SipDialer,
    record: CallRecord,
    slot: &DialSlot,
) -> Result<Dialed, ApiError> {
    let none = DialTicket(String::new());
    let ticket = slot.ticket().unwrap_or(&none);
    let mut pause = RECORD_BACKOFF;
    let mut attempt = 1;
    let error = loop {
        match lifecycle
            .insert_dialed(record.clone(), ticket, attempt > 1)
            .await
        {
            Ok(dialed) => return Ok(dialed),
            Err(e) if attempt >= RECORD_ATTEMPTS => break e,
            Err(e) => {
                tracing::warn!(error = %e, attempt, "a placed call could not be recorded; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
        }
    };
    let _ = store_error(error);
    let hung_up = match dialer
        .hang_up(&record.session_id, &record.connection_id)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "could not hang up an unrecorded call");
            false
        }
    };
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        format!(
            "the call was placed (connection {}) but could not be recorded; {}",
            record.connection_id,
            if hung_up {
                "it was hung up"
            } else {
                "hanging it up failed too"
            }
        ),
    )
    .with_retry_after(Duration::from_secs(1)))
}

/// Reads `wait` from the dial's query; other parameters are ignored, as on every
/// route.
pub(crate) fn parse_wait(query: Option<&str>) -> Result<Wait, ApiError> {
    let mut wait = None;
    for (k, v) in query_pairs(query)? {
        if k == "wait" {
            if wait.is_some() {
                return Err(ApiError::invalid_field("wait", "is given twice"));
            }
            wait = Some(v);
        }
    }
    match wait.as_deref() {
        None => Ok(Wait::Placed),
        Some("answered") => Ok(Wait::Answered),
        Some(_) => Err(ApiError::invalid_field("wait", "must be `answered`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_accepts_answered_only() {
        assert_eq!(parse_wait(None).unwrap(), Wait::Placed);
        assert_eq!(parse_wait(Some("x=1")).unwrap(), Wait::Placed);
        assert_eq!(parse_wait(Some("wait=answered")).unwrap(), Wait::Answered);
        for bad in [
            "wait=",
            "wait=ringing",
            "wait=answered&wait=answered",
            "wait=ANSWERED",
        ] {
            let e = parse_wait(Some(bad)).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
        }
    }
}
