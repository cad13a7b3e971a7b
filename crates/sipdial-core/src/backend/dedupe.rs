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
/// for events that change nothing (never deduplicated). The key's size is bounded: the
/// subject is a validated id (at most 128 characters), and the detail, text from the
/// callback (a reason), is kept as a 16-digit hash, so a key never carries what an
/// outsider wrote, in memory or in the shared store.
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
    Some(format!(
        "{subject}|{}|{:016x}|{ts}",
        event.name(),
        fnv1a64(detail.as_bytes())
    ))
}

/// FNV-1a, 64 bits: stable across processes and builds (replicas sharing a store must
/// agree on keys), and enough to tell the reasons of one subject's deliveries at one
/// timestamp apart; nothing secret rests on it.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::events::PlatformEvent;

    /// A validated id with its kind, the event's name, 16 hex digits and a timestamp.
    const MAX_DEDUPE_KEY_LEN: usize = 7 + crate::MAX_RESOURCE_ID_LEN + 1 + 24 + 1 + 16 + 1 + 20;

    /// However long the text in a callback, its key has a fixed bound; deliveries that
    /// differ only in their reason still get different keys.
    #[test]
    fn keys_are_bounded_and_carry_no_callback_text() {
        let id = "c".repeat(crate::MAX_RESOURCE_ID_LEN);
        let event = |reason: &str| {
            PlatformEvent::from_callback_json(
                serde_json::json!({
                    "event": "connectionDestroyed", "sessionId": "s",
                    "timestamp": u64::MAX, "connection": { "id": id }, "reason": reason,
                })
                .to_string()
                .as_bytes(),
            )
            .unwrap()
        };
        let long = "secret-ish attacker text ".repeat(600);
        let key = dedupe_key(&event(&long)).unwrap();
        assert!(
            key.len() <= MAX_DEDUPE_KEY_LEN,
            "{} > {MAX_DEDUPE_KEY_LEN}",
            key.len()
        );
        assert!(!key.contains("attacker"), "{key}");
        assert_ne!(key, dedupe_key(&event("clientDisconnected")).unwrap());
        assert_eq!(
            dedupe_key(&event("clientDisconnected")),
            dedupe_key(&event("clientDisconnected"))
        );
    }
}
