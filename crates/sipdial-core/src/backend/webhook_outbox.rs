//! The webhook outbox, a part of the shared [`crate::api::Backend`]: where the
//! lifecycle leaves each call change for delivery, and where the dispatcher takes it
//! from.
//!
//! The outbox is what makes delivery survive a fleet: it assigns each call's sequence
//! numbers, it is bounded (a full outbox drops, it never makes the API wait), and
//! [`WebhookOutbox::take`] hands entries to one dispatcher at a time (a shared
//! outbox holds a lease for that). An entry leaves the outbox only when acknowledged
//! (delivered, refused or given up), so a dispatcher that dies mid-delivery leaves
//! its entries to the next one: delivery is at least once.

use std::time::Duration;

use async_trait::async_trait;

use crate::backend::error::StoreError;

/// Entries the in-memory outbox holds at most (queued and in delivery).
pub const DEFAULT_OUTBOX_CAPACITY: usize = 1024;
/// Ended calls whose sequence counters the in-memory outbox keeps: an ended call still
/// changes when the platform's final report adds its reason, so its counter must
/// outlive the end for a while, but not forever.
pub const ENDED_COUNTERS_KEPT: usize = 4096;

/// A change to deliver, as the lifecycle hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDelivery {
    /// The call it is about (sequence numbers count per call).
    pub call_id: String,
    /// Whose webhook: the target's name, or `None` for the global one. The URL and
    /// secret are looked up by each replica's own configuration, so no secret is ever
    /// written to a shared outbox.
    pub destination: Option<String>,
    /// The change as JSON text, without its sequence number.
    pub change: String,
    /// The call has ended: few changes follow (the platform's final reason), so an
    /// outbox may forget its counter some time after.
    pub ended: bool,
}

impl NewDelivery {
    /// A delivery of `change` about `call_id` to `destination`.
    pub fn new(
        call_id: impl Into<String>,
        destination: Option<String>,
        change: impl Into<String>,
        ended: bool,
    ) -> Self {
        Self {
            call_id: call_id.into(),
            destination,
            change: change.into(),
            ended,
        }
    }
}

/// One queued delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxEntry {
    /// The outbox's id of it, increasing in queue order; what [`WebhookOutbox::take`]
    /// resumes after and [`WebhookOutbox::ack`] removes.
    pub id: String,
    /// The call it is about.
    pub call_id: String,
    /// Whose webhook (`None`: the global one).
    pub destination: Option<String>,
    /// The call's sequence number of this change (1, 2, ...).
    pub sequence: u64,
    /// The change as JSON text, without its sequence number.
    pub change: String,
}

impl OutboxEntry {
    /// An entry as an outbox stores it.
    pub fn new(id: impl Into<String>, delivery: NewDelivery, sequence: u64) -> Self {
        Self {
            id: id.into(),
            call_id: delivery.call_id,
            destination: delivery.destination,
            sequence,
            change: delivery.change,
        }
    }
}

/// What [`WebhookOutbox::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pushed {
    /// Queued with this sequence number.
    Queued(u64),
    /// The outbox was full: dropped. Its sequence number is used up anyway, so the
    /// receiver sees a gap.
    Dropped(u64),
}

/// What [`WebhookOutbox::take`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Taken {
    /// Entries after the cursor, in queue order (possibly none).
    Entries(Vec<OutboxEntry>),
    /// Another replica delivers now: this one must stop delivering, forget what it
    /// took and, should it become the dispatcher again, take from the start.
    NotDispatcher,
}

/// The queue of webhook deliveries.
#[async_trait]
pub trait WebhookOutbox: Send + Sync + 'static {
    /// Queues a change; the call's next sequence number either way.
    async fn push(&self, delivery: NewDelivery) -> Result<Pushed, StoreError>;

    /// Up to `max` entries after `after` (`None`: from the oldest one not
    /// acknowledged), waiting up to `wait` when there are none. A shared outbox also
    /// takes or renews its dispatch lease here, which is why the dispatcher calls it
    /// at least every `wait` even while it is busy delivering.
    async fn take(
        &self,
        after: Option<&str>,
        max: usize,
        wait: Duration,
    ) -> Result<Taken, StoreError>;

    /// Removes an entry delivered, refused or given up.
    async fn ack(&self, id: &str) -> Result<(), StoreError>;

    /// Whether this replica may still deliver (checked before every attempt): a shared
    /// outbox answers from its lease's local deadline, without a round trip.
    fn holds_lease(&self) -> bool {
        true
    }
}
