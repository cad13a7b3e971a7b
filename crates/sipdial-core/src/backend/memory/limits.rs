//! The in-memory dial limits ([`InMemoryDialLimits`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory). Every limit is checked
//! and counted under one lock, so concurrent dials cannot both take a last slot.

use crate::backend::error::StoreError;
use crate::backend::limits::{
    ACTIVE_LIMIT_RETRY_AFTER, DIAL_RATE_WINDOW, DialLimits, DialPolicy, DialScope, Limit, Quota,
    Refusal, SWEEP_THRESHOLD,
};
use crate::call::ticket::DialTicket;
use crate::call::{CallRecord, CallState};
use crate::{CallId, SessionId};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct SessionLimits {
    attempts: VecDeque<Instant>,
    in_flight: usize,
}

/// The dials in the window and the calls live (or in flight) of one client, target
/// or of all.
#[derive(Debug, Default)]
struct Counter {
    attempts: VecDeque<Instant>,
    live: usize,
}

impl Counter {
    fn slide(&mut self, now: Instant) {
        while self
            .attempts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= DIAL_RATE_WINDOW)
        {
            self.attempts.pop_front();
        }
    }

    /// Whether `quota` still admits one dial (after [`Self::slide`]).
    fn check(&self, quota: Quota, calls: Limit, dials: Limit, now: Instant) -> Result<(), Refusal> {
        if self.live >= quota.max_active {
            return Err(Refusal::Over {
                limit: calls,
                retry_after: ACTIVE_LIMIT_RETRY_AFTER,
            });
        }
        if self.attempts.len() >= quota.per_minute as usize {
            return Err(Refusal::Over {
                limit: dials,
                retry_after: retry_after(&self.attempts, now),
            });
        }
        Ok(())
    }

    fn idle(&self, now: Instant) -> bool {
        self.live == 0
            && self
                .attempts
                .back()
                .is_none_or(|t| now.saturating_duration_since(*t) >= DIAL_RATE_WINDOW)
    }
}

fn retry_after(attempts: &VecDeque<Instant>, now: Instant) -> Duration {
    let oldest = attempts.front().copied().unwrap_or(now);
    DIAL_RATE_WINDOW.saturating_sub(now.saturating_duration_since(oldest))
}

/// Whom a live (or in-flight) dial's slot is held for.
#[derive(Debug, Clone)]
struct Holder {
    client: String,
    target: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<SessionId, SessionLimits>,
    clients: HashMap<String, Counter>,
    client_sessions: HashMap<String, VecDeque<Instant>>,
    targets: HashMap<String, Counter>,
    total: Counter,
    /// Admitted dials not yet recorded, by ticket.
    in_flight: HashMap<String, Holder>,
    /// Recorded calls not yet ended.
    calls: HashMap<CallId, Holder>,
    next: u64,
    /// The size past which `sessions`, `clients` and `client_sessions` are swept next.
    sweep_at: [usize; 3],
    #[cfg(test)]
    client_session_sweeps: usize,
}

impl State {
    fn free(&mut self, h: &Holder) {
        if let Some(c) = self.clients.get_mut(&h.client) {
            c.live = c.live.saturating_sub(1);
        }
        if let Some(t) = h.target.as_ref().and_then(|t| self.targets.get_mut(t)) {
            t.live = t.live.saturating_sub(1);
        }
        self.total.live = self.total.live.saturating_sub(1);
    }

    /// Drops what no longer counts. A map is swept only once it has doubled since its
    /// last sweep (and is past [`SWEEP_THRESHOLD`]): a flood of clients that all stay
    /// within the window (addresses rotated a request each) would otherwise have every
    /// dial walk the whole map, while this keeps the cost amortised constant per entry
    /// and each map within twice what the last minute holds.
    fn sweep(&mut self, now: Instant) {
        let [sessions_at, clients_at, client_sessions_at] = &mut self.sweep_at;
        #[cfg(test)]
        let before = *client_sessions_at;
        sweep_map(&mut self.sessions, sessions_at, |_, s| {
            s.in_flight > 0
                || s.attempts
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < DIAL_RATE_WINDOW)
        });
        sweep_map(&mut self.clients, clients_at, |_, c| !c.idle(now));
        sweep_map(&mut self.client_sessions, client_sessions_at, |_, a| {
            a.back()
                .is_some_and(|t| now.saturating_duration_since(*t) < DIAL_RATE_WINDOW)
        });
        #[cfg(test)]
        if self.sweep_at[2] != before {
            self.client_session_sweeps += 1;
        }
    }
}

/// Retains what `keep` picks once `map` is past `at` (and the threshold), then sets `at`
/// to twice what is left.
fn sweep_map<K, V>(map: &mut HashMap<K, V>, at: &mut usize, keep: impl FnMut(&K, &mut V) -> bool) {
    if map.len() > (*at).max(SWEEP_THRESHOLD) {
        map.retain(keep);
        *at = map.len() * 2;
    }
}

/// The default [`DialLimits`]: counters of this process.
#[derive(Debug, Default)]
pub struct InMemoryDialLimits {
    state: Mutex<State>,
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
        scope: &DialScope<'_>,
        now: Instant,
    ) -> Result<DialTicket, Refusal> {
        let mut st = crate::sync::lock(&self.state);
        let st = &mut *st;
        st.sweep(now);
        // The session's limits first: their codes are the ones a client hits alone.
        let s = st.sessions.entry(session.clone()).or_default();
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
            return Err(Refusal::RateLimited {
                retry_after: retry_after(&s.attempts, now),
            });
        }
        let client = st.clients.entry(scope.client.to_owned()).or_default();
        client.slide(now);
        client.check(policy.client, Limit::ClientCalls, Limit::ClientDials, now)?;
        if let Some((name, quota)) = scope.target {
            let t = st.targets.entry(name.to_owned()).or_default();
            t.slide(now);
            t.check(quota, Limit::TargetCalls, Limit::TargetDials, now)?;
        }
        st.total.slide(now);
        st.total
            .check(policy.total, Limit::TotalCalls, Limit::TotalDials, now)?;
        // Every limit admits: count the dial everywhere.
        let s = st.sessions.entry(session.clone()).or_default();
        s.attempts.push_back(now);
        s.in_flight += 1;
        let count = |c: &mut Counter| {
            c.attempts.push_back(now);
            c.live += 1;
        };
        if let Some(c) = st.clients.get_mut(scope.client) {
            count(c);
        }
        if let Some(t) = scope.target.and_then(|(n, _)| st.targets.get_mut(n)) {
            count(t);
        }
        count(&mut st.total);
        st.next += 1;
        let ticket = format!("m{}", st.next);
        st.in_flight.insert(
            ticket.clone(),
            Holder {
                client: scope.client.to_owned(),
                target: scope.target.map(|(n, _)| n.to_owned()),
            },
        );
        Ok(DialTicket(ticket))
    }

    fn admit_session_at(
        &self,
        client: &str,
        policy: &DialPolicy,
        now: Instant,
    ) -> Result<(), Refusal> {
        let mut st = crate::sync::lock(&self.state);
        st.sweep(now);
        let a = st.client_sessions.entry(client.to_owned()).or_default();
        while a
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= DIAL_RATE_WINDOW)
        {
            a.pop_front();
        }
        if a.len() >= policy.client_sessions_per_minute as usize {
            return Err(Refusal::Over {
                limit: Limit::ClientSessions,
                retry_after: retry_after(a, now),
            });
        }
        a.push_back(now);
        Ok(())
    }

    /// Frees the session's in-flight slot of `ticket`; its holder, if still in flight.
    fn land(&self, st: &mut State, session: &SessionId, ticket: &DialTicket) -> Option<Holder> {
        if let Some(s) = st.sessions.get_mut(session) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        st.in_flight.remove(&ticket.0)
    }
}

#[async_trait]
impl DialLimits for InMemoryDialLimits {
    async fn admit(
        &self,
        session: &SessionId,
        active: usize,
        policy: &DialPolicy,
        scope: &DialScope<'_>,
    ) -> Result<Result<DialTicket, Refusal>, StoreError> {
        Ok(self.admit_at(session, active, policy, scope, Instant::now()))
    }

    async fn release(&self, session: &SessionId, ticket: &DialTicket) -> Result<(), StoreError> {
        let mut st = crate::sync::lock(&self.state);
        if let Some(h) = self.land(&mut st, session, ticket) {
            st.free(&h);
        }
        Ok(())
    }

    async fn recorded(
        &self,
        session: &SessionId,
        ticket: &DialTicket,
        call: &CallRecord,
    ) -> Result<(), StoreError> {
        let mut st = crate::sync::lock(&self.state);
        if let Some(h) = self.land(&mut st, session, ticket) {
            if call.state == CallState::Ended {
                st.free(&h);
            } else if let Some(old) = st.calls.insert(call.id.clone(), h) {
                // Recorded twice under two tickets: one call holds one slot.
                st.free(&old);
            }
        }
        Ok(())
    }

    async fn call_ended(&self, call: &CallId) -> Result<(), StoreError> {
        let mut st = crate::sync::lock(&self.state);
        if let Some(h) = st.calls.remove(call) {
            st.free(&h);
        }
        Ok(())
    }

    async fn admit_session(
        &self,
        client: &str,
        policy: &DialPolicy,
    ) -> Result<Result<(), Refusal>, StoreError> {
        Ok(self.admit_session_at(client, policy, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::limits::*;
    use futures_util::FutureExt;
    use std::time::Duration;

    /// New sessions from 50,000 addresses within one minute (a botnet): every entry
    /// still counts, so no sweep can drop one, and the map is walked a handful of times,
    /// not once per request.
    #[test]
    fn a_flood_of_live_clients_is_not_swept_on_every_request() {
        let limits = InMemoryDialLimits::new();
        let now = Instant::now();
        let mut p = policy(3, 6);
        p.client_sessions_per_minute = 10;
        for n in 0..50_000 {
            let admitted = limits.admit_session_at(&format!("a:10.0.{n}"), &p, now);
            assert!(admitted.is_ok());
        }
        let st = crate::sync::lock(&limits.state);
        assert_eq!(st.client_sessions.len(), 50_000);
        assert!(
            st.client_session_sweeps <= 7,
            "{} sweeps",
            st.client_session_sweeps
        );
    }

    fn policy(max_active: usize, per_minute: u32) -> DialPolicy {
        DialPolicy {
            max_active,
            per_minute,
            client: Quota::UNLIMITED,
            client_sessions_per_minute: u32::MAX,
            total: Quota::UNLIMITED,
        }
    }

    const ANON: DialScope<'static> = DialScope {
        client: "u",
        target: None,
    };

    #[test]
    fn rate_window_slides_and_says_when_to_retry() {
        let l = InMemoryDialLimits::new();
        let p = policy(100, 2);
        let s = SessionId::new("1_a").unwrap();
        let t0 = Instant::now();
        let t = |secs| t0 + Duration::from_secs(secs);
        for at in [0, 10] {
            l.admit_at(&s, 0, &p, &ANON, t(at)).unwrap();
            l.release(&s, &DialTicket(String::new()))
                .now_or_never()
                .unwrap()
                .unwrap();
        }
        let e = l.admit_at(&s, 0, &p, &ANON, t(20)).unwrap_err();
        assert_eq!(
            e,
            Refusal::RateLimited {
                retry_after: Duration::from_secs(40)
            }
        );
        let e = e.into_error(&p);
        assert_eq!(e.status().as_u16(), 429);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(40)));
        assert!(l.admit_at(&s, 0, &p, &ANON, t(60)).is_ok());
        let other = SessionId::new("1_b").unwrap();
        assert!(l.admit_at(&other, 0, &p, &ANON, t(20)).is_ok());
    }

    #[test]
    fn in_flight_dials_hold_active_slots() {
        let l = InMemoryDialLimits::new();
        let p = policy(2, 100);
        let s = SessionId::new("1_a").unwrap();
        let now = Instant::now();
        let t1 = l.admit_at(&s, 1, &p, &ANON, now).unwrap();
        let e = l
            .admit_at(&s, 1, &p, &ANON, now)
            .unwrap_err()
            .into_error(&p);
        assert_eq!(e.code(), "too_many_calls");
        assert_eq!(e.retry_after(), Some(ACTIVE_LIMIT_RETRY_AFTER));
        l.release(&s, &t1).now_or_never().unwrap().unwrap();
        assert!(l.admit_at(&s, 1, &p, &ANON, now).is_ok());
    }

    fn record(id: &str, session: &SessionId, state: CallState) -> CallRecord {
        let mut r: CallRecord = serde_json::from_value(serde_json::json!({
            "id": id, "sessionId": session.as_str(), "connectionId": format!("c-{id}"),
            "state": "dialing", "createdAt": 0,
            "updatedAt": 0
        }))
        .unwrap();
        r.state = state;
        r
    }

    #[test]
    fn client_and_total_limits_hold_across_sessions_until_calls_end() {
        let l = InMemoryDialLimits::new();
        let mut p = policy(100, 100);
        p.client = Quota {
            max_active: 2,
            per_minute: 100,
        };
        p.total.max_active = 2;
        let now = Instant::now();
        let sessions: Vec<_> = (0..4)
            .map(|i| SessionId::new(format!("1_s{i}")).unwrap())
            .collect();
        let alice = DialScope {
            client: "s:alice",
            target: None,
        };
        let bob = DialScope {
            client: "s:bob",
            target: None,
        };
        let t0 = l.admit_at(&sessions[0], 0, &p, &alice, now).unwrap();
        let t1 = l.admit_at(&sessions[1], 0, &p, &alice, now).unwrap();
        let e = l.admit_at(&sessions[2], 0, &p, &alice, now).unwrap_err();
        assert_eq!(e.into_error(&p).code(), "client_too_many_calls");
        // Recorded, the calls still hold the client's slots; a failed dial frees its.
        let call = record("CA1", &sessions[0], CallState::Dialing);
        l.recorded(&sessions[0], &t0, &call)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert!(l.admit_at(&sessions[2], 0, &p, &alice, now).is_err());
        l.release(&sessions[1], &t1)
            .now_or_never()
            .unwrap()
            .unwrap();
        let t2 = l.admit_at(&sessions[2], 0, &p, &alice, now).unwrap();
        // Two live in total: another client is refused by the total.
        let e = l.admit_at(&sessions[3], 0, &p, &bob, now).unwrap_err();
        let e = e.into_error(&p);
        assert_eq!(e.code(), "total_too_many_calls");
        // A call recorded ended frees at once; an end frees a live call, once.
        let ended = record("CA2", &sessions[2], CallState::Ended);
        l.recorded(&sessions[2], &t2, &ended)
            .now_or_never()
            .unwrap()
            .unwrap();
        l.admit_at(&sessions[3], 0, &p, &bob, now).unwrap();
        assert!(l.admit_at(&sessions[3], 0, &p, &bob, now).is_err());
        for _ in 0..2 {
            l.call_ended(&call.id).now_or_never().unwrap().unwrap();
        }
        // One slot freed, not two.
        assert!(l.admit_at(&sessions[3], 0, &p, &bob, now).is_ok());
        assert!(l.admit_at(&sessions[3], 0, &p, &bob, now).is_err());
    }

    #[test]
    fn rates_per_client_target_and_total_slide() {
        let l = InMemoryDialLimits::new();
        let mut p = policy(100, 100);
        p.client.per_minute = 2;
        p.total.per_minute = 3;
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let s = |i: u32| SessionId::new(format!("1_r{i}")).unwrap();
        let a = DialScope {
            client: "a:192.0.2.1",
            target: None,
        };
        let b = DialScope {
            client: "a:192.0.2.2",
            target: None,
        };
        l.admit_at(&s(0), 0, &p, &a, at(0)).unwrap();
        l.admit_at(&s(1), 0, &p, &a, at(10)).unwrap();
        let e = l.admit_at(&s(2), 0, &p, &a, at(20)).unwrap_err();
        assert_eq!(
            e,
            Refusal::Over {
                limit: Limit::ClientDials,
                retry_after: Duration::from_secs(40)
            }
        );
        assert_eq!(e.into_error(&p).code(), "client_dial_rate_limited");
        l.admit_at(&s(3), 0, &p, &b, at(20)).unwrap();
        let e = l.admit_at(&s(4), 0, &p, &b, at(30)).unwrap_err();
        assert_eq!(e.into_error(&p).code(), "total_dial_rate_limited");
        assert_eq!(
            e.into_error(&p).retry_after(),
            Some(Duration::from_secs(30))
        );
        assert!(l.admit_at(&s(4), 0, &p, &b, at(60)).is_ok());

        let l = InMemoryDialLimits::new();
        let p = policy(100, 100);
        let pbx = DialScope {
            client: "u",
            target: Some((
                "pbx",
                Quota {
                    max_active: 100,
                    per_minute: 1,
                },
            )),
        };
        l.admit_at(&s(0), 0, &p, &pbx, at(0)).unwrap();
        let e = l.admit_at(&s(1), 0, &p, &pbx, at(1)).unwrap_err();
        assert_eq!(e.into_error(&p).code(), "target_dial_rate_limited");
        let other = DialScope {
            client: "u",
            target: Some(("desk", Quota::UNLIMITED)),
        };
        assert!(l.admit_at(&s(1), 0, &p, &other, at(1)).is_ok());
    }

    #[test]
    fn new_sessions_per_client_slide() {
        let l = InMemoryDialLimits::new();
        let mut p = policy(1, 1);
        p.client_sessions_per_minute = 2;
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        l.admit_session_at("u", &p, at(0)).unwrap();
        l.admit_session_at("u", &p, at(5)).unwrap();
        let e = l
            .admit_session_at("u", &p, at(6))
            .unwrap_err()
            .into_error(&p);
        assert_eq!(e.code(), "client_session_rate_limited");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(54)));
        assert!(l.admit_session_at("s:carol", &p, at(6)).is_ok());
        assert!(l.admit_session_at("u", &p, at(60)).is_ok());
    }
}
