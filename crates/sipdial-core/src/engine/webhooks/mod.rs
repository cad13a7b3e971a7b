//! Status webhooks: every call change POSTed to the host's URL, signed like the
//! platform's own callbacks (`signature`), at least once and in order per call,
//! without ever making the API wait (docs/call-lifecycle.md, "Status webhooks").
//!
//! The lifecycle only enqueues (`Webhooks::enqueue`, one line in its `emit`): the
//! change goes to the [`WebhookOutbox`] of the [`crate::api::Backend`], which numbers
//! it per call and bounds the queue. A dispatcher task (`dispatch`) takes entries from
//! the outbox, one lane per call so a slow call never holds up another, signs each
//! attempt and sends it through the host's [`WebhookTransport`]. With a shared outbox
//! only the replica holding its lease dispatches, so a fleet delivers each change
//! once (at least once when a replica dies mid-delivery).

#[cfg(feature = "jwt")]
mod dispatch;
mod payload;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;

pub use crate::backend::memory::InMemoryOutbox;
pub use crate::backend::webhook_outbox::{
    DEFAULT_OUTBOX_CAPACITY, ENDED_COUNTERS_KEPT, NewDelivery, OutboxEntry, Pushed, Taken,
    WebhookOutbox,
};
pub use crate::backend::webhook_transport::{
    WebhookRequest, WebhookTransport, WebhookTransportError,
};
pub use crate::policy::webhook::{
    MIN_WEBHOOK_SECRET_LEN, StatusWebhook, WebhookConfigError, WebhookRetry,
};
pub use stats::{DELIVERIES_SERIES, DROPPED_SERIES, QUEUED_SERIES, RETRIES_SERIES, WebhookStats};

use crate::call::event::CallEventCause;
use crate::call::{CallRecord, CallState};
use crate::policy::config_error::ApiConfigError;
use crate::policy::targets::Targets;
use stats::Counters;

/// The webhook settings the builder collects.
#[derive(Default)]
pub(crate) struct WebhookOptions {
    pub(crate) global: Option<StatusWebhook>,
    pub(crate) transport: Option<Arc<dyn WebhookTransport>>,
    pub(crate) retry: WebhookRetry,
}

/// Every configured webhook by owner: `None` the global one, `Some(target)` a
/// target's own, which replaces the global one for that target's calls.
pub(crate) type Destinations = HashMap<Option<String>, StatusWebhook>;

impl WebhookOptions {
    /// Validates the webhooks; `None` when none is configured.
    pub(crate) fn build(
        self,
        targets: &Targets,
        outbox: Arc<dyn WebhookOutbox>,
    ) -> Result<Option<Arc<Webhooks>>, ApiConfigError> {
        let mut destinations = Destinations::new();
        if let Some(w) = self.global {
            w.validate(None)?;
            destinations.insert(None, w);
        }
        for t in targets.iter() {
            if let Some(w) = &t.status_webhook {
                w.validate(Some(&t.name))?;
                destinations.insert(Some(t.name.clone()), w.clone());
            }
        }
        if destinations.is_empty() {
            return Ok(None);
        }
        let Some(transport) = self.transport else {
            return Err(WebhookConfigError::NoTransport.into());
        };
        Ok(Some(Webhooks::new(
            destinations,
            outbox,
            transport,
            self.retry,
        )))
    }
}

/// The lifecycle's side of the webhooks: what it enqueues to, and the dispatcher
/// that runs for as long as it lives.
pub(crate) struct Webhooks {
    outbox: Arc<dyn WebhookOutbox>,
    /// Which owners have a webhook (the URLs and secrets stay with the dispatcher).
    owners: Vec<Option<String>>,
    counters: Arc<Counters>,
    #[cfg(feature = "jwt")]
    dispatcher: dispatch::Handle,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("owners", &self.owners)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    fn new(
        destinations: Destinations,
        outbox: Arc<dyn WebhookOutbox>,
        transport: Arc<dyn WebhookTransport>,
        retry: WebhookRetry,
    ) -> Arc<Self> {
        let counters = Arc::new(Counters::default());
        let owners = destinations.keys().cloned().collect();
        #[cfg(not(feature = "jwt"))]
        let _ = (destinations, transport, retry);
        let webhooks = Self {
            #[cfg(feature = "jwt")]
            dispatcher: dispatch::Handle::new(dispatch::Shared::new(
                destinations,
                Arc::clone(&outbox),
                transport,
                retry,
                Arc::clone(&counters),
            )),
            outbox,
            owners,
            counters,
        };
        // Started now when built inside a runtime, so a replica that never enqueues
        // still takes its turn as the fleet's dispatcher; otherwise at the first change.
        webhooks.ensure_dispatcher();
        Arc::new(webhooks)
    }

    /// Whose webhook a change of `call` goes to, if anyone's.
    fn destination(&self, call: &CallRecord) -> Option<Option<String>> {
        let own = call.target.clone();
        if own.is_some() && self.owners.contains(&own) {
            return Some(own);
        }
        self.owners.contains(&None).then_some(None)
    }

    /// Queues one change. Never waits for a receiver: at most for the outbox (a
    /// bounded Redis command when shared); a full or unreachable outbox drops the
    /// change with a warning, it never fails the change itself.
    pub(crate) async fn enqueue(
        &self,
        call: &CallRecord,
        previous: Option<CallState>,
        cause: &CallEventCause,
    ) {
        let Some(destination) = self.destination(call) else {
            return;
        };
        let change = payload::change_json(call, previous, cause);
        let delivery = NewDelivery::new(
            call.id.as_str(),
            destination,
            change,
            call.state == CallState::Ended,
        );
        match self.outbox.push(delivery).await {
            Ok(Pushed::Queued(_)) => self.counters.queued(),
            Ok(Pushed::Dropped(sequence)) => {
                self.counters.dropped();
                tracing::warn!(call_id = %call.id, sequence, "webhook outbox full; call change dropped");
            }
            Err(e) => {
                self.counters.dropped();
                tracing::warn!(call_id = %call.id, error = %e, "webhook outbox unreachable; call change dropped");
            }
        }
        self.ensure_dispatcher();
    }

    fn ensure_dispatcher(&self) {
        #[cfg(feature = "jwt")]
        self.dispatcher.ensure_running();
    }

    /// This process's totals.
    pub(crate) fn stats(&self) -> WebhookStats {
        self.counters.snapshot()
    }
}
