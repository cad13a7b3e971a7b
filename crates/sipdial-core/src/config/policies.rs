//! The builder's call policy settings (ring timeout, maximum duration, expiry, the
//! timer poll).

use std::time::Duration;

use crate::config::SipDialApiBuilder;

impl SipDialApiBuilder {
    /// Hangs up every call not answered within `timeout` (outcome `no_answer`),
    /// unless its target sets its own ([`crate::api::SipTarget::ring_timeout`]). Default:
    /// none (the far end or the platform gives up). At most 10 minutes.
    pub fn default_ring_timeout(mut self, timeout: Duration) -> Self {
        self.policy.defaults.ring_timeout = Some(timeout);
        self
    }

    /// Hangs up every call `max` after it was answered (outcome `max_duration`),
    /// unless its target sets its own ([`crate::api::SipTarget::max_duration`]). Default:
    /// none (the platform's own 6 hours). At most 6 hours.
    pub fn default_max_duration(mut self, max: Duration) -> Self {
        self.policy.defaults.max_duration = Some(max);
        self
    }

    /// Closes a call as `expired` (and hangs it up, in case it is still there) after
    /// `after` without any platform event about it (default 6 hours, the platform's
    /// cap on a call's length): its end was lost, and the store should not keep it
    /// live forever. Shorter only for tests.
    pub fn call_expiry(mut self, after: Duration) -> Self {
        self.policy.expiry = after;
        self
    }

    /// How often this instance looks for due call timers (default 500 ms, at most
    /// a minute): a timer fires at most that late.
    pub fn timer_poll_interval(mut self, every: Duration) -> Self {
        self.policy.poll_interval = every;
        self
    }
}
