//! Callback deduplication: the platform delivers at least once, so a delivery with
//! the same subject, event, state (or reason) and timestamp as one already applied is
//! dropped. [`DeliveryDedupe`] remembers the keys; the in-memory default keeps the last
//! [`DEDUPE_CAPACITY`], a shared one (Redis) lets every replica see every delivery.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::backend::error::StoreError;
use crate::events::{CallRef, PlatformEvent, PlatformEventKind};
use crate::sync::lock;

/// Delivery keys remembered for deduplication by [`InMemoryDedupe`].
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

/// The default [`DeliveryDedupe`]: the last [`DEDUPE_CAPACITY`] keys of this process.
#[derive(Debug, Default)]
pub struct InMemoryDedupe {
    keys: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl InMemoryDedupe {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Keys {
    fn insert(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        self.set.insert(key.to_owned());
        self.order.push_back(key.to_owned());
        while self.order.len() > DEDUPE_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn remove(&mut self, key: &str) {
        if self.set.remove(key) {
            self.order.retain(|k| k != key);
        }
    }
}

#[async_trait]
impl DeliveryDedupe for InMemoryDedupe {
    async fn first_delivery(&self, key: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.keys).insert(key))
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.keys).remove(key);
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::PlatformCallState;
    use crate::{SessionId, Timestamp};

    #[test]
    fn dedupe_forgets_the_oldest_keys() {
        let mut d = Keys::default();
        assert!(d.insert("a"));
        assert!(!d.insert("a"));
        for i in 0..DEDUPE_CAPACITY {
            d.insert(&format!("k{i}"));
        }
        assert!(d.set.len() <= DEDUPE_CAPACITY && d.order.len() <= DEDUPE_CAPACITY);
        assert!(d.insert("a"), "the oldest key is forgotten");
        d.remove("a");
        assert!(d.insert("a"));
    }

    #[test]
    fn keys_tell_states_and_times_apart() {
        use crate::{CallId, ConnectionId};
        let s = SessionId::new("1_s").unwrap();
        let call = CallRef::new(CallId::new("c").unwrap(), ConnectionId::new("k").unwrap());
        let upd = |state, ms| {
            PlatformEvent::new(
                s.clone(),
                PlatformEventKind::CallUpdated {
                    call: call.clone(),
                    state,
                },
            )
            .at(Timestamp::from_millis(ms))
        };
        let a = dedupe_key(&upd(PlatformCallState::Active, 1));
        assert_eq!(a, dedupe_key(&upd(PlatformCallState::Active, 1)));
        assert_ne!(a, dedupe_key(&upd(PlatformCallState::Active, 2)));
        assert_ne!(a, dedupe_key(&upd(PlatformCallState::OnHold, 1)));
        let other = PlatformEvent::new(s, PlatformEventKind::Other { event: "x".into() });
        assert_eq!(dedupe_key(&other), None);
    }
}
