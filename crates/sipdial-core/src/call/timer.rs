//! Which call policy a timer enforces: a kind the engine arms, the backend stores and
//! the hook sees, so it lives with the call, below all three.

use crate::call::outcome::LocalEnd;

/// Which policy a timer enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TimerKind {
    /// Not answered in time: ends the call as `no_answer`.
    RingTimeout,
    /// Answered too long: ends the call as `max_duration`.
    MaxDuration,
    /// No platform event for too long: closes the call as `expired`.
    Expiry,
    /// No change for the reconcile threshold: asks the platform whether the leg is
    /// still there (List Connections), and ends the call (`reconciled`) when it is not.
    /// Armed only when reconciliation is on.
    Reconcile,
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [TimerKind; 4] = [
        TimerKind::RingTimeout,
        TimerKind::MaxDuration,
        TimerKind::Expiry,
        TimerKind::Reconcile,
    ];

    /// A short stable name (`ring`, `max`, `expiry`, `reconcile`), e.g. for a shared
    /// store's keys.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::RingTimeout => "ring",
            TimerKind::MaxDuration => "max",
            TimerKind::Expiry => "expiry",
            TimerKind::Reconcile => "reconcile",
        }
    }

    /// The kind named by [`TimerKind::as_str`].
    pub fn parse(name: &str) -> Option<TimerKind> {
        TimerKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The end it causes.
    pub fn end(self) -> LocalEnd {
        match self {
            TimerKind::RingTimeout => LocalEnd::RingTimeout,
            TimerKind::MaxDuration => LocalEnd::MaxDuration,
            TimerKind::Expiry => LocalEnd::Expired,
            TimerKind::Reconcile => LocalEnd::Reconciled,
        }
    }
}
