//! `POST /callbacks`: the platform's SIP and session-monitoring callbacks.

use http::StatusCode;

use super::{Answer, Handlers, dial_error, store_error};
use crate::engine::lifecycle::Provenance;
use crate::engine::unverified_end::{self, Unconfirmed};
use crate::events::PlatformEvent;
use crate::http::error::ApiError;
use crate::http::json_response;

impl Handlers<'_> {
    /// `POST /callbacks`: one platform callback, verified against the configured
    /// secret (or, when the host opted in, accepted unsigned and marked unverified; the
    /// signature is its only authorization: the host's authorizer, which judges users,
    /// is never asked), applied, and answered 200 for anything readable (the platform
    /// retries anything else, and an event we cannot use never becomes readable).
    pub(crate) async fn receive_callback(&self, body: &[u8]) -> Answer {
        // A verified callback is the platform's own word (see `Provenance`).
        #[cfg(feature = "jwt")]
        let provenance = match &self.inner.callback_secret {
            Some(secret) => {
                let now = crate::Timestamp::now().as_secs();
                if let Err(e) =
                    crate::engine::signature::verify(&self.head.headers, body, secret, now)
                {
                    tracing::warn!(code = e.code, "callback signature refused");
                    return Err(e.into());
                }
                Provenance::Verified
            }
            None => self.unsigned()?,
        };
        #[cfg(not(feature = "jwt"))]
        let provenance = self.unsigned()?;
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
        if provenance == Provenance::Unverified {
            let inner = self.inner;
            unverified_end::confirm(&*inner.store, &*inner.dialer, &event)
                .await
                .map_err(|e| match e {
                    Unconfirmed::Store(e) => store_error(e),
                    Unconfirmed::Platform(e) => dial_error("hang_up", e),
                })?;
        }
        let outcome = self
            .inner
            .lifecycle
            .apply_from(event, provenance)
            .await
            .map_err(store_error)?;
        crate::engine::metrics::callback_accepted(outcome);
        json_response(
            StatusCode::OK,
            &serde_json::json!({ "status": outcome.as_str() }),
        )
    }
}

impl Handlers<'_> {
    /// The provenance of a callback that carries no verified signature: unverified
    /// when the host accepts those, otherwise refused (anyone who can reach the route
    /// could end calls, free their limit slots and feed the status webhooks).
    fn unsigned(&self) -> Result<Provenance, ApiError> {
        if self.inner.accept_unsigned_callbacks {
            return Ok(Provenance::Unverified);
        }
        tracing::warn!("unsigned callback refused: no callback secret is configured");
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "callbacks_unsigned",
            "this server has no callback secret and does not accept unsigned callbacks",
        )
        .with_challenge())
    }
}
