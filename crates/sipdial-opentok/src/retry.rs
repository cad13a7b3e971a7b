//! Which REST calls are retried, and how long to wait between attempts.
//!
//! Only calls whose repetition cannot change the outcome are retried: hanging up a
//! connection (`DELETE`), force-muting a stream (muting a muted stream is a no-op) and
//! listing streams (`GET`). Creating a session, dialing and playing DTMF are never
//! retried: a lost answer does not mean the platform did nothing, and a second attempt
//! would make a second session, place (and bill) a second call, or play the digits
//! twice.
//!
//! A retry happens only after a transient failure ([`DialError::is_transient`]: a
//! connection that could not be made or broke, a timeout, a 5xx, a 429). The wait grows
//! exponentially with "equal jitter" (half fixed, half random) so that many clients
//! failing together do not retry together; a `Retry-After` from the platform is honoured
//! when it is no longer than [`RetryPolicy::max_retry_after`], and a longer one ends the
//! retries at once (the caller is told how long to wait instead). Every attempt and every
//! wait fits in one total deadline, by default the dialer's request timeout, so a caller
//! never waits longer for a retried call than for a single one.

use std::time::Duration;

use rand::Rng as _;
use sipdial_core::DialError;

/// Default number of attempts of a retried call (the first one included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default wait before the first retry; it doubles for each later one.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(100);
/// Default longest wait between two attempts (before jitter).
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(1);
/// Default longest `Retry-After` honoured; a longer one ends the retries.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(3);

/// How idempotent REST calls (hang-up, force-mute, stream list) are retried.
///
/// ```
/// use std::time::Duration;
/// use sipdial_opentok::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(4)
///     .base_delay(Duration::from_millis(50))
///     .deadline(Duration::from_secs(5));
/// assert_eq!(policy.attempts(), 4);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// No retries at all: every call is made once.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts per call, the first included (at least 1; default 3).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Wait before the first retry, doubled for each later one (default 100 ms).
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Longest wait between two attempts (default 1 s).
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Longest platform `Retry-After` waited for (default 3 s); a longer one ends the
    /// retries and reaches the caller as a rate limit with that delay.
    #[must_use]
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Total time for all attempts and waits of one call (default: the dialer's request
    /// timeout, so retries never make a caller wait longer than one attempt could).
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Attempts per call, the first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The total deadline, given the dialer's request timeout.
    pub(crate) fn deadline_or(&self, timeout: Duration) -> Duration {
        self.deadline.unwrap_or(timeout)
    }

    /// How long to wait after failed attempt number `attempt` (1-based) before trying
    /// again, or `None` when the failure must reach the caller now. `retry_after` is the
    /// platform's hint, `remaining` the time left before the deadline.
    pub(crate) fn wait_after(
        &self,
        attempt: u32,
        error: &DialError,
        retry_after: Option<Duration>,
        remaining: Duration,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.is_transient() {
            return None;
        }
        let wait = match retry_after {
            Some(hint) if hint > self.max_retry_after => return None,
            Some(hint) => hint,
            None => self.backoff(attempt),
        };
        // A wait that leaves no time for the next attempt only delays the answer.
        (wait < remaining).then_some(wait)
    }

    /// Exponential backoff with equal jitter: between half and all of
    /// `min(max_delay, base_delay * 2^(attempt-1))`.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16) -> DialError {
        DialError::Upstream {
            status,
            code: None,
            message: None,
        }
    }

    const LOTS: Duration = Duration::from_secs(60);

    #[test]
    fn backoff_doubles_within_its_jitter_and_is_capped() {
        let p = RetryPolicy::default()
            .max_attempts(10)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500));
        for _ in 0..200 {
            let w1 = p.wait_after(1, &upstream(503), None, LOTS).unwrap();
            assert!((50..=100).contains(&w1.as_millis()), "{w1:?}");
            let w2 = p.wait_after(2, &upstream(503), None, LOTS).unwrap();
            assert!((100..=200).contains(&w2.as_millis()), "{w2:?}");
            let w9 = p.wait_after(9, &upstream(503), None, LOTS).unwrap();
            assert!((250..=500).contains(&w9.as_millis()), "{w9:?}");
        }
        // The jitter really varies.
        let waits: std::collections::HashSet<_> = (0..50)
            .map(|_| p.wait_after(3, &upstream(500), None, LOTS))
            .collect();
        assert!(waits.len() > 10, "{waits:?}");
    }

    #[test]
    fn only_transient_failures_are_retried_and_only_while_attempts_remain() {
        let p = RetryPolicy::default();
        for e in [
            upstream(500),
            upstream(502),
            upstream(503),
            upstream(504),
            DialError::Timeout,
            DialError::Transport {
                message: "reset".into(),
            },
            DialError::RateLimited { retry_after: None },
        ] {
            assert!(p.wait_after(1, &e, None, LOTS).is_some(), "{e:?}");
            assert!(p.wait_after(3, &e, None, LOTS).is_none(), "{e:?}");
        }
        for e in [
            upstream(200),
            upstream(418),
            DialError::not_found("connection"),
            DialError::RejectedCredentials,
            DialError::invalid("x", "y"),
            DialError::Conflict {
                message: "c".into(),
            },
        ] {
            assert!(p.wait_after(1, &e, None, LOTS).is_none(), "{e:?}");
        }
        assert!(
            RetryPolicy::none()
                .wait_after(1, &upstream(503), None, LOTS)
                .is_none()
        );
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default().max_retry_after(Duration::from_secs(2));
        let limited = DialError::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            p.wait_after(1, &limited, Some(Duration::from_secs(1)), LOTS),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.wait_after(1, &limited, Some(Duration::from_secs(3)), LOTS),
            None
        );
    }

    #[test]
    fn no_wait_runs_past_the_deadline() {
        let p = RetryPolicy::default().base_delay(Duration::from_millis(400));
        assert_eq!(
            p.wait_after(1, &upstream(503), None, Duration::from_millis(150)),
            None
        );
        assert_eq!(
            p.wait_after(
                1,
                &upstream(503),
                Some(Duration::from_secs(1)),
                Duration::from_millis(900)
            ),
            None
        );
        assert_eq!(
            p.deadline_or(Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.deadline(Duration::from_secs(2))
                .deadline_or(Duration::from_secs(7)),
            Duration::from_secs(2)
        );
    }
}
