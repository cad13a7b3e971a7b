//! The in-memory the callback dedupe ([`InMemoryDedupe`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::dedupe::{DEDUPE_CAPACITY, DeliveryDedupe};
use crate::backend::error::StoreError;
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::dedupe::*;
    use crate::events::PlatformCallState;
    use crate::events::{CallRef, PlatformEvent, PlatformEventKind};
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
