//! One gate per call: the changes of one call are applied one at a time, in the order
//! they reached this process, while the changes of different calls run side by side.
//!
//! A process-wide gate ordered every change behind every other one, so on a shared
//! store each dial waited for every other dial's round trips (about 2,300 dials a
//! second on Redis, whatever the cores). Ordering per call loses nothing: a change
//! only ever reads and writes its own call's record, the store applies each update
//! atomically (replicas, which share no gate, rely on that already), and the state
//! machine never moves a call backwards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::sync::lock;

/// The gates of the calls changing now (a call's gate exists only while a change of
/// it holds or waits for it).
#[derive(Default)]
pub(crate) struct CallGates {
    held: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// A call's gate, held until dropped.
pub(crate) struct CallGuard<'a> {
    // Dropped first (field order), so that `Entry::drop` sees whether anyone else
    // still holds or waits for the gate.
    _held: OwnedMutexGuard<()>,
    _entry: Entry<'a>,
}

/// A claim on a call's gate: the gate is forgotten when the last claim goes, also when
/// a change is cancelled while it waits.
struct Entry<'a> {
    gates: &'a CallGates,
    key: String,
    gate: Arc<AsyncMutex<()>>,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        let mut held = lock(&self.gates.held);
        // Two references: the map's and this claim's. More: someone waits for it.
        if Arc::strong_count(&self.gate) <= 2 {
            held.remove(&self.key);
            crate::shrink::hash_map(&mut held);
        }
    }
}

impl CallGates {
    /// Waits for the gate of the call named `key` (its call id, or while the call is
    /// not known, what the change names it by).
    pub(crate) async fn lock(&self, key: &str) -> CallGuard<'_> {
        let gate = Arc::clone(lock(&self.held).entry(key.to_owned()).or_default());
        let entry = Entry {
            gates: self,
            key: key.to_owned(),
            gate,
        };
        let held = Arc::clone(&entry.gate).lock_owned().await;
        CallGuard {
            _held: held,
            _entry: entry,
        }
    }

    /// Gates that exist now (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.held).len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_call_waits_another_does_not_and_gates_are_forgotten() {
        let gates = CallGates::default();
        let a = gates.lock("a").await;
        // Another call's gate is free.
        let b = tokio::time::timeout(Duration::from_secs(1), gates.lock("b"))
            .await
            .expect("call b does not wait for call a");
        drop(b);
        // The same call's is not, until the first holder lets go.
        let second = gates.lock("a");
        tokio::pin!(second);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut second)
                .await
                .is_err()
        );
        drop(a);
        let again = tokio::time::timeout(Duration::from_secs(1), &mut second)
            .await
            .expect("call a's next change goes once the first is done");
        assert_eq!(gates.len(), 1);
        drop(again);
        assert_eq!(gates.len(), 0, "no gate kept for calls not changing");
    }

    #[tokio::test]
    async fn a_change_cancelled_while_waiting_leaves_no_gate_behind() {
        let gates = CallGates::default();
        let a = gates.lock("a").await;
        let waiting = tokio::time::timeout(Duration::from_millis(20), gates.lock("a")).await;
        assert!(waiting.is_err());
        assert_eq!(gates.len(), 1);
        drop(a);
        assert_eq!(gates.len(), 0);
    }
}
