//! The in-memory the parked events ([`InMemoryParked`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::memory::bounded::Bounded;
use crate::backend::parked::{PARKED_CAPACITY, PARKED_TTL, ParkedEvents, is_for};
use crate::events::PlatformEvent;
use crate::sync::lock;
use crate::{CallId, ConnectionId};
use async_trait::async_trait;
use std::sync::Mutex;

/// The default [`ParkedEvents`]: the last [`PARKED_CAPACITY`] events of this process.
#[derive(Debug, Default)]
pub struct InMemoryParked {
    /// Keyed by the order they were parked in.
    events: Mutex<(
        Bounded<u64, PlatformEvent, PARKED_CAPACITY, { PARKED_TTL.as_secs() }>,
        u64,
    )>,
}

impl InMemoryParked {
    /// Nothing parked.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ParkedEvents for InMemoryParked {
    async fn park(&self, event: &PlatformEvent) -> Result<(), StoreError> {
        let (parked, next) = &mut *lock(&self.events);
        *next += 1;
        parked.insert(*next, event.clone());
        Ok(())
    }

    async fn take(
        &self,
        id: &CallId,
        connection: &ConnectionId,
    ) -> Result<Vec<PlatformEvent>, StoreError> {
        let (parked, _) = &mut *lock(&self.events);
        Ok(parked.take_where(|e| is_for(e, id, connection)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{CallRef, PlatformEventKind};
    use crate::{SessionId, Timestamp};

    fn ids(call: u64) -> (CallId, ConnectionId) {
        let id = CallId::new(format!("c{call}")).unwrap();
        (id, ConnectionId::new(format!("k{call}")).unwrap())
    }

    fn created(call: u64, at: u64) -> PlatformEvent {
        let (id, conn) = ids(call);
        let kind = PlatformEventKind::CallCreated {
            call: CallRef::new(id, conn),
        };
        PlatformEvent::new(SessionId::new("1_s").unwrap(), kind).at(Timestamp::from_millis(at))
    }

    #[tokio::test]
    async fn the_last_events_wait_and_are_taken_once_oldest_first() {
        let p = InMemoryParked::new();
        p.park(&created(0, 0)).await.unwrap();
        p.park(&created(1, 1)).await.unwrap();
        for n in 0..PARKED_CAPACITY as u64 {
            p.park(&created(2 + n % 2, 2 + n)).await.unwrap();
        }
        let (id, conn) = ids(0);
        assert!(
            p.take(&id, &conn).await.unwrap().is_empty(),
            "the oldest went"
        );
        // Found by connection as well as by id, oldest first, once.
        let (_, conn) = ids(2);
        let taken = p.take(&CallId::new("x").unwrap(), &conn).await.unwrap();
        let times: Vec<_> = taken
            .iter()
            .map(|e| e.timestamp.unwrap().as_millis())
            .collect();
        assert_eq!(times.len(), PARKED_CAPACITY / 2);
        assert!(times.is_sorted());
        assert!(
            p.take(&CallId::new("x").unwrap(), &conn)
                .await
                .unwrap()
                .is_empty()
        );
        let (id, _) = ids(3);
        let other = ConnectionId::new("y").unwrap();
        assert_eq!(
            p.take(&id, &other).await.unwrap().len(),
            PARKED_CAPACITY / 2
        );
    }
}
