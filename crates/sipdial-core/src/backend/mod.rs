//! The state the API keeps between requests, as one bundle of plugins: rooms and calls,
//! dial limits, callback dedupe, parked early events, the per-session event log,
//! the call policies' timers, the status webhook outbox and the dials' idempotency
//! keys.
//!
//! One process uses [`Backend::in_memory`] (the default). Replicas of one app behind a
//! load balancer share one backend (the `sipdial-redis` crate), so that every replica
//! sees the same rooms, calls, limits and events.

pub mod change_record;
pub(crate) mod dedupe;
pub mod dial_record;
pub(crate) mod error;
pub(crate) mod event_log;
pub(crate) mod idempotency;
pub(crate) mod limits;
pub(crate) mod memory;
pub(crate) mod parked;
pub(crate) mod pending_dtmf;
pub(crate) mod session_lease;
pub(crate) mod store;
pub(crate) mod timers;
pub(crate) mod webhook_outbox;
pub(crate) mod webhook_transport;

use std::sync::Arc;

use crate::backend::dedupe::DeliveryDedupe;
use crate::backend::event_log::DEFAULT_SSE_REPLAY;
use crate::backend::event_log::EventLog;
use crate::backend::idempotency::IdempotencyStore;
use crate::backend::limits::DialLimits;
use crate::backend::memory::{
    InMemoryCallStore, InMemoryCallTimers, InMemoryDedupe, InMemoryDialLimits, InMemoryEventLog,
    InMemoryIdempotency, InMemoryOutbox, InMemoryParked, InMemoryPendingDtmf,
};
use crate::backend::parked::ParkedEvents;
use crate::backend::pending_dtmf::PendingDtmf;
use crate::backend::session_lease::{SessionLease, SingleProcessLease};
use crate::backend::store::CallStore;
use crate::backend::timers::CallTimers;
use crate::backend::webhook_outbox::WebhookOutbox;

/// Every shared part of the API's state.
#[derive(Clone)]
#[non_exhaustive]
pub struct Backend {
    /// Rooms, sessions and calls.
    pub store: Arc<dyn CallStore>,
    /// Active-call and dial-rate limits.
    pub limits: Arc<dyn DialLimits>,
    /// Which platform deliveries were applied.
    pub dedupe: Arc<dyn DeliveryDedupe>,
    /// Events for calls not recorded yet.
    pub parked: Arc<dyn ParkedEvents>,
    /// The per-session log the SSE streams read.
    pub events: Arc<dyn EventLog>,
    /// Digits waiting for their call's answer (DTMF at answer). [`Backend::new`]
    /// keeps them in memory; a shared backend sets its own after it, so that the
    /// replica that applies the answer finds them.
    pub pending_dtmf: Arc<dyn PendingDtmf>,
    /// The call policies' timers (ring timeout, maximum duration, expiry).
    pub timers: Arc<dyn CallTimers>,
    /// Status webhook deliveries waiting to be sent (see [`Backend::with_webhook_outbox`]).
    pub webhooks: Arc<dyn WebhookOutbox>,
    /// The `Idempotency-Key`s of `POST /dial` (see [`Backend::with_idempotency`]).
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Which replica reconciles a session (see [`Backend::with_session_lease`]).
    pub session_lease: Arc<dyn SessionLease>,
}

impl Backend {
    /// One bundle of its parts, with the call timers in memory (see
    /// [`Backend::with_timers`]).
    pub fn new(
        store: Arc<dyn CallStore>,
        limits: Arc<dyn DialLimits>,
        dedupe: Arc<dyn DeliveryDedupe>,
        parked: Arc<dyn ParkedEvents>,
        events: Arc<dyn EventLog>,
    ) -> Self {
        Self {
            store,
            limits,
            dedupe,
            parked,
            events,
            pending_dtmf: Arc::new(InMemoryPendingDtmf::new()),
            timers: Arc::new(InMemoryCallTimers::new()),
            webhooks: Arc::new(InMemoryOutbox::new()),
            idempotency: Arc::new(InMemoryIdempotency::new()),
            session_lease: Arc::new(SingleProcessLease),
        }
    }

    /// These parts with `timers` as the call timers (a fleet shares them, so each
    /// timer fires once, on whichever replica polls first).
    pub fn with_timers(mut self, timers: Arc<dyn CallTimers>) -> Self {
        self.timers = timers;
        self
    }

    /// Replaces the webhook outbox (default: an [`InMemoryOutbox`](crate::backend::memory::InMemoryOutbox), which a fleet must
    /// not use: each replica would deliver only its own changes, and lose them on
    /// restart).
    pub fn with_webhook_outbox(mut self, outbox: Arc<dyn WebhookOutbox>) -> Self {
        self.webhooks = outbox;
        self
    }

    /// Replaces the idempotency keys (default: an
    /// [`InMemoryIdempotency`](crate::backend::memory::InMemoryIdempotency), which a
    /// fleet must not use: a retry reaching another replica would place a second
    /// call).
    pub fn with_idempotency(mut self, keys: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = keys;
        self
    }

    /// Replaces the reconcile lease of sessions (default: [`SingleProcessLease`], always
    /// granted, right for one process): a fleet shares one so that one replica at a
    /// time lists a session's connections.
    pub fn with_session_lease(mut self, lease: Arc<dyn SessionLease>) -> Self {
        self.session_lease = lease;
        self
    }

    /// Everything in this process's memory (lost on restart, not shared).
    pub fn in_memory() -> Self {
        Self::in_memory_with_replay(DEFAULT_SSE_REPLAY)
    }

    /// In memory, keeping `replay` events per session for `Last-Event-ID`.
    pub fn in_memory_with_replay(replay: usize) -> Self {
        Self::new(
            Arc::new(InMemoryCallStore::new()),
            Arc::new(InMemoryDialLimits::new()),
            Arc::new(InMemoryDedupe::new()),
            Arc::new(InMemoryParked::new()),
            Arc::new(InMemoryEventLog::new(replay)),
        )
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}
