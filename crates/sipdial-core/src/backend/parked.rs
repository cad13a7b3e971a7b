//! Events for calls not recorded yet. The platform can call back before its answer to
//! the dial arrives (and, in a fleet, at another replica than the one dialling), so
//! such events are parked briefly and applied when dial records the call.

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::error::StoreError;
use crate::events::PlatformEvent;
use crate::{CallId, ConnectionId};

/// Events kept at most by [`InMemoryParked`](crate::backend::memory::InMemoryParked).
pub const PARKED_CAPACITY: usize = 256;
/// How long a parked event waits for its call before it is forgotten.
pub const PARKED_TTL: Duration = Duration::from_secs(60);

/// Holds SIP call events whose call is not recorded yet.
#[async_trait]
pub trait ParkedEvents: Send + Sync + 'static {
    /// Keeps `event` (a SIP call event) for [`PARKED_TTL`] at most.
    async fn park(&self, event: &PlatformEvent) -> Result<(), StoreError>;

    /// Removes and returns, oldest first, the events parked for the call `id` or its
    /// SIP leg `connection`.
    async fn take(
        &self,
        id: &CallId,
        connection: &ConnectionId,
    ) -> Result<Vec<PlatformEvent>, StoreError>;
}

/// Whether `event` names the call `id` or its leg `connection`.
pub(crate) fn is_for(event: &PlatformEvent, id: &CallId, connection: &ConnectionId) -> bool {
    event
        .call()
        .is_some_and(|c| c.id.as_ref() == Some(id) || c.connection_id.as_ref() == Some(connection))
}
