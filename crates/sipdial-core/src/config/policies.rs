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

    /// Reconciles live calls with the platform: a call without any change for
    /// `after` is looked up in the platform's List Connections, and ended (outcome
    /// `completed` once answered, else `failed`; cause `reconciled`) when its leg is
    /// gone or `Disconnected`, through the lifecycle like any end (events, hook,
    /// webhooks, metrics); while it is still there it is checked again every `every`.
    /// This is what ends a call whose end callback never came (a callback URL that was
    /// down, a wrong secret) long before the call expiry. Off by default, and off
    /// whatever is set when the dialer cannot list connections
    /// ([`crate::SipDialer::lists_connections`]). Each at least 1 s, at most 6 h. A
    /// platform error or rate limit backs the checks off and ends nothing. The checks
    /// are call timers, so a fleet on a shared backend checks each call on one replica
    /// at a time.
    pub fn reconcile_calls(mut self, every: Duration, after: Duration) -> Self {
        self.policy.reconcile = Some(crate::policy::calls::Reconcile { every, after });
        self
    }

    /// How often this instance looks for due call timers (default 500 ms, at most
    /// a minute): a timer fires at most that late.
    pub fn timer_poll_interval(mut self, every: Duration) -> Self {
        self.policy.poll_interval = every;
        self
    }
}
