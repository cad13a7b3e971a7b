//! The in-memory implementations of the backend's ports: one process's state, lost
//! on restart and not shared; [`Backend::in_memory`](crate::backend::Backend::in_memory)
//! bundles them. A shared backend (`sipdial-redis`) implements the same ports.

pub(crate) mod bounded;
pub(crate) mod dedupe;
pub(crate) mod event_log;
pub(crate) mod idempotency;
pub(crate) mod limits;
pub(crate) mod parked;
pub(crate) mod pending_dtmf;
pub(crate) mod store;
pub(crate) mod timers;
pub(crate) mod webhook_outbox;

pub use dedupe::InMemoryDedupe;
pub use event_log::InMemoryEventLog;
pub use idempotency::InMemoryIdempotency;
pub use limits::InMemoryDialLimits;
pub use parked::InMemoryParked;
pub use pending_dtmf::InMemoryPendingDtmf;
pub use store::InMemoryCallStore;
pub use timers::InMemoryCallTimers;
pub use webhook_outbox::InMemoryOutbox;
