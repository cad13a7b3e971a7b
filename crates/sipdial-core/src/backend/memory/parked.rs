//! The in-memory the parked events ([`InMemoryParked`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::parked::{PARKED_CAPACITY, PARKED_TTL, ParkedEvents, is_for};
use crate::events::PlatformEvent;
use crate::sync::lock;
use crate::{CallId, ConnectionId};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// The default [`ParkedEvents`]: the last [`PARKED_CAPACITY`] events of this process.
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
