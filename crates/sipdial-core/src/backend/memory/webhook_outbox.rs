//! The in-memory the status webhook outbox ([`InMemoryOutbox`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::backend::error::StoreError;
use crate::backend::webhook_outbox::{
    DEFAULT_OUTBOX_CAPACITY, ENDED_COUNTERS_KEPT, NewDelivery, OutboxEntry, Pushed, Taken,
    WebhookOutbox,
};
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

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
    use crate::backend::webhook_outbox::*;

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
