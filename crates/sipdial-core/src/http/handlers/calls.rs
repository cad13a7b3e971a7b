//! Call control: list, read, hang up, send DTMF to and mute the calls of a session.

use http::StatusCode;

use super::{Answer, Handlers, call_ended, dial_error, session_field, store_error, stream_unknown};
use crate::call::CallState;
use crate::call::event::CallEventCause;
use crate::engine::dtmf_rate::{
    DTMF_DIGIT_WINDOW, DTMF_DIGITS, DTMF_REQUEST_WINDOW, DTMF_REQUESTS,
};
use crate::http::error::ApiError;
use crate::http::extract::query_pairs;
use crate::http::wire::{CallsResponse, DtmfBody};
use crate::http::{json_response, no_content};
use crate::policy::authorizer::Action;
use crate::{DialError, Dtmf, DtmfTarget};

impl Handlers<'_> {
    /// `GET /calls?sessionId=&all=`.
    pub(crate) async fn list_calls(&self, query: Option<&str>) -> Answer {
        let mut session = None;
        let mut all = None;
        for (k, v) in query_pairs(query)? {
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
        let (room, known) = self.session_context(&session, true).await?;
        self.authorize_known(
            Action::ListCalls {
                session_id: session.clone(),
                include_ended,
                room,
            },
            known,
        )
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
        let call = self
            .authorized_call(param, |call_id, session_id, room| Action::GetCall {
                call_id,
                session_id,
                room,
            })
            .await?;
        json_response(StatusCode::OK, &call)
    }

    /// `POST /calls/{id}/hangup` and its deprecated alias `DELETE /calls/{id}`: ends the
    /// call, whose record stays readable as `ended`. Idempotent; the platform no longer
    /// knowing the connection means the call already ended.
    pub(crate) async fn hang_up(&self, param: Option<&str>) -> Answer {
        let call = self
            .authorized_call(param, |call_id, session_id, room| Action::HangUp {
                call_id,
                session_id,
                room,
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
        let call = self
            .authorized_call(param, |call_id, session_id, room| Action::PlayDtmf {
                call_id,
                session_id,
                room,
            })
            .await?;
        if call.state == CallState::Ended {
            return Err(call_ended());
        }
        if call
            .target
            .as_deref()
            .and_then(|name| self.inner.targets.find(name))
            .is_some_and(|t| !t.caller_dtmf)
        {
            return Err(ApiError::forbidden(
                "dtmf_not_allowed",
                "this call's target takes no DTMF from callers",
            ));
        }
        self.inner
            .dtmf_rate
            .take(&call.id, digits.as_str().len())
            .map_err(|wait| {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "dtmf_rate_limited",
                    format!(
                        "at most {DTMF_REQUESTS} DTMF requests per {} s and {DTMF_DIGITS} digits per {} s per call",
                        DTMF_REQUEST_WINDOW.as_secs(),
                        DTMF_DIGIT_WINDOW.as_secs()
                    ),
                )
                .with_retry_after(wait)
            })?;
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
    /// `POST /calls/{id}/mute`: force-mutes the call's SIP stream (docs/platform-api.md
    /// §5). Authorized like a hang-up; an ended call is a 409, as for DTMF, and so is a
    /// stream the platform no longer has (the leg went with its call).
    pub(crate) async fn mute(&self, param: Option<&str>) -> Answer {
        let call = self
            .authorized_call(param, |call_id, session_id, room| Action::Mute {
                call_id,
                session_id,
                room,
            })
            .await?;
        if call.state == CallState::Ended {
            return Err(call_ended());
        }
        // Only a call this server did not place can lack one, until the platform
        // reports its stream.
        let stream = call.stream_id.clone().ok_or_else(stream_unknown)?;
        match self
            .inner
            .dialer
            .force_mute(&call.session_id, &stream)
            .await
        {
            Ok(()) => Ok(no_content()),
            Err(DialError::NotFound { .. }) => {
                self.mark_ended(&call, "Disconnected", CallEventCause::Gone)
                    .await?;
                Err(call_ended())
            }
            Err(e) => Err(dial_error("force_mute", e)),
        }
    }
}
