//! What the engine tells the outside: the change the host's hook receives, what caused
//! it, and what applying one platform event did (the `status` `POST /callbacks`
//! answers).

use std::sync::Arc;

use crate::call::outcome::CallOutcome;
use crate::call::timer::TimerKind;
use crate::call::{CallRecord, CallState};
use crate::events::PlatformEvent;

/// The host's hook, called once per call change, in order, after the store and the
/// SSE subscribers have it. It runs inline: keep it quick and non-blocking (hand work
/// to a channel or a task), and do not panic.
pub type CallEventHook = Arc<dyn Fn(&CallEvent) + Send + Sync>;

/// One change of one call, as the host's hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallEvent {
    /// The call after the change.
    pub call: CallRecord,
    /// Its state before; `None` when the call was just recorded.
    pub previous: Option<CallState>,
    /// Its outcome before: for a change of an ended call, the outcome the platform's
    /// `callDestroyed` replaced (a provisional one). Carried here, read atomically with
    /// the change by the store, so that whichever replica applies a refinement can
    /// count it without having seen the end.
    pub previous_outcome: Option<CallOutcome>,
    /// What caused it.
    pub cause: CallEventCause,
}

impl CallEvent {
    /// A call just recorded: nothing before.
    pub(crate) fn recorded(call: CallRecord, cause: CallEventCause) -> Self {
        Self {
            call,
            previous: None,
            previous_outcome: None,
            cause,
        }
    }
}

/// What changed a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEventCause {
    /// `POST /dial` placed it.
    Dialed,
    /// `DELETE /calls/{id}` hung it up.
    HungUp,
    /// The platform no longer knew its connection when we asked.
    Gone,
    /// A platform event the platform verifiably sent: a signed callback, or an
    /// in-process event from the dialer.
    Platform(PlatformEvent),
    /// A platform event nobody vouches for: an unsigned callback (accepted only with
    /// `accept_unsigned_callbacks`), or one the host applied itself. An end of this
    /// kind was confirmed by disconnecting the leg before it was applied.
    UnverifiedPlatform(PlatformEvent),
    /// A call policy's timer (ring timeout, maximum duration, expiry) ended it.
    Timer(TimerKind),
}

impl CallEventCause {
    /// Whether the change is known to be true: our own action, a timer, or the
    /// platform's verified word; `false` only for [`CallEventCause::UnverifiedPlatform`].
    pub fn is_verified(&self) -> bool {
        !matches!(self, CallEventCause::UnverifiedPlatform(_))
    }

    /// The platform event behind the change, verified or not.
    pub fn platform_event(&self) -> Option<&PlatformEvent> {
        match self {
            CallEventCause::Platform(e) | CallEventCause::UnverifiedPlatform(e) => Some(e),
            _ => None,
        }
    }
}

/// What applying one platform event did; `POST /callbacks` answers it as `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplyOutcome {
    /// A call changed (or was recorded).
    Applied,
    /// The event is about a known call but changes nothing (late, repeated, or a kind
    /// that carries no state).
    Unchanged,
    /// The same delivery was applied before.
    Duplicate,
    /// Not about any call this server tracks (an unknown event or call, a browser's
    /// connection).
    Ignored,
}

impl ApplyOutcome {
    /// `applied`, `unchanged`, `duplicate` or `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyOutcome::Applied => "applied",
            ApplyOutcome::Unchanged => "unchanged",
            ApplyOutcome::Duplicate => "duplicate",
            ApplyOutcome::Ignored => "ignored",
        }
    }
}
