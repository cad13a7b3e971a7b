//! The in-memory the parked events ([`InMemoryParked`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::parked::{PARKED_CAPACITY, PARKED_PER_CALL, PARKED_TTL, ParkedEvents, is_for};
use crate::events::PlatformEvent;
use crate::sync::lock;
use crate::{CallId, ConnectionId};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// The default [`ParkedEvents`]: the last [`PARKED_CAPACITY`] events of this process, at
/// most [`PARKED_PER_CALL`] of them for one call.
#[derive(Debug, Default)]
pub struct InMemoryParked {
    events: Mutex<VecDeque<(Instant, PlatformEvent)>>,
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
        let mut parked = lock(&self.events);
        let now = Instant::now();
        while parked
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > PARKED_TTL)
        {
            parked.pop_front();
        }
        // The same call named by id or by SIP leg.
        let same = |e: &PlatformEvent| match (e.call(), event.call()) {
            (Some(a), Some(b)) => {
                (a.id.is_some() && a.id == b.id)
                    || (a.connection_id.is_some() && a.connection_id == b.connection_id)
            }
            _ => false,
        };
        if parked.iter().filter(|(_, e)| same(e)).count() >= PARKED_PER_CALL
            && let Some(oldest) = parked.iter().position(|(_, e)| same(e))
        {
            parked.remove(oldest);
        }
        if parked.len() >= PARKED_CAPACITY {
            parked.pop_front();
        }
        parked.push_back((now, event.clone()));
        Ok(())
    }

    async fn take(
        &self,
        id: &CallId,
        connection: &ConnectionId,
    ) -> Result<Vec<PlatformEvent>, StoreError> {
        let mut parked = lock(&self.events);
        let (mine, rest): (Vec<_>, Vec<_>) = parked
            .drain(..)
            .partition(|(_, e)| is_for(e, id, connection));
        parked.extend(rest);
        Ok(mine.into_iter().map(|(_, e)| e).collect())
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(lock(&p.events).len(), PARKED_PER_CALL + 1);
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
        assert_eq!(lock(&p.events).len(), PARKED_CAPACITY);
    }
}
