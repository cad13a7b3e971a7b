//! The in-memory the pending digits ([`InMemoryPendingDtmf`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::pending_dtmf::{PENDING_DTMF_CAPACITY, PENDING_DTMF_TTL, PendingDtmf};
use crate::sync::lock;
use crate::{CallId, Dtmf};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

/// The default [`PendingDtmf`]: this process's memory, bounded by
/// [`PENDING_DTMF_CAPACITY`] and [`PENDING_DTMF_TTL`].
#[derive(Debug, Default)]
pub struct InMemoryPendingDtmf {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Digits, when they were put, and the put's number (so that a stale entry of
    /// `order` never removes a newer put of the same call).
    map: HashMap<CallId, (Dtmf, Instant, u64)>,
    order: VecDeque<(CallId, u64)>,
    seq: u64,
}

impl Entries {
    /// Whether the oldest entry of `order` should go: taken already, expired, or
    /// beyond the capacity.
    fn front_is_done(&self, now: Instant) -> bool {
        let Some((id, seq)) = self.order.front() else {
            return false;
        };
        self.map.len() > PENDING_DTMF_CAPACITY
            || self.order.len() > 2 * PENDING_DTMF_CAPACITY
            || self
                .map
                .get(id)
                .is_none_or(|(_, at, s)| s != seq || now.duration_since(*at) > PENDING_DTMF_TTL)
    }
}

impl InMemoryPendingDtmf {
    /// Nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many calls have digits pending.
    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    /// Whether no digits are pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl PendingDtmf for InMemoryPendingDtmf {
    async fn put(&self, call: &CallId, digits: &Dtmf) -> Result<(), StoreError> {
        let mut e = lock(&self.inner);
        let now = Instant::now();
        e.seq += 1;
        let seq = e.seq;
        e.map.insert(call.clone(), (digits.clone(), now, seq));
        e.order.push_back((call.clone(), seq));
        while e.front_is_done(now) {
            let Some((old, old_seq)) = e.order.pop_front() else {
                break;
            };
            if e.map.get(&old).is_some_and(|(_, _, s)| *s == old_seq) {
                e.map.remove(&old);
            }
        }
        Ok(())
    }

    async fn take(&self, call: &CallId) -> Result<Option<Dtmf>, StoreError> {
        let mut e = lock(&self.inner);
        Ok(e.map
            .remove(call)
            .filter(|(_, at, _)| at.elapsed() <= PENDING_DTMF_TTL)
            .map(|(d, _, _)| d))
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
        assert!(lock(&p.inner).order.len() <= 2 * PENDING_DTMF_CAPACITY + 1);
    }
}
