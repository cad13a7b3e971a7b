//! Callback deduplication: the platform delivers at least once, so a delivery with
//! the same subject, event, state (or reason) and timestamp as one already applied is
//! dropped. [`DeliveryDedupe`] remembers the keys; the in-memory default keeps the last
//! [`DEDUPE_CAPACITY`], a shared one (Redis) lets every replica see every delivery.

use async_trait::async_trait;

use crate::backend::error::StoreError;
use crate::events::{CallRef, PlatformEvent, PlatformEventKind};

/// Delivery keys remembered for deduplication by [`InMemoryDedupe`](crate::backend::memory::InMemoryDedupe).
pub const DEDUPE_CAPACITY: usize = 4096;

/// Remembers which platform deliveries were applied.
#[async_trait]
pub trait DeliveryDedupe: Send + Sync + 'static {
    /// Records `key`; false when it was recorded already (the delivery is a duplicate).
    async fn first_delivery(&self, key: &str) -> Result<bool, StoreError>;

    /// Forgets `key`, so a redelivery of an event that could not be applied is tried
    /// again.
    async fn forget(&self, key: &str) -> Result<(), StoreError>;
}

/// What identifies a delivery: subject, event, state or reason, and timestamp. `None`
/// for events that change nothing (never deduplicated).
pub(crate) fn dedupe_key(event: &PlatformEvent) -> Option<String> {
    let ts = event
        .timestamp
        .map_or_else(|| "-".to_owned(), |t| t.as_millis().to_string());
    let call_subject = |c: &CallRef| {
        c.id.as_ref()
            .map(|i| format!("call:{i}"))
            .or_else(|| c.connection_id.as_ref().map(|k| format!("conn:{k}")))
    };
    let (subject, detail) = match &event.kind {
        PlatformEventKind::CallCreated { call } | PlatformEventKind::MuteForced { call } => {
            (call_subject(call)?, String::new())
        }
        PlatformEventKind::CallUpdated { call, state } => {
            (call_subject(call)?, state.as_str().to_owned())
        }
        PlatformEventKind::CallDestroyed {
            call, reason_code, ..
        } => (call_subject(call)?, reason_code.clone().unwrap_or_default()),
        PlatformEventKind::ConnectionCreated { connection_id } => {
            (format!("conn:{connection_id}"), String::new())
        }
        PlatformEventKind::ConnectionDestroyed {
            connection_id,
            reason,
        } => (
            format!("conn:{connection_id}"),
            reason.clone().unwrap_or_default(),
        ),
        PlatformEventKind::StreamCreated { stream_id, .. }
        | PlatformEventKind::StreamDestroyed { stream_id, .. } => {
            (format!("stream:{stream_id}"), String::new())
        }
        PlatformEventKind::Other { .. } => return None,
    };
    Some(format!("{subject}|{}|{detail}|{ts}", event.name()))
}
