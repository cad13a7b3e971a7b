//! The in-memory the pending digits ([`InMemoryPendingDtmf`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::memory::bounded::Bounded;
use crate::backend::pending_dtmf::{PENDING_DTMF_CAPACITY, PENDING_DTMF_TTL, PendingDtmf};
use crate::sync::lock;
use crate::{CallId, Dtmf};
use async_trait::async_trait;
use std::sync::Mutex;

/// The default [`PendingDtmf`]: this process's memory, bounded by
/// [`PENDING_DTMF_CAPACITY`] and [`PENDING_DTMF_TTL`].
#[derive(Debug, Default)]
pub struct InMemoryPendingDtmf {
    inner: Mutex<Bounded<CallId, Dtmf, PENDING_DTMF_CAPACITY, { PENDING_DTMF_TTL.as_secs() }>>,
}

impl InMemoryPendingDtmf {
    /// Nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many calls have digits pending.
    pub fn len(&self) -> usize {
        lock(&self.inner).len()
    }

    /// Whether no digits are pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl PendingDtmf for InMemoryPendingDtmf {
    async fn put(&self, call: &CallId, digits: &Dtmf) -> Result<(), StoreError> {
        lock(&self.inner).insert(call.clone(), digits.clone());
        Ok(())
    }

    async fn take(&self, call: &CallId) -> Result<Option<Dtmf>, StoreError> {
        Ok(lock(&self.inner).remove(call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::pending_dtmf::*;

    fn id(n: usize) -> CallId {
        CallId::new(format!("call-{n}")).unwrap()
    }

    #[tokio::test]
    async fn digits_are_taken_once() {
        let p = InMemoryPendingDtmf::new();
        let d = Dtmf::new("1234#").unwrap();
        p.put(&id(1), &d).await.unwrap();
        assert_eq!(p.take(&id(1)).await.unwrap(), Some(d));
        assert_eq!(p.take(&id(1)).await.unwrap(), None);
        assert_eq!(p.take(&id(2)).await.unwrap(), None);
        assert!(p.is_empty());
    }

    #[tokio::test]
    async fn the_oldest_go_beyond_the_capacity() {
        let p = InMemoryPendingDtmf::new();
        let d = Dtmf::new("1").unwrap();
        for n in 0..PENDING_DTMF_CAPACITY + 10 {
            p.put(&id(n), &d).await.unwrap();
        }
        assert_eq!(p.len(), PENDING_DTMF_CAPACITY);
        assert_eq!(p.take(&id(0)).await.unwrap(), None);
        assert!(
            p.take(&id(PENDING_DTMF_CAPACITY + 9))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn taken_entries_do_not_pile_up() {
        let p = InMemoryPendingDtmf::new();
        let d = Dtmf::new("1").unwrap();
        p.put(&id(0), &d).await.unwrap();
        for n in 1..3 * PENDING_DTMF_CAPACITY {
            p.put(&id(n), &d).await.unwrap();
            p.take(&id(n)).await.unwrap();
        }
        assert_eq!(p.len(), 1, "only the untaken entry is held");
    }
}
