//! How a signed delivery leaves the process. Core has no HTTP client of its own (the
//! adapters serve HTTP, they do not send it), so the host plugs one in: the
//! `sipdial-opentok` crate (feature `webhooks-http`) implements this trait with reqwest.

use async_trait::async_trait;
use bytes::Bytes;
use http::HeaderMap;

/// One POST to a status webhook.
#[derive(Clone)]
#[non_exhaustive]
pub struct WebhookRequest {
    /// The configured URL.
    pub url: String,
    /// `Content-Type`, `User-Agent` and the `Authorization: Bearer` signature.
    pub headers: HeaderMap,
    /// The JSON body the signature's `payload_hash` covers, byte for byte.
    pub body: Bytes,
}

impl std::fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry the receiver's own token and the headers carry our
        // signature: neither is shown.
        f.debug_struct("WebhookRequest")
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Why a POST got no HTTP answer. Each is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookTransportError {
    /// No answer within the transport's request timeout.
    #[error("the receiver did not answer in time")]
    Timeout,
    /// The receiver could not be reached (DNS, refused, TLS, reset).
    #[error("the receiver could not be reached: {0}")]
    Connect(String),
    /// Anything else that stopped the request (no secret or URL in the message).
    #[error("the request failed: {0}")]
    Other(String),
}

/// Sends one POST and reports the receiver's answer. Implementations bound every
/// request by a timeout (a hanging receiver must end as [`WebhookTransportError::Timeout`])
/// and do not follow redirects: a signed body goes only where the host pointed it.
#[async_trait]
pub trait WebhookTransport: Send + Sync + 'static {
    /// POSTs `request`; the status and headers of any HTTP answer (its body is not
    /// read; a `Retry-After` paces the next attempt), or why there was none.
    async fn post(
        &self,
        request: WebhookRequest,
    ) -> Result<http::Response<()>, WebhookTransportError>;
}
