//! `POST /callbacks`: the platform's SIP and session-monitoring callbacks.

use http::StatusCode;

use super::{Answer, Handlers, store_error};
use crate::engine::lifecycle::Provenance;
use crate::events::PlatformEvent;
use crate::http::error::ApiError;
use crate::http::json_response;

impl Handlers<'_> {
    /// `POST /callbacks`: one platform callback, verified when a secret is
    /// configured (its signature is its only authorization: the host's authorizer,
    /// which judges users, is never asked), applied, and answered 200 for anything readable (the platform
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
            None => Provenance::Unverified,
        };
        #[cfg(not(feature = "jwt"))]
        let provenance = Provenance::Unverified;
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
