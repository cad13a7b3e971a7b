//! What a test can ask of the fake: which operation, what to do to it, and the log of
//! what was asked.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::{DialError, SessionId};

/// One [`crate::SipDialer`] operation, as scripts and the request log name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`crate::SipDialer::create_session`].
    CreateSession,
    /// [`crate::SipDialer::issue_token`].
    IssueToken,
    /// [`crate::SipDialer::dial`].
    Dial,
    /// [`crate::SipDialer::hang_up`].
    HangUp,
    /// [`crate::SipDialer::play_dtmf`].
    PlayDtmf,
    /// [`crate::SipDialer::force_mute`].
    ForceMute,
    /// [`crate::SipDialer::list_streams`].
    ListStreams,
    /// [`crate::SipDialer::list_connections`].
    ListConnections,
}

/// What the fake does to a scripted call before (or instead of) its normal behaviour.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Script {
    /// Fail with this error, without any effect on the fake's state.
    Fail(DialError),
    /// Wait this long (with `tokio::time::sleep`), then behave normally. On the
    /// synchronous `issue_token` the wait blocks the calling thread, as slow local
    /// signing would.
    Delay(Duration),
}

/// One request the fake received, in arrival order, scripted or not.
///
/// `detail` is a human-readable summary for assertions and failure messages; it never
/// holds a token or a SIP password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The operation asked for.
    pub op: Operation,
    /// The session it was about, when it named one.
    pub session_id: Option<SessionId>,
    /// The other arguments, secrets left out.
    pub detail: String,
}

/// Pending scripts: one-shot scripts queue per operation in the order they were given
/// and win over the standing (`always`) one.
#[derive(Debug, Default)]
pub(super) struct Scripts {
    once: VecDeque<(Operation, Script)>,
    always: HashMap<Operation, Script>,
}

impl Scripts {
    pub(super) fn push_once(&mut self, op: Operation, script: Script) {
        self.once.push_back((op, script));
    }

    pub(super) fn set_always(&mut self, op: Operation, script: Script) {
        self.always.insert(op, script);
    }

    pub(super) fn clear(&mut self) {
        self.once.clear();
        self.always.clear();
    }

    /// The script for the next call of `op`, consuming it when it was one-shot.
    pub(super) fn next(&mut self, op: Operation) -> Option<Script> {
        if let Some(pos) = self.once.iter().position(|(o, _)| *o == op) {
            return self.once.remove(pos).map(|(_, s)| s);
        }
        self.always.get(&op).cloned()
    }
}
