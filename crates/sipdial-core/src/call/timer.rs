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
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [TimerKind; 3] = [
        TimerKind::RingTimeout,
        TimerKind::MaxDuration,
        TimerKind::Expiry,
    ];

    /// A short stable name (`ring`, `max`, `expiry`), e.g. for a shared store's keys.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::RingTimeout => "ring",
            TimerKind::MaxDuration => "max",
            TimerKind::Expiry => "expiry",
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
        }
    }
}
