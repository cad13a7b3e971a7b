//! The builder's status webhook settings (feature `jwt`: the webhooks are signed).

use std::sync::Arc;

use crate::backend::webhook_transport::WebhookTransport;
use crate::config::SipDialApiBuilder;
use crate::policy::webhook::{StatusWebhook, WebhookRetry};

impl SipDialApiBuilder {
    /// POSTs every call change to `webhook`, signed with its secret (HS256 JWT in
    /// `Authorization: Bearer`, with `iat`, `exp` and the body's `payload_hash`, as the
    /// platform signs its callbacks). A target's own webhook
    /// ([`crate::api::SipTarget::status_webhook`]) replaces it for that target's calls.
    /// Needs a [`Self::webhook_transport`].
    pub fn status_webhook(mut self, webhook: StatusWebhook) -> Self {
        self.webhooks.global = Some(webhook);
        self
    }

    /// What sends the webhooks' HTTP requests (e.g. `sipdial_opentok::webhooks::ReqwestTransport`, feature `webhooks-http`).
    pub fn webhook_transport(mut self, transport: Arc<dyn WebhookTransport>) -> Self {
        self.webhooks.transport = Some(transport);
        self
    }

    /// How failed deliveries are retried (default [`WebhookRetry::default`]).
    pub fn webhook_retry(mut self, retry: WebhookRetry) -> Self {
        self.webhooks.retry = retry;
        self
    }
}
