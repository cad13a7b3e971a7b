//! The platform's callbacks (docs/platform-api.md §6): what happens to a SIP call after the
//! dial's 200 — ringing, answer, hold, hang-up — and to the session's connections and
//! streams, reported to the URL the test configured.
//!
//! The REST routes and the inspection API change the state; this module turns each
//! change into the events the platform would send, and moves calls along the
//! [`CallScript`] the test set.

mod delivery;
mod events;
mod signature;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sipdial_core::Timestamp;
use tokio::sync::watch;

pub(crate) use delivery::{CallbackConfig, Outbox};
pub use delivery::{CallbackRecord, Delivery, DeliveryOutcome};
pub(crate) use events::EndReason;

use crate::state::{ConnectionSnapshot, Session, SipCallState, Store, StreamSnapshot};
use crate::sync::lock;
use events::{CallRef, Outgoing};

/// What the far end does after each dial, measured from the dial
/// ([`crate::FakePlatform::script_calls`]).
///
/// At `ring_after` the call rings (`callUpdated` `RINGING`), at `answer_after` it is
/// answered (`ACTIVE`), and at `hang_up_after` the far end hangs up with that SIP (or
/// 7xx) code and message (`callDestroyed`, plus `HANGUP` first when it had been
/// answered). A step that comes after the hang-up never happens, so a call that is
/// busy before it is answered is `hang_up_after` earlier than `answer_after`; a step
/// that would move the call backwards (ringing after the answer) is skipped. Our own
/// hang-up (`DELETE …/connection/{id}`) cancels whatever is left of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallScript {
    /// When the far end starts ringing.
    pub ring_after: Duration,
    /// When the far end answers.
    pub answer_after: Duration,
    /// When the far end hangs up, with the code and message of `callDestroyed`
    /// (e.g. `486` `Busy Here`, `700` `Normal Clearing`); `None`: it never does.
    pub hang_up_after: Option<(Duration, u16, String)>,
}

impl CallScript {
    /// Rings at `ring_after`, answers at `answer_after`, never hangs up by itself.
    pub fn new(ring_after: Duration, answer_after: Duration) -> Self {
        Self {
            ring_after,
            answer_after,
            hang_up_after: None,
        }
    }

    /// The far end also hangs up at `after` with `code` and `message`.
    #[must_use]
    pub fn hang_up_after(mut self, after: Duration, code: u16, message: impl Into<String>) -> Self {
        self.hang_up_after = Some((after, code, message.into()));
        self
    }

    /// The steps in time order.
    fn steps(&self) -> Vec<(Duration, CallProgress)> {
        let mut steps = vec![
            (self.ring_after, CallProgress::Ringing),
            (self.answer_after, CallProgress::Answer),
        ];
        if let Some((after, code, message)) = &self.hang_up_after {
            steps.push((
                *after,
                CallProgress::HangUp {
                    code: *code,
                    message: message.clone(),
                },
            ));
        }
        // Stable: at equal times ringing comes before the answer, the answer before the
        // hang-up.
        steps.sort_by_key(|(at, _)| *at);
        steps
    }
}

/// One thing the far end of a SIP call does ([`crate::FakePlatform::advance_call`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallProgress {
    /// Starts ringing (only from dialing).
    Ringing,
    /// Answers (from dialing or ringing).
    Answer,
    /// Puts the call on hold (only when active).
    Hold,
    /// Takes the call off hold (only when on hold).
    Resume,
    /// Hangs up, or refuses the call, with this code and message (from any state).
    HangUp {
        /// The SIP response code, or the platform's 7xx (`700` Normal Clearing).
        code: u16,
        /// The reason phrase (`Busy Here`).
        message: String,
    },
}

/// The code and message of `callDestroyed` after our own hang-up: a `CANCEL` before the
/// answer, a `BYE` after it. The platform's exact values are not documented; these are
/// the SIP ones.
fn forced_end(state: SipCallState) -> (u16, &'static str) {
    if state.answered() {
        (700, "Normal Clearing")
    } else {
        (487, "Request Terminated")
    }
}

/// The code and message of `callDestroyed` when the far end simply hangs up
/// ([`crate::FakePlatform::end_connection`] on a SIP leg).
pub(crate) const FAR_END_CLEARING: (u16, &str) = (700, "Normal Clearing");

/// Why a removal found nothing to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Session,
    Connection,
}

/// Turns state changes into callbacks and runs call scripts. Cheap to clone: every
/// field is shared.
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    store: Arc<Mutex<Store>>,
    pub(crate) outbox: Arc<Outbox>,
    scripts: Arc<Mutex<Scripts>>,
    stop: watch::Receiver<bool>,
}

/// Which script the next dial gets: a one-off queued for it, else the standing one.
#[derive(Debug, Default)]
struct Scripts {
    every: Option<CallScript>,
    next: VecDeque<CallScript>,
}

impl Scripts {
    fn for_next_call(&mut self) -> Option<CallScript> {
        self.next.pop_front().or_else(|| self.every.clone())
    }
}

impl Lifecycle {
    pub(crate) fn new(
        store: Arc<Mutex<Store>>,
        config: CallbackConfig,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            outbox: Outbox::start(config, stop.clone()),
            scripts: Arc::new(Mutex::new(Scripts::default())),
            stop,
        }
    }

    pub(crate) fn set_script(&self, script: Option<CallScript>) {
        lock(&self.scripts).every = script;
    }

    pub(crate) fn queue_script(&self, script: CallScript) {
        lock(&self.scripts).next.push_back(script);
    }

    pub(crate) fn clear_scripts(&self) {
        let mut scripts = lock(&self.scripts);
        scripts.every = None;
        scripts.next.clear();
    }

    /// Reports a connection just added to `session` (and its stream); for a SIP leg,
    /// also `callCreated` and `callUpdated` `DIALING`, and starts the call script.
    /// Called with the store locked, so events leave in the order the state changed.
    ///
    /// Called right after `Session::add_connection`, so the connection and its streams
    /// are the last entries: they are looked up from the end, which keeps a dial O(1)
    /// however many connections a session has gathered (a load test adds thousands).
    /// `run_script` is false when the SIP gateway emulation moves the call instead.
    pub(crate) fn connection_added(
        &self,
        session: &Session,
        connection_id: &str,
        run_script: bool,
    ) {
        let Some(c) = session
            .connections
            .iter()
            .rev()
            .find(|c| c.connection_id == connection_id)
        else {
            return;
        };
        let project = &session.info.project_key;
        let now = Timestamp::now();
        let mut out = vec![events::connection_created(project, c, now)];
        let new_streams = session
            .streams
            .iter()
            .rev()
            .take_while(|s| s.connection_id == connection_id)
            .count();
        for s in &session.streams[session.streams.len() - new_streams..] {
            out.push(events::stream_created(project, s, c, now));
        }
        if let Some(call) = call_ref(project, c) {
            out.push(call.created(now));
            out.push(call.updated(SipCallState::Dialing.as_platform_str(), now));
        }
        self.outbox.send(out);
        if run_script
            && let Some(leg) = &c.sip
            && let Some(script) = lock(&self.scripts).for_next_call()
        {
            self.run_script(leg.call_id.clone(), script);
        }
    }

    /// Reports a connection that was removed with its streams: `streamDestroyed` and
    /// `connectionDestroyed` with `reason`, and for a SIP leg `callUpdated` `HANGUP`
    /// (when it had been answered) and `callDestroyed` with `end` (or, when `None`, the
    /// code our own hang-up produces).
    pub(crate) fn connection_removed(
        &self,
        project: &str,
        c: &ConnectionSnapshot,
        streams: &[StreamSnapshot],
        reason: EndReason,
        end: Option<(u16, &str)>,
    ) {
        let now = Timestamp::now();
        let mut out: Vec<Outgoing> = Vec::new();
        let call = call_ref(project, c);
        let state = c.sip.as_ref().map(|leg| leg.state);
        if let (Some(call), Some(state)) = (&call, state)
            && state.answered()
        {
            out.push(call.updated("HANGUP", now));
        }
        for s in streams {
            out.push(events::stream_destroyed(project, s, c, reason, now));
        }
        out.push(events::connection_destroyed(project, c, reason, now));
        if let (Some(call), Some(state)) = (&call, state) {
            let (code, message) = end.unwrap_or_else(|| forced_end(state));
            out.push(call.destroyed(code, message, now));
        }
        self.outbox.send(out);
    }

    /// Reports a force-mute of `c`'s stream: `muteForced` when `c` is a SIP leg that
    /// observes force-mute (docs/platform-api.md §6); nothing otherwise. Called with the
    /// store locked, like the other reports.
    pub(crate) fn mute_forced(&self, project: &str, c: &ConnectionSnapshot) {
        if c.sip.as_ref().is_some_and(|leg| leg.observe_force_mute)
            && let Some(call) = call_ref(project, c)
        {
            self.outbox.send(vec![call.mute_forced(Timestamp::now())]);
        }
    }

    /// Removes a connection the way `reason` says and reports it.
    pub(crate) fn remove_connection(
        &self,
        session_id: &str,
        connection_id: &str,
        reason: EndReason,
        end: Option<(u16, &str)>,
    ) -> Result<(), Missing> {
        let mut store = lock(&self.store);
        let session = store.session_mut(session_id).ok_or(Missing::Session)?;
        let (c, streams) = session
            .take_connection(connection_id)
            .ok_or(Missing::Connection)?;
        let project = session.info.project_key.clone();
        self.connection_removed(&project, &c, &streams, reason, end);
        Ok(())
    }

    /// Moves the call `call_id` one step; false when the call is not (or no longer) in
    /// any session or the step does not apply to its state.
    pub(crate) fn advance(&self, call_id: &str, step: &CallProgress) -> bool {
        let mut store = lock(&self.store);
        let Some(session) = store
            .iter_mut()
            .find(|s| s.connections.iter().any(|c| is_call(c, call_id)))
        else {
            return false;
        };
        let project = session.info.project_key.clone();
        let Some(c) = session.sip_call_mut(call_id) else {
            return false;
        };
        let Some(leg) = c.sip.as_mut() else {
            return false;
        };
        use SipCallState::{Active, Dialing, OnHold, Ringing};
        let next = match (step, leg.state) {
            (CallProgress::Ringing, Dialing) => Ringing,
            (CallProgress::Answer, Dialing | Ringing) => Active,
            (CallProgress::Hold, Active) => OnHold,
            (CallProgress::Resume, OnHold) => Active,
            (CallProgress::HangUp { code, message }, _) => {
                let connection_id = c.connection_id.clone();
                let Some((c, streams)) = session.take_connection(&connection_id) else {
                    return false;
                };
                self.connection_removed(
                    &project,
                    &c,
                    &streams,
                    EndReason::ClientDisconnected,
                    Some((*code, message)),
                );
                return true;
            }
            _ => return false,
        };
        leg.state = next;
        if let Some(call) = call_ref(&project, c) {
            self.outbox
                .send([call.updated(next.as_platform_str(), Timestamp::now())]);
        }
        true
    }

    fn call_exists(&self, call_id: &str) -> bool {
        lock(&self.store)
            .iter()
            .any(|s| s.connections.iter().any(|c| is_call(c, call_id)))
    }

    fn run_script(&self, call_id: String, script: CallScript) {
        let this = self.clone();
        let mut stop = self.stop.clone();
        let started = tokio::time::Instant::now();
        tokio::spawn(async move {
            for (at, step) in script.steps() {
                tokio::select! {
                    _ = stop.changed() => return,
                    () = tokio::time::sleep_until(started + at) => {}
                }
                if !this.call_exists(&call_id) {
                    return;
                }
                // A step that does not apply (ringing after the answer) is skipped.
                this.advance(&call_id, &step);
            }
        });
    }
}

fn is_call(c: &ConnectionSnapshot, call_id: &str) -> bool {
    c.sip.as_ref().is_some_and(|leg| leg.call_id == call_id)
}

fn call_ref<'a>(project: &'a str, c: &'a ConnectionSnapshot) -> Option<CallRef<'a>> {
    c.sip.as_ref().map(|leg| CallRef {
        session_id: &c.session_id,
        project_id: project,
        call_id: &leg.call_id,
        connection_id: &c.connection_id,
        created_at: c.created_at,
    })
}
