//! The in-memory the call timers ([`InMemoryCallTimers`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::CallId;
use crate::backend::error::StoreError;
use crate::backend::timers::{CallTimers, DueTimer, TimerOp};
use crate::call::timer::TimerKind;
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;

/// [`CallTimers`] in this process's memory, on Tokio's clock (so tests can pause and
/// advance it). One entry per armed timer: calls that end take theirs with them.
#[derive(Debug)]
pub struct InMemoryCallTimers {
    state: std::sync::Mutex<Timers>,
    origin: Instant,
}

#[derive(Debug, Default)]
struct Timers {
    /// Deadline (ns since `origin`) and arming number (the claim's token) of each
    /// armed timer.
    armed: HashMap<(CallId, TimerKind), (u64, u64)>,
    /// The same, by deadline.
    queue: BTreeMap<(u64, u64), (CallId, TimerKind)>,
    /// Arming number of the next timer.
    next: u64,
}

impl Timers {
    fn remove(&mut self, key: &(CallId, TimerKind)) {
        if let Some(at) = self.armed.remove(key) {
            self.queue.remove(&at);
            crate::shrink::hash_map(&mut self.armed);
        }
    }

    /// Sets `key` to fire at `at` ns; its arming number.
    fn insert(&mut self, key: (CallId, TimerKind), at: u64) -> u64 {
        self.remove(&key);
        let token = self.next;
        self.next += 1;
        self.queue.insert((at, token), key.clone());
        self.armed.insert(key, (at, token));
        token
    }
}

impl Default for InMemoryCallTimers {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryCallTimers {
    /// No timers.
    pub fn new() -> Self {
        Self {
            state: std::sync::Mutex::new(Timers::default()),
            origin: Instant::now(),
        }
    }

    /// How many timers are armed (claimed ones included until completed).
    pub fn len(&self) -> usize {
        lock(&self.state).armed.len()
    }

    /// Whether none is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        nanos(Instant::now().saturating_duration_since(self.origin))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[async_trait]
impl CallTimers for InMemoryCallTimers {
    async fn schedule(&self, call: &CallId, ops: &[TimerOp]) -> Result<(), StoreError> {
        let now = self.now();
        let mut state = lock(&self.state);
        for op in ops {
            match *op {
                TimerOp::Arm(kind, after) => {
                    state.insert((call.clone(), kind), now.saturating_add(nanos(after)));
                }
                TimerOp::Disarm(kind) => state.remove(&(call.clone(), kind)),
            }
        }
        Ok(())
    }

    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<DueTimer>, StoreError> {
        let now = self.now();
        let mut state = lock(&self.state);
        let due: Vec<(CallId, TimerKind)> = state
            .queue
            .range(..=(now, u64::MAX))
            .take(max)
            .map(|(_, key)| key.clone())
            .collect();
        Ok(due
            .into_iter()
            .map(|key| {
                let lease = state.insert(key.clone(), now.saturating_add(nanos(lease)));
                DueTimer {
                    call: key.0,
                    kind: key.1,
                    lease,
                }
            })
            .collect())
    }

    async fn complete(&self, timer: &DueTimer) -> Result<(), StoreError> {
        let key = (timer.call.clone(), timer.kind);
        let mut state = lock(&self.state);
        if state.armed.get(&key).map(|&(_, token)| token) == Some(timer.lease) {
            state.remove(&key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::timers::*;
    use crate::call::outcome::LocalEnd;

    fn id(s: &str) -> CallId {
        CallId::new(s).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn timers_fire_in_order_once_and_leases_run_out() {
        let t = InMemoryCallTimers::new();
        let lease = Duration::from_secs(10);
        t.arm(&id("a"), TimerKind::RingTimeout, Duration::from_secs(2))
            .await
            .unwrap();
        t.arm(&id("b"), TimerKind::Expiry, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(t.claim_due(10, lease).await.unwrap().is_empty());
        tokio::time::advance(Duration::from_secs(2)).await;
        let due = t.claim_due(10, lease).await.unwrap();
        let got: Vec<_> = due.iter().map(|d| (d.call.as_str(), d.kind)).collect();
        assert_eq!(
            got,
            [("b", TimerKind::Expiry), ("a", TimerKind::RingTimeout)]
        );
        // Claimed: nobody else gets them.
        assert!(t.claim_due(10, lease).await.unwrap().is_empty());
        t.complete(&due[0]).await.unwrap();
        assert_eq!(t.len(), 1);
        // The other one's claimer never completed it: due again after the lease.
        tokio::time::advance(lease).await;
        let again = t.claim_due(10, lease).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].call.as_str(), "a");
        t.complete(&again[0]).await.unwrap();
        assert!(t.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn rearming_moves_a_timer_and_survives_an_old_claim() {
        let t = InMemoryCallTimers::new();
        let c = id("c");
        t.arm(&c, TimerKind::Expiry, Duration::from_secs(1))
            .await
            .unwrap();
        t.arm(&c, TimerKind::Expiry, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(t.len(), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(t.claim_due(10, Duration::ZERO).await.unwrap().is_empty());
        tokio::time::advance(Duration::from_secs(3)).await;
        let due = t.claim_due(10, Duration::from_secs(60)).await.unwrap();
        assert_eq!(due.len(), 1);
        // Armed again while claimed: completing the old claim keeps the new timer.
        t.arm(&c, TimerKind::Expiry, Duration::from_secs(5))
            .await
            .unwrap();
        t.complete(&due[0]).await.unwrap();
        assert_eq!(t.len(), 1);
        t.schedule(
            &c,
            &[
                TimerOp::Disarm(TimerKind::Expiry),
                TimerOp::Disarm(TimerKind::RingTimeout),
            ],
        )
        .await
        .unwrap();
        assert!(t.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn claims_are_bounded() {
        let t = InMemoryCallTimers::new();
        for i in 0..5 {
            t.arm(&id(&format!("c{i}")), TimerKind::Expiry, Duration::ZERO)
                .await
                .unwrap();
        }
        assert_eq!(
            t.claim_due(3, Duration::from_secs(1)).await.unwrap().len(),
            3
        );
        assert_eq!(
            t.claim_due(3, Duration::from_secs(1)).await.unwrap().len(),
            2
        );
    }

    #[test]
    fn kinds_have_stable_names() {
        for k in TimerKind::ALL {
            assert_eq!(TimerKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(TimerKind::parse("nope"), None);
        assert_eq!(TimerKind::MaxDuration.end(), LocalEnd::MaxDuration);
    }
}
