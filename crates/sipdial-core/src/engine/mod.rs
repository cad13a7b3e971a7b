//! What happens to calls: the lifecycle that applies platform events and local ends
//! (`lifecycle`), the call timers (`call_timers` arms them, `timer_poller` fires them),
//! placing and recording a dial (`dial`), one session per room (`rooms`), the dial's
//! wait for an answer (`answer_wait`), digits sent at answer (`dtmf_at_answer`), the per-call rate of caller
//! DTMF (`dtmf_rate`), work
//! that outlives its request (`completion`), in-process events (`queue`), the
//! operator metrics (`metrics`), callback signatures (`signature`), unsigned ends confirmed by a disconnect
//! (`unverified_end`) and the status webhooks (`webhooks`). It speaks in backend ports and policy values and returns its
//! own errors; the HTTP layer above maps them to responses.

pub(crate) mod answer_wait;
pub(crate) mod call_timers;
pub(crate) mod completion;
pub(crate) mod dial;
pub(crate) mod dtmf_at_answer;
pub(crate) mod dtmf_rate;
pub(crate) mod idempotency;
pub(crate) mod lifecycle;
pub mod metrics;
pub(crate) mod queue;
pub(crate) mod rooms;
#[cfg(feature = "jwt")]
pub mod signature;
pub(crate) mod timer_poller;
pub(crate) mod unverified_end;
pub mod webhooks;
