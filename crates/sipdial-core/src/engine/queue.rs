//! In-process platform events (a dialer that learns call events itself, like the
//! fake) go through the same lifecycle as HTTP callbacks, in order, on one task.

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::mpsc;

use crate::engine::lifecycle::{Lifecycle, Provenance};
use crate::events::{EventSink, PlatformEvent};
use crate::sync::lock;

/// In-process events queued at most before new ones are dropped (with a warning).
const QUEUE_CAPACITY: usize = 1024;

/// Queues in-process events and applies them in order on one task, started on the
/// first event (so building the API needs no runtime).
pub(crate) struct EventQueue {
    tx: Mutex<Option<mpsc::Sender<PlatformEvent>>>,
    lifecycle: Weak<Lifecycle>,
}

impl EventQueue {
    /// The sink handed to the dialer.
    pub(crate) fn sink(lifecycle: &Arc<Lifecycle>) -> EventSink {
        let queue = EventQueue {
            tx: Mutex::new(None),
            lifecycle: Arc::downgrade(lifecycle),
        };
        Arc::new(move |event| queue.push(event))
    }

    fn push(&self, event: PlatformEvent) {
        let mut tx = lock(&self.tx);
        let event = match tx.as_ref() {
            Some(t) => match t.try_send(event) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(e)) => {
                    tracing::warn!(
                        event = e.name(),
                        "in-process event queue full; event dropped"
                    );
                    return;
                }
                // The task ended with its runtime: start another one below.
                Err(mpsc::error::TrySendError::Closed(e)) => e,
            },
            None => event,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                event = event.name(),
                "an in-process platform event arrived outside a Tokio runtime; dropped"
            );
            return;
        };
        let (sender, mut rx) = mpsc::channel(QUEUE_CAPACITY);
        // A fresh channel has room for the first event.
        let _ = sender.try_send(event);
        let lifecycle = self.lifecycle.clone();
        runtime.spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(lifecycle) = lifecycle.upgrade() else {
                    break;
                };
                // The dialer's own events come from the platform, not the network.
                if let Err(e) = lifecycle.apply_from(event, Provenance::Verified).await {
                    tracing::error!(error = %e, "an in-process platform event was not applied");
                }
            }
        });
        *tx = Some(sender);
    }
}
