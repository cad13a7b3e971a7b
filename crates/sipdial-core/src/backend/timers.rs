//! Where the call policies' timers wait: the [`CallTimers`] plugin of the
//! [`super::Backend`] (in memory by default, shared in Redis by `sipdial-redis`).
//!
//! A timer is one deadline per call and kind. Arming is relative ("in 30 s"), so a
//! shared implementation can count from one clock (the Redis server's) instead of
//! every replica's own. Each instance polls [`CallTimers::claim_due`], which hands
//! each due timer to exactly one caller and holds it back for a lease: the claimer
//! completes it when done, and a timer whose claimer died before that is due again
//! once the lease is over, on any replica. So a timer fires once, and still fires when
//! the replica that armed it is gone.

use std::time::Duration;

use async_trait::async_trait;

use crate::CallId;
use crate::backend::error::StoreError;
use crate::call::timer::TimerKind;

/// One change to a call's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerOp {
    /// Fire `kind` this long from now (moving it if it was armed).
    Arm(TimerKind, Duration),
    /// Forget `kind` (nothing if it was not armed).
    Disarm(TimerKind),
}

/// A timer [`CallTimers::claim_due`] handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    /// Its call.
    pub call: CallId,
    /// Its kind.
    pub kind: TimerKind,
    /// Which claim this is, for [`CallTimers::complete`]: a timer armed again since
    /// the claim is a new one, and stays.
    pub lease: u64,
}

/// The call timers of one API, or of a fleet sharing them.
#[async_trait]
pub trait CallTimers: Send + Sync + 'static {
    /// Applies `ops` to `call`'s timers, as one step.
    async fn schedule(&self, call: &CallId, ops: &[TimerOp]) -> Result<(), StoreError>;

    /// Up to `max` timers whose deadline has passed, each handed to exactly one caller
    /// (of every instance sharing these timers) and held back for `lease`: one not
    /// [`CallTimers::complete`]d by then is due again.
    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<DueTimer>, StoreError>;

    /// Forgets a claimed timer, unless it was armed again since the claim.
    async fn complete(&self, timer: &DueTimer) -> Result<(), StoreError>;

    /// Arms one timer.
    async fn arm(&self, call: &CallId, kind: TimerKind, after: Duration) -> Result<(), StoreError> {
        self.schedule(call, &[TimerOp::Arm(kind, after)]).await
    }

    /// Disarms one timer.
    async fn disarm(&self, call: &CallId, kind: TimerKind) -> Result<(), StoreError> {
        self.schedule(call, &[TimerOp::Disarm(kind)]).await
    }
}
