//! `POST /dial`: resolve the target, check the caller's URI and headers, apply the
//! limits, then place and record the call as one unit that outlives the request.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};

use super::{Answer, Handlers, dial_error, session_field, store_error};
use crate::backend::idempotency::StoredAnswer;
use crate::backend::limits::{DialScope, DialSlot};
use crate::body::ResponseBody;
use crate::engine::answer_wait::{Wait, answer_wait_bound, wait_for_answer};
use crate::engine::completion::run_to_completion;
use crate::engine::dial::{DialFailure, Placement, place_and_record};
use crate::engine::idempotency::{self, Begun, IN_FLIGHT_ALLOWANCE};
use crate::http::SIP_CONNECTION_DATA;
use crate::http::error::ApiError;
use crate::http::extract::query_pairs;
use crate::http::json_response;
use crate::http::wire::DialBody;
use crate::policy::allow_list::caller_uri_refusal;
use crate::policy::authorizer::Action;
use crate::policy::principal::ClientKey;
use crate::policy::targets::{Target, check_caller_headers};
use crate::{
    ConnectionData, DialRequest, Dtmf, IdempotencyKey, Role, SipDialer, SipHeaders, SipUri,
    StreamId, TokenOptions,
};

impl Handlers<'_> {
    /// Which configured target a dial without a `uri` uses.
    fn resolve_target(&self, requested: Option<&str>) -> Result<&Target, ApiError> {
        let targets = &self.inner.targets;
        match requested {
            // A well-formed name no target has is a missing resource (404), as the
            // document states: only a malformed one is a bad request.
            Some(name) => {
                if crate::policy::targets::check_target_name(name).is_err() {
                    return Err(ApiError::invalid_field(
                        "target",
                        "must be 1 to 64 of A-Z a-z 0-9 _ . -",
                    ));
                }
                targets.find(name).ok_or_else(|| {
                    ApiError::not_found("target_not_found", "no configured target has this name")
                })
            }
            None => match targets.default() {
                Some(t) => Ok(t),
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
        let idempotency_key = idempotency_key(&self.head.headers)?;
        // Taken before the body's fields are moved out; only a keyed dial pays for it.
        let fingerprint = idempotency_key
            .as_ref()
            .map(|_| request_fingerprint(&body, wait))
            .transpose()?;
        let session = session_field(&body.session_id, "sessionId")?;
        let custom_uri = match body.uri.as_deref() {
            Some(u) => Some(SipUri::new(u).map_err(|e| ApiError::invalid_value("uri", &e))?),
            None => None,
        };
        if let Some(uri) = &custom_uri
            && let Some(reason) = caller_uri_refusal(uri)
        {
            return Err(ApiError::invalid_field("uri", reason));
        }
        // A caller's own URI is dialled as it is: it never borrows a target's From,
        // credentials, headers, digits or settings (the default target's included).
        let target = match (&custom_uri, body.target.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_field(
                    "uri",
                    "give either a `target` or a `uri`, not both",
                ));
            }
            (Some(_), None) => None,
            (None, requested) => Some(self.resolve_target(requested)?),
        };
        let (uri, auth) = match (&custom_uri, target) {
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
        check_caller_headers(&caller_headers, target)
            .map_err(|reason| ApiError::invalid_field("headers", reason))?;
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
        let (room, known) = self
            .session_context(&session, !inner.limits.checks_session())
            .await?;
        self.authorize_known(
            Action::Dial {
                session_id: session.clone(),
                target: target.map(|t| t.name.clone()),
                custom_uri: custom_uri.is_some(),
                room,
            },
            known,
        )
        .await?;
        let client = ClientKey::of(self.head, &inner.trusted_proxies).to_key();
        // After the authorizer (a replay is shown only to a caller allowed to place
        // this very dial) and before the limits (a replay places nothing, so it takes
        // no dial slot).
        let bound = answer_wait_bound(
            &inner.lifecycle.timers().policies,
            target.map(|t| t.name.as_str()),
            inner.answer_wait_limit,
        );
        let claim = match (idempotency_key, fingerprint) {
            (Some(key), Some(fingerprint)) => {
                let in_flight = match wait {
                    Wait::Placed => IN_FLIGHT_ALLOWANCE,
                    Wait::Answered => bound + IN_FLIGHT_ALLOWANCE,
                };
                match (inner.idempotency)
                    .begin(&client, &key, fingerprint, in_flight)
                    .await
                    .map_err(store_error)?
                {
                    Begun::Fresh(claim) => Some(claim),
                    Begun::Replay(answer) => return stored_response(&answer, true),
                    Begun::InFlight => return Err(key_in_flight()),
                    Begun::Mismatch => return Err(key_reused()),
                }
            }
            _ => None,
        };
        let active = if inner.limits.counts_active() {
            0
        } else {
            inner
                .store
                .active_call_count(&session)
                .await
                .map_err(store_error)?
        };
        let scope = DialScope {
            client: &client,
            target: target.map(|t| (t.name.as_str(), t.quota)),
        };
        let ticket = inner
            .limits
            .admit(&session, active, &inner.policy, &scope)
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
        let placement = Placement {
            dialer: Arc::clone(&inner.dialer),
            lifecycle: Arc::clone(&inner.lifecycle),
            at_answer: Arc::clone(&inner.dtmf_at_answer),
            request,
            dtmf_after_answer,
            target_name: target.map(|t| t.name.clone()),
            slot,
        };
        if let Some(claim) = claim {
            // Relative to the mount the client used, as below.
            let location = format!("{}{}/calls/", self.mount, inner.prefix);
            // A keyed dial runs to completion with its wait: the answer kept for the
            // retries is the one this request gets, even when its client left.
            let store = Arc::clone(&inner.store);
            let events = Arc::clone(&inner.events);
            let answer = run_to_completion(async move {
                let record = match place_and_record(placement).await {
                    Ok(record) => record,
                    Err(e) => {
                        claim.release().await;
                        return Err(e);
                    }
                };
                let record = match wait {
                    Wait::Placed => record,
                    Wait::Answered => wait_for_answer(&*store, &*events, record, bound).await,
                };
                let answer = StoredAnswer {
                    status: StatusCode::CREATED.as_u16(),
                    location: Some(format!("{location}{}", record.id)),
                    body: serde_json::to_string(&record).unwrap_or_default(),
                };
                // Kept for the retries: in this process at once, in the store after
                // this answer leaves (the dial waits on one round trip for its key).
                claim.complete(answer.clone());
                Ok(answer)
            })
            .await
            .map_err(dial_failure)?;
            return stored_response(&answer, false);
        }
        let record = run_to_completion(place_and_record(placement))
            .await
            .map_err(dial_failure)?;
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
        (None, Some(_)) if target.is_some_and(|t| !t.caller_dtmf_after_answer) => {
            Err(ApiError::forbidden(
                "dtmf_not_allowed",
                "`dtmfAfterAnswer`: this target takes no digits from callers",
            ))
        }
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

/// A dial that failed once placing began: the platform's error was logged and counted
/// where it happened (the work may have outlived the request); a placed call the store
/// would not take is a 503 that names its connection and whether the hang-up worked.
fn dial_failure(e: DialFailure) -> ApiError {
    match e {
        DialFailure::Platform(e) => ApiError::from(e),
        DialFailure::Unrecorded {
            connection_id,
            hung_up,
        } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!(
                "the call was placed (connection {connection_id}) but could not be recorded; {}",
                if hung_up {
                    "it was hung up"
                } else {
                    "hanging it up failed too"
                }
            ),
        )
        .with_retry_after(Duration::from_secs(1)),
    }
}

/// The header a replayed answer carries, so a client can tell its retry found the
/// first request's call.
pub(crate) const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The dial's `Idempotency-Key`, if it sent one; 400 naming the header for a malformed
/// one or two of them (which one would be meant?).
fn idempotency_key(headers: &http::HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    const FIELD: &str = "Idempotency-Key";
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::invalid_field(FIELD, "is given twice"));
    }
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid_field(FIELD, "must be ASCII"))?;
    IdempotencyKey::from_header(text)
        .map(Some)
        .map_err(|e| ApiError::invalid_value(FIELD, &e))
}

/// The fingerprint a key is bound to: the body in its canonical form and the wait (a
/// `?wait=answered` retry of a plain dial asks for another answer).
fn request_fingerprint(body: &DialBody, wait: Wait) -> Result<String, ApiError> {
    let mut canonical = serde_json::to_vec(body).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the request could not be encoded",
        )
    })?;
    if wait == Wait::Answered {
        canonical.extend_from_slice(b"\nwait=answered");
    }
    Ok(idempotency::fingerprint(&canonical))
}

/// 409: the first request with this key is still being answered.
fn key_in_flight() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still in progress; retry later",
    )
    .with_retry_after(Duration::from_secs(1))
}

/// 422: the key was used for another request.
fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used with another request",
    )
}

/// The answer of a keyed dial, first or replayed: the same status, `Location` and body
/// either way; a replay says so in [`REPLAYED_HEADER`].
fn stored_response(answer: &StoredAnswer, replayed: bool) -> Answer {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::CREATED);
    let mut res = http::Response::new(ResponseBody::full(answer.body.clone().into_bytes()));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(v) = answer
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        headers.insert(header::LOCATION, v);
    }
    if replayed {
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(res)
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
    fn idempotency_keys_are_read_once_and_validated() {
        let mut h = http::HeaderMap::new();
        assert_eq!(idempotency_key(&h).unwrap(), None);
        h.append("idempotency-key", HeaderValue::from_static("\"abc-1\""));
        assert_eq!(idempotency_key(&h).unwrap().unwrap().as_str(), "abc-1");
        h.append("idempotency-key", HeaderValue::from_static("abc-2"));
        let e = idempotency_key(&h).unwrap_err();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, "invalid_field")
        );
        assert!(e.message().contains("Idempotency-Key"), "{}", e.message());
        let mut h = http::HeaderMap::new();
        h.insert(
            "idempotency-key",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert_eq!(idempotency_key(&h).unwrap_err().status(), 400);
    }

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
