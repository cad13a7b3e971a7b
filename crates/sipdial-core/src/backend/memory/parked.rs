//! The in-memory the parked events ([`InMemoryParked`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::memory::bounded::Bounded;
use crate::backend::parked::{PARKED_CAPACITY, PARKED_PER_CALL, PARKED_TTL, ParkedEvents, is_for};
use crate::events::PlatformEvent;
use crate::sync::lock;
use crate::{CallId, ConnectionId};
use async_trait::async_trait;
use std::sync::Mutex;

/// The default [`ParkedEvents`]: the last [`PARKED_CAPACITY`] events of this process, at
/// most [`PARKED_PER_CALL`] of them for one call.
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
        // The same call named by id or by SIP leg.
        let same = |e: &PlatformEvent| match (e.call(), event.call()) {
            (Some(a), Some(b)) => {
                (a.id.is_some() && a.id == b.id)
                    || (a.connection_id.is_some() && a.connection_id == b.connection_id)
            }
            _ => false,
        };
        let mine = parked.keys_where(same);
        if mine.len() >= PARKED_PER_CALL {
            parked.remove(&mine[0]);
        }
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
        const CALLS: u64 = (PARKED_CAPACITY / PARKED_PER_CALL) as u64;
        for n in 0..PARKED_CAPACITY as u64 {
            // Spread so that no call reaches its own bound first.
            p.park(&created(2 + n % CALLS, 2 + n)).await.unwrap();
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
        assert_eq!(times.len(), PARKED_PER_CALL);
        assert!(times.is_sorted());
        assert!(
            p.take(&CallId::new("x").unwrap(), &conn)
                .await
                .unwrap()
                .is_empty()
        );
        let (id, _) = ids(3);
        let other = ConnectionId::new("y").unwrap();
        assert_eq!(p.take(&id, &other).await.unwrap().len(), PARKED_PER_CALL);
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use futures_util::FutureExt;

    fn event(call: &str, n: u64) -> PlatformEvent {
        PlatformEvent::from_callback_json(
            serde_json::json!({
                "event": "callUpdated", "sessionId": "s", "timestamp": n, "state": "RINGING",
                "call": { "id": call, "connectionId": format!("k-{call}") },
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    /// A flood for one unknown call keeps its last few; a flood over many keeps the
    /// last [`PARKED_CAPACITY`], and another call's events survive the first kind.
    #[test]
    fn parked_events_are_bounded_per_call_and_in_total() {
        let p = InMemoryParked::new();
        p.park(&event("victim", 0)).now_or_never().unwrap().unwrap();
        for n in 0..1000 {
            p.park(&event("flood", n)).now_or_never().unwrap().unwrap();
        }
        assert_eq!(lock(&p.events).0.len(), PARKED_PER_CALL + 1);
        let id = |s: &str| CallId::new(s).unwrap();
        let conn = |s: &str| ConnectionId::new(format!("k-{s}")).unwrap();
        let victim = p
            .take(&id("victim"), &conn("victim"))
            .now_or_never()
            .unwrap();
        assert_eq!(victim.unwrap().len(), 1);
        for n in 0..1000 {
            p.park(&event(&format!("c{n}"), n))
                .now_or_never()
                .unwrap()
                .unwrap();
        }
        assert_eq!(lock(&p.events).0.len(), PARKED_CAPACITY);
    }
}
