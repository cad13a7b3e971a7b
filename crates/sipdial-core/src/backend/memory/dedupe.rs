//! The in-memory the callback dedupe ([`InMemoryDedupe`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::dedupe::{DEDUPE_CAPACITY, DeliveryDedupe};
use crate::backend::error::StoreError;
use crate::backend::memory::bounded::{Bounded, NO_TTL};
use crate::sync::lock;
use async_trait::async_trait;
use std::sync::Mutex;

/// The default [`DeliveryDedupe`]: the last [`DEDUPE_CAPACITY`] keys of this process.
#[derive(Debug, Default)]
pub struct InMemoryDedupe {
    keys: Mutex<Bounded<String, (), DEDUPE_CAPACITY, NO_TTL>>,
}

impl InMemoryDedupe {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DeliveryDedupe for InMemoryDedupe {
    async fn first_delivery(&self, key: &str) -> Result<bool, StoreError> {
        let mut keys = lock(&self.keys);
        if keys.contains(key) {
            return Ok(false);
        }
        keys.insert(key.to_owned(), ());
        Ok(true)
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

    #[tokio::test]
    async fn dedupe_forgets_the_oldest_keys() {
        let d = InMemoryDedupe::new();
        assert!(d.first_delivery("a").await.unwrap());
        assert!(!d.first_delivery("a").await.unwrap());
        for i in 0..DEDUPE_CAPACITY {
            d.first_delivery(&format!("k{i}")).await.unwrap();
        }
        assert!(lock(&d.keys).len() <= DEDUPE_CAPACITY);
        assert!(
            d.first_delivery("a").await.unwrap(),
            "the oldest key is forgotten"
        );
        d.forget("a").await.unwrap();
        assert!(d.first_delivery("a").await.unwrap());
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
