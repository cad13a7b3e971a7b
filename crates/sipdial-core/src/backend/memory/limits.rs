//! The in-memory the dial limits ([`InMemoryDialLimits`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::SessionId;
use crate::backend::error::StoreError;
use crate::backend::limits::{DIAL_RATE_WINDOW, DialLimits, DialPolicy, Refusal, SWEEP_THRESHOLD};
use crate::call::ticket::DialTicket;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Default)]
struct SessionLimits {
    attempts: VecDeque<Instant>,
    in_flight: usize,
}

/// The default [`DialLimits`]: counters of this process.
#[derive(Debug, Default)]
pub struct InMemoryDialLimits {
    sessions: Mutex<HashMap<SessionId, SessionLimits>>,
}

impl InMemoryDialLimits {
    /// No dials counted.
    pub fn new() -> Self {
        Self::default()
    }

    fn admit_at(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
        now: Instant,
    ) -> Result<DialTicket, Refusal> {
        let mut map = crate::sync::lock(&self.sessions);
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
        if active + s.in_flight >= policy.max_active {
            return Err(Refusal::TooManyCalls {
                active: active + s.in_flight,
            });
        }
        if s.attempts.len() >= policy.per_minute as usize {
            let oldest = s.attempts.front().copied().unwrap_or(now);
            return Err(Refusal::RateLimited {
                retry_after: DIAL_RATE_WINDOW.saturating_sub(now.saturating_duration_since(oldest)),
            });
        }
        s.attempts.push_back(now);
        s.in_flight += 1;
        Ok(DialTicket(String::new()))
    }
}

#[async_trait]
impl DialLimits for InMemoryDialLimits {
    async fn admit(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
    ) -> Result<Result<DialTicket, Refusal>, StoreError> {
        Ok(self.admit_at(session, active, policy, Instant::now()))
    }

    async fn release(&self, session: &SessionId, _ticket: &DialTicket) -> Result<(), StoreError> {
        let mut map = crate::sync::lock(&self.sessions);
        if let Some(s) = map.get_mut(session) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::limits::*;
    use futures_util::FutureExt;
    use std::time::Duration;

    fn policy(max_active: usize, per_minute: u32) -> DialPolicy {
        DialPolicy {
            max_active,
            per_minute,
        }
    }

    #[test]
    fn rate_window_slides_and_says_when_to_retry() {
        let l = InMemoryDialLimits::new();
        let p = policy(100, 2);
        let s = SessionId::new("1_a").unwrap();
        let t0 = Instant::now();
        let t = |secs| t0 + Duration::from_secs(secs);
        for at in [0, 10] {
            l.admit_at(&s, 0, &p, t(at)).unwrap();
            l.release(&s, &DialTicket(String::new()))
                .now_or_never()
                .unwrap()
                .unwrap();
        }
        let e = l.admit_at(&s, 0, &p, t(20)).unwrap_err();
        assert_eq!(
            e,
            Refusal::RateLimited {
                retry_after: Duration::from_secs(40)
            }
        );
        let e = e.into_error(&p);
        assert_eq!(e.status().as_u16(), 429);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(40)));
        assert!(l.admit_at(&s, 0, &p, t(60)).is_ok());
        let other = SessionId::new("1_b").unwrap();
        assert!(l.admit_at(&other, 0, &p, t(20)).is_ok());
    }

    #[test]
    fn in_flight_dials_hold_active_slots() {
        let l = InMemoryDialLimits::new();
        let p = policy(2, 100);
        let s = SessionId::new("1_a").unwrap();
        let now = Instant::now();
        let t1 = l.admit_at(&s, 1, &p, now).unwrap();
        let e = l.admit_at(&s, 1, &p, now).unwrap_err().into_error(&p);
        assert_eq!(e.code(), "too_many_calls");
        assert_eq!(e.retry_after(), Some(ACTIVE_LIMIT_RETRY_AFTER));
        l.release(&s, &t1).now_or_never().unwrap().unwrap();
        assert!(l.admit_at(&s, 1, &p, now).is_ok());
    }
}
