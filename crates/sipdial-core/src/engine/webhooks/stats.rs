//! Counting deliveries: this process's totals (for tests and a host's health page)
//! and the same increments through the `metrics` facade, for operators.

use std::sync::atomic::{AtomicU64, Ordering};

// The series names live with every other metric's, in `crate::engine::metrics`.
pub use crate::engine::metrics::{
    WEBHOOK_DELIVERIES as DELIVERIES_SERIES, WEBHOOK_DROPPED as DROPPED_SERIES,
    WEBHOOK_QUEUED as QUEUED_SERIES, WEBHOOK_RETRIES as RETRIES_SERIES,
};

/// This process's webhook totals since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookStats {
    /// Changes queued in the outbox.
    pub queued: u64,
    /// Changes dropped (outbox full or unreachable).
    pub dropped: u64,
    /// Deliveries the receiver accepted (2xx).
    pub delivered: u64,
    /// Attempts that failed and were retried.
    pub retried: u64,
    /// Deliveries given up after the last attempt.
    pub failed: u64,
    /// Deliveries the receiver refused (not retried).
    pub refused: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    queued: AtomicU64,
    dropped: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
}

/// A final result of one delivery.
// Only the dispatcher (feature `jwt`) sends.
#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Final {
    Delivered,
    Refused,
    Failed,
}

#[cfg_attr(not(feature = "jwt"), allow(dead_code))]
impl Counters {
    pub(crate) fn queued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(QUEUED_SERIES).increment(1);
    }

    pub(crate) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(DROPPED_SERIES).increment(1);
    }

    pub(crate) fn retried(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(RETRIES_SERIES).increment(1);
    }

    pub(crate) fn finished(&self, result: Final) {
        let (counter, label) = match result {
            Final::Delivered => (&self.delivered, "delivered"),
            Final::Refused => (&self.refused, "refused"),
            Final::Failed => (&self.failed, "failed"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(DELIVERIES_SERIES, "result" => label).increment(1);
    }

    pub(crate) fn snapshot(&self) -> WebhookStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WebhookStats {
            queued: get(&self.queued),
            dropped: get(&self.dropped),
            delivered: get(&self.delivered),
            retried: get(&self.retried),
            failed: get(&self.failed),
            refused: get(&self.refused),
        }
    }
}
