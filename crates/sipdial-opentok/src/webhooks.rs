//! The HTTP transport of sipdial's status webhooks (feature `webhooks-http`).
//!
//! Core defines what a webhook delivery is and when it is retried; this module only
//! sends it, with reqwest (rustls on aws-lc-rs, so no second TLS stack). It lives here
//! because this crate already carries the HTTP client; behind a feature, so a host
//! that sends webhooks builds no dialer code it does not use and a host without
//! webhooks builds nothing of it.
//!
//! ```rust,no_run
//! # fn demo(dialer: std::sync::Arc<dyn sipdial_core::SipDialer>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sipdial_core::api::webhooks::StatusWebhook;
//! use sipdial_opentok::webhooks::ReqwestTransport;
//!
//! let api = sipdial_core::SipDialApi::builder(dialer)
//!     .anonymous()
//!     .status_webhook(StatusWebhook::new("https://hooks.example.com/sip", "a-secret-of-16+-chars"))
//!     .webhook_transport(Arc::new(ReqwestTransport::new()?))
//!     .build()?;
//! # let _ = api; Ok(()) }
//! ```
//!
//! The payload, headers, signature, retry policy and guarantees are documented in
//! `docs/call-lifecycle.md` ("Status webhooks").

use std::time::Duration;

use sipdial_core::api::webhooks::{WebhookRequest, WebhookTransport, WebhookTransportError};
use sipdial_core::async_trait;

/// Default bound of one delivery attempt: a receiver slower than this is retried
/// later rather than holding its call's lane.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound of connecting to a receiver.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the webhook HTTP client could not be built: {0}")]
pub struct BuildError(String);

/// Sends webhook deliveries with reqwest: every request bounded by a timeout,
/// redirects not followed (a signed body goes only where the host pointed it).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with [`DEFAULT_TIMEOUT`].
    pub fn new() -> Result<Self, BuildError> {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }

    /// A transport whose every request ends after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT.min(timeout))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError(e.without_url().to_string()))?;
        Ok(Self { client })
    }

    /// A transport over the host's own client (which should have a timeout and no
    /// redirects).
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl WebhookTransport for ReqwestTransport {
    async fn post(
        &self,
        request: WebhookRequest,
    ) -> Result<http::Response<()>, WebhookTransportError> {
        let response = self
            .client
            .post(&request.url)
            .headers(request.headers)
            .body(request.body)
            .send()
            .await
            .map_err(classify)?;
        // The status and headers; the body is never read.
        Ok(http::Response::from(response).map(drop))
    }
}

/// reqwest's error as ours, without the URL (it may carry the receiver's token).
fn classify(e: reqwest::Error) -> WebhookTransportError {
    let e = e.without_url();
    if e.is_timeout() {
        WebhookTransportError::Timeout
    } else if e.is_connect() {
        WebhookTransportError::Connect(e.to_string())
    } else {
        WebhookTransportError::Other(e.to_string())
    }
}
