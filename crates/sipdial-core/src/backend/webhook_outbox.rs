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

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::backend::error::StoreError;
use crate::sync::lock;

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

/// The outbox of one process: a bounded queue in memory (lost on restart).
#[derive(Debug)]
pub struct InMemoryOutbox {
    capacity: usize,
    state: Mutex<State>,
    arrived: Notify,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    entries: VecDeque<(u64, OutboxEntry)>,
    sequences: HashMap<String, u64>,
    /// Ended calls, oldest first, whose counters go after [`ENDED_COUNTERS_KEPT`].
    ended: VecDeque<String>,
}

impl InMemoryOutbox {
    /// An outbox of [`DEFAULT_OUTBOX_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_OUTBOX_CAPACITY)
    }

    /// An outbox of `capacity` entries (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
        }
    }

    /// Entries queued or in delivery.
    pub fn len(&self) -> usize {
        lock(&self.state).entries.len()
    }

    /// Whether nothing is queued or in delivery.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn after(&self, after: Option<u64>, max: usize) -> Vec<OutboxEntry> {
        let state = lock(&self.state);
        let start = after.map_or(0, |a| state.entries.partition_point(|(id, _)| *id <= a));
        state
            .entries
            .iter()
            .skip(start)
            .take(max)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

impl Default for InMemoryOutbox {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `call` is not among the ended calls yet (the last few are checked: an
/// ended call's later changes come right after its end).
fn newly_ended(ended: &VecDeque<String>, call: &str) -> bool {
    !ended.iter().rev().take(64).any(|c| c == call)
}

#[async_trait]
impl WebhookOutbox for InMemoryOutbox {
    async fn push(&self, delivery: NewDelivery) -> Result<Pushed, StoreError> {
        let mut state = lock(&self.state);
        let sequence = {
            let s = state.sequences.entry(delivery.call_id.clone()).or_insert(0);
            *s += 1;
            *s
        };
        if delivery.ended && newly_ended(&state.ended, &delivery.call_id) {
            state.ended.push_back(delivery.call_id.clone());
            if state.ended.len() > ENDED_COUNTERS_KEPT
                && let Some(old) = state.ended.pop_front()
            {
                state.sequences.remove(&old);
            }
        }
        if state.entries.len() >= self.capacity {
            return Ok(Pushed::Dropped(sequence));
        }
        state.next_id += 1;
        let id = state.next_id;
        state
            .entries
            .push_back((id, OutboxEntry::new(id.to_string(), delivery, sequence)));
        drop(state);
        self.arrived.notify_one();
        Ok(Pushed::Queued(sequence))
    }

    async fn take(
        &self,
        after: Option<&str>,
        max: usize,
        wait: Duration,
    ) -> Result<Taken, StoreError> {
        let after = after.and_then(|a| a.parse::<u64>().ok());
        let notified = self.arrived.notified();
        let found = self.after(after, max);
        if !found.is_empty() {
            return Ok(Taken::Entries(found));
        }
        let _ = tokio::time::timeout(wait, notified).await;
        Ok(Taken::Entries(self.after(after, max)))
    }

    async fn ack(&self, id: &str) -> Result<(), StoreError> {
        let Ok(id) = id.parse::<u64>() else {
            return Ok(());
        };
        let mut state = lock(&self.state);
        if let Ok(i) = state.entries.binary_search_by_key(&id, |(i, _)| *i) {
            state.entries.remove(i);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(call: &str, ended: bool) -> NewDelivery {
        NewDelivery::new(call, None, "{}", ended)
    }

    #[tokio::test]
    async fn sequences_count_per_call_and_a_full_outbox_drops() {
        let o = InMemoryOutbox::with_capacity(2);
        assert_eq!(o.push(change("a", false)).await.unwrap(), Pushed::Queued(1));
        assert_eq!(o.push(change("b", false)).await.unwrap(), Pushed::Queued(1));
        assert_eq!(o.push(change("a", true)).await.unwrap(), Pushed::Dropped(2));
        let Taken::Entries(all) = o.take(None, 10, Duration::ZERO).await.unwrap() else {
            panic!("in memory is always the dispatcher");
        };
        assert_eq!(all.len(), 2);
        o.ack(&all[0].id).await.unwrap();
        assert_eq!(o.len(), 1);
        let Taken::Entries(rest) = o.take(Some(&all[0].id), 10, Duration::ZERO).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(rest, vec![all[1].clone()]);
        let Taken::Entries(none) = o.take(Some(&all[1].id), 10, Duration::ZERO).await.unwrap()
        else {
            panic!()
        };
        assert!(none.is_empty());
        // An ended call keeps counting (the platform's final reason comes after).
        o.ack(&all[1].id).await.unwrap();
        assert_eq!(o.push(change("a", true)).await.unwrap(), Pushed::Queued(3));
    }

    #[tokio::test]
    async fn counters_of_long_ended_calls_are_forgotten() {
        let o = InMemoryOutbox::with_capacity(1);
        for i in 0..=ENDED_COUNTERS_KEPT {
            o.push(change(&format!("c{i}"), true)).await.unwrap();
        }
        let state = lock(&o.state);
        assert_eq!(state.sequences.len(), ENDED_COUNTERS_KEPT);
        assert!(!state.sequences.contains_key("c0"));
    }

    #[tokio::test]
    async fn take_wakes_on_push() {
        let o = std::sync::Arc::new(InMemoryOutbox::new());
        let waiter = {
            let o = o.clone();
            tokio::spawn(async move { o.take(None, 1, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        o.push(change("a", false)).await.unwrap();
        let taken = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(matches!(taken, Taken::Entries(e) if e.len() == 1));
    }
}
