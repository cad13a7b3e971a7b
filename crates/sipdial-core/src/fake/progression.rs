//! The fake's platform events: what the platform would report after a dial (ringing,
//! answered, a far-end hang-up) on a schedule the test or demo chooses, and what it
//! reports when a call is force-disconnected, pushed through the sinks the HTTP API
//! attached ([`crate::SipDialer::attach_events`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::events::{CallRef, EventSink, PlatformCallState, PlatformEvent, PlatformEventKind};
use crate::{SipCall, Timestamp};

use super::state::State;

/// How a dialled call progresses, each step timed from the one before: ringing
/// `ring_after` after the dial, answered `answer_after` after ringing, and, when
/// `hang_up_after` is set, hung up by the far end that long after answering, with that
/// SIP code and reason (e.g. `(Duration::from_secs(30), 200, "Normal".into())`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallProgression {
    /// From the dial to `callUpdated RINGING`.
    pub ring_after: Duration,
    /// From ringing to `callUpdated ACTIVE`.
    pub answer_after: Duration,
    /// From answering to the far end hanging up: delay, SIP code, reason.
    pub hang_up_after: Option<(Duration, u16, String)>,
}

/// The sinks the fake reports to; every attached API gets every event.
#[derive(Default)]
pub(super) struct Sinks(Mutex<Vec<EventSink>>);

impl Sinks {
    pub(super) fn attach(&self, sink: EventSink) {
        crate::sync::lock(&self.0).push(sink);
    }

    pub(super) fn is_empty(&self) -> bool {
        crate::sync::lock(&self.0).is_empty()
    }

    /// Sends `kind` about `call` to every sink (outside the lock: a sink may do work).
    pub(super) fn emit(&self, call: &SipCall, kind: PlatformEventKind) {
        let sinks = crate::sync::lock(&self.0).clone();
        let event = PlatformEvent::new(call.session_id.clone(), kind).at(Timestamp::now());
        for sink in sinks {
            sink(event.clone());
        }
    }
}

impl std::fmt::Debug for Sinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sinks").finish_non_exhaustive()
    }
}

fn call_ref(call: &SipCall) -> CallRef {
    CallRef {
        created_at: Some(call.created_at),
        ..CallRef::new(call.id.clone(), call.connection_id.clone())
    }
}

/// `callCreated`, as the platform sends once the dial is accepted.
pub(super) fn created(sinks: &Sinks, call: &SipCall) {
    sinks.emit(
        call,
        PlatformEventKind::CallCreated {
            call: call_ref(call),
        },
    );
}

fn updated(sinks: &Sinks, call: &SipCall, state: PlatformCallState) {
    sinks.emit(
        call,
        PlatformEventKind::CallUpdated {
            call: call_ref(call),
            state,
        },
    );
}

/// The end of a call: `callDestroyed` with the code and reason, then the SIP leg's
/// stream and connection going away (`forceDisconnected` when we hung up).
pub(super) fn destroyed(sinks: &Sinks, call: &SipCall, code: u16, reason: &str, forced: bool) {
    sinks.emit(
        call,
        PlatformEventKind::CallDestroyed {
            call: call_ref(call),
            reason_code: Some(code.to_string()),
            reason_message: Some(reason.to_owned()),
        },
    );
    sinks.emit(
        call,
        PlatformEventKind::StreamDestroyed {
            stream_id: call.stream_id.clone(),
            connection_id: Some(call.connection_id.clone()),
            reason: Some(
                if forced {
                    "forceUnpublished"
                } else {
                    "clientDisconnected"
                }
                .to_owned(),
            ),
        },
    );
    sinks.emit(
        call,
        PlatformEventKind::ConnectionDestroyed {
            connection_id: call.connection_id.clone(),
            reason: Some(
                if forced {
                    "forceDisconnected"
                } else {
                    "clientDisconnected"
                }
                .to_owned(),
            ),
        },
    );
}

/// Plays `progression` for `call` on a Tokio task; stops as soon as the call is gone
/// (hung up through the API in the meantime).
pub(super) fn spawn(
    progression: CallProgression,
    call: SipCall,
    state: Arc<Mutex<State>>,
    sinks: Arc<Sinks>,
) {
    let still_up = |state: &Arc<Mutex<State>>, call: &SipCall| {
        crate::sync::lock(state)
            .require_connection(&call.session_id, &call.connection_id)
            .is_ok()
    };
    tokio::spawn(async move {
        tokio::time::sleep(progression.ring_after).await;
        if !still_up(&state, &call) {
            return;
        }
        updated(&sinks, &call, PlatformCallState::Ringing);
        tokio::time::sleep(progression.answer_after).await;
        if !still_up(&state, &call) {
            return;
        }
        updated(&sinks, &call, PlatformCallState::Active);
        if let Some((after, code, reason)) = progression.hang_up_after {
            tokio::time::sleep(after).await;
            let removed = crate::sync::lock(&state)
                .remove_call(&call.session_id, &call.connection_id)
                .is_ok();
            if removed {
                destroyed(&sinks, &call, code, &reason, false);
            }
        }
    });
}
