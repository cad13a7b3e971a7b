//! Which REST calls are retried, and how long to wait between attempts.
//!
//! Only calls whose repetition cannot change the outcome are retried: hanging up a
//! connection (`DELETE`), force-muting a stream (muting a muted stream is a no-op) and
//! listing streams (`GET`). Creating a session, dialing and playing DTMF are never
//! retried: a lost answer does not mean the platform did nothing, and a second attempt
//! would make a second session, place (and bill) a second call, or play the digits
//! twice.
//!
//! A retry happens only after a transient failure
//! ([`DialError::is_transient`](sipdial_core::DialError::is_transient): a connection that
//! could not be made or broke, a timeout, a 5xx, a 429). The wait grows exponentially
//! with "equal jitter" (half fixed, half random; `backon` draws it) so that many clients
//! failing together do not retry together; a `Retry-After` from the platform is honoured
//! when it is no longer than [`RetryPolicy::max_retry_after`], and a longer one ends the
//! retries at once (the caller is told how long to wait instead). Every attempt and every
//! wait fits in one total deadline, by default the dialer's request timeout, so a caller
//! never waits longer for a retried call than for a single one.

use std::time::Duration;

use backon::ExponentialBuilder;

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

    /// The backoff between attempts: exponential with "equal jitter", between half and
    /// all of `min(max_delay, base_delay * 2^(retry-1))` (backon adds up to as much
    /// again to a half-size delay), one delay per retry, so `max_attempts - 1` of them.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay.min(self.max_delay) / 2)
            .with_max_delay(self.max_delay / 2)
            .with_factor(2.0)
            .with_max_times(usize::try_from(self.max_attempts - 1).unwrap_or(usize::MAX))
            .with_jitter()
    }

    /// The wait before the next attempt, or `None` when the failure must reach the
    /// caller now: `backoff` is the next backoff delay (`None` once the attempts are
    /// used up), `retry_after` the platform's hint (which replaces the backoff up to
    /// [`RetryPolicy::max_retry_after`]), `remaining` the time left before the deadline.
    pub(crate) fn wait(
        &self,
        backoff: Option<Duration>,
        retry_after: Option<Duration>,
        remaining: Duration,
    ) -> Option<Duration> {
        let wait = match (backoff?, retry_after) {
            (_, Some(hint)) if hint > self.max_retry_after => return None,
            (_, Some(hint)) => hint,
            (backoff, None) => backoff,
        };
        // A wait that leaves no time for the next attempt only delays the answer.
        (wait < remaining).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use backon::BackoffBuilder as _;

    use super::*;

    const LOTS: Duration = Duration::from_secs(60);

    fn delays(p: &RetryPolicy) -> Vec<Duration> {
        p.backoff().build().collect()
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_is_capped() {
        let p = RetryPolicy::default()
            .max_attempts(10)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500));
        for _ in 0..200 {
            let d = delays(&p);
            assert_eq!(d.len(), 9, "one delay per retry");
            assert!((50..=100).contains(&d[0].as_millis()), "{d:?}");
            assert!((100..=200).contains(&d[1].as_millis()), "{d:?}");
            assert!((250..=500).contains(&d[8].as_millis()), "{d:?}");
        }
        // The jitter really varies.
        let waits: std::collections::HashSet<_> = (0..50).map(|_| delays(&p)[2]).collect();
        assert!(waits.len() > 10, "{waits:?}");
        // A base above the cap starts at the cap.
        let d = delays(&RetryPolicy::default().base_delay(Duration::from_secs(5)));
        assert!(
            d.iter().all(|d| (500..=1000).contains(&d.as_millis())),
            "{d:?}"
        );
    }

    #[test]
    fn attempts_bound_the_retries() {
        assert_eq!(delays(&RetryPolicy::default()).len(), 2);
        assert!(delays(&RetryPolicy::none()).is_empty());
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
        let p = RetryPolicy::default();
        assert_eq!(p.wait(None, None, LOTS), None, "attempts used up");
        assert_eq!(
            p.wait(None, Some(Duration::from_millis(1)), LOTS),
            None,
            "a Retry-After adds no attempt"
        );
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_the_cap() {
        let p = RetryPolicy::default().max_retry_after(Duration::from_secs(2));
        let backoff = Some(Duration::from_millis(100));
        assert_eq!(
            p.wait(backoff, Some(Duration::from_secs(1)), LOTS),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p.wait(backoff, Some(Duration::from_secs(3)), LOTS), None);
        assert_eq!(p.wait(backoff, None, LOTS), backoff);
    }

    #[test]
    fn no_wait_runs_past_the_deadline() {
        let p = RetryPolicy::default();
        let ms = Duration::from_millis;
        assert_eq!(p.wait(Some(ms(400)), None, ms(150)), None);
        assert_eq!(p.wait(Some(ms(100)), Some(ms(1000)), ms(900)), None);
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
