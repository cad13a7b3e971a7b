//! Per-session dial limits: at most N calls active at once and at most M dial attempts
//! in any sliding minute. Both answer 429 with `Retry-After`.
//!
//! Toll fraud is paid per minute of call, so the limits count attempts, not successes,
//! and a dial in flight holds a slot until it is recorded (or failed): two concurrent
//! requests cannot both take the last slot. The counters live in this process; several
//! instances behind one store each enforce their own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::SessionId;
use crate::api::ApiError;

/// Default most calls active at once in one session.
pub const DEFAULT_MAX_ACTIVE_CALLS: usize = 3;
/// Default most dial attempts per session in a sliding minute.
pub const DEFAULT_DIALS_PER_MINUTE: u32 = 6;
/// The sliding window of the dial rate.
pub const DIAL_RATE_WINDOW: Duration = Duration::from_secs(60);
/// `Retry-After` when the active-call limit is hit: a slot frees only when a call
/// ends, which nobody can predict; this is a polling hint.
pub const ACTIVE_LIMIT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Sessions tracked before idle ones are swept.
const SWEEP_THRESHOLD: usize = 1024;

#[derive(Debug, Default)]
struct SessionLimits {
    attempts: VecDeque<Instant>,
    in_flight: usize,
}

/// The limiter shared by every request of one API.
#[derive(Debug)]
pub(crate) struct DialLimiter {
    max_active: usize,
    per_minute: u32,
    sessions: Mutex<HashMap<SessionId, SessionLimits>>,
}

/// A reserved dial slot; releases itself when dropped.
#[derive(Debug)]
pub(crate) struct DialPermit {
    limiter: Arc<DialLimiter>,
    session: SessionId,
}

impl Drop for DialPermit {
    fn drop(&mut self) {
        let mut map = self.limiter.lock();
        if let Some(s) = map.get_mut(&self.session) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }
}

impl DialLimiter {
    pub(crate) fn new(max_active: usize, per_minute: u32) -> Self {
        Self {
            max_active,
            per_minute,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, SessionLimits>> {
        crate::sync::lock(&self.sessions)
    }

    /// Admits one dial into `session`, which has `active` calls recorded as not ended,
    /// or says how long to wait.
    pub(crate) fn admit(
        self: &Arc<Self>,
        session: &SessionId,
        active: usize,
        now: Instant,
    ) -> Result<DialPermit, ApiError> {
        let mut map = self.lock();
        if map.len() > SWEEP_THRESHOLD {
            map.retain(|_, s| {
                s.in_flight > 0
                    || s.attempts
                        .back()
                        .is_some_and(|t| now.saturating_duration_since(*t) < DIAL_RATE_WINDOW)
            });
        }
        let s = map.entry(session.clone()).or_default();
        while s
            .attempts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= DIAL_RATE_WINDOW)
        {
            s.attempts.pop_front();
        }
        if active + s.in_flight >= self.max_active {
            return Err(ApiError::too_many(
                "too_many_calls",
                format!(
                    "this session already has {} active calls (at most {})",
                    active + s.in_flight,
                    self.max_active
                ),
                ACTIVE_LIMIT_RETRY_AFTER,
            ));
        }
        if s.attempts.len() >= self.per_minute as usize {
            let oldest = s.attempts.front().copied().unwrap_or(now);
            let wait = DIAL_RATE_WINDOW.saturating_sub(now.saturating_duration_since(oldest));
            return Err(ApiError::too_many(
                "dial_rate_limited",
                format!(
                    "at most {} dials per minute in one session",
                    self.per_minute
                ),
                wait,
            ));
        }
        s.attempts.push_back(now);
        s.in_flight += 1;
        Ok(DialPermit {
            limiter: Arc::clone(self),
            session: session.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window_slides_and_says_when_to_retry() {
        let l = Arc::new(DialLimiter::new(100, 2));
        let s = SessionId::new("1_a").unwrap();
        let t0 = Instant::now();
        drop(l.admit(&s, 0, t0).unwrap());
        drop(l.admit(&s, 0, t0 + Duration::from_secs(10)).unwrap());
        let e = l.admit(&s, 0, t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(e.status().as_u16(), 429);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(40)));
        assert!(l.admit(&s, 0, t0 + Duration::from_secs(60)).is_ok());
        let other = SessionId::new("1_b").unwrap();
        assert!(l.admit(&other, 0, t0 + Duration::from_secs(20)).is_ok());
    }

    #[test]
    fn in_flight_dials_hold_active_slots() {
        let l = Arc::new(DialLimiter::new(2, 100));
        let s = SessionId::new("1_a").unwrap();
        let now = Instant::now();
        let p1 = l.admit(&s, 1, now).unwrap();
        let e = l.admit(&s, 1, now).unwrap_err();
        assert_eq!(e.code(), "too_many_calls");
        assert_eq!(e.retry_after(), Some(ACTIVE_LIMIT_RETRY_AFTER));
        drop(p1);
        assert!(l.admit(&s, 1, now).is_ok());
    }
}
