//! The default [`CallStore`]: one process's memory, with the indexes every route reads
//! (rooms, a session's calls, calls by connection, a live-call count per session).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::backend::store::{CallStore, StoreError, Updated};
use crate::call::transition::CallUpdate;
use crate::call::{CallRecord, CallState};
use crate::{CallId, ConnectionId, Room, SessionId};

/// Ended calls kept per session in memory; older ones are forgotten.
pub const MAX_ENDED_CALLS_PER_SESSION: usize = 100;

/// Sessions (with their rooms and calls) kept in memory. Anyone who may create a
/// session can name new rooms without end; beyond this the least recently used session
/// without a call in progress is forgotten, room, calls and all (a later request for
/// its room creates a new session). Sessions with calls in progress are never evicted:
/// those are bounded by the dial limits. A session in use (read, dialled, its room
/// asked for) moves to the back, so a flood of new rooms pushes out idle ones, not the
/// ones people are using.
pub const MAX_SESSIONS_IN_MEMORY: usize = 10_000;

/// The default [`CallStore`]: process memory, lost on restart, at most
/// [`MAX_SESSIONS_IN_MEMORY`] sessions.
#[derive(Debug)]
pub struct InMemoryCallStore {
    state: Mutex<MemState>,
}

impl Default for InMemoryCallStore {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Default)]
struct MemState {
    rooms: HashMap<Room, SessionId>,
    /// Known sessions, with their room unless registered without one.
    sessions: HashMap<SessionId, Option<Room>>,
    calls: HashMap<CallId, CallRecord>,
    by_session: HashMap<SessionId, VecDeque<CallId>>,
    by_connection: HashMap<ConnectionId, CallId>,
    /// Calls not ended, per session (no entry for zero): the dial limit reads this on
    /// every dial, so it must not cost a pass over the session's calls.
    active: HashMap<SessionId, usize>,
    /// Sessions by last use, least recent first, each with the use it records; an
    /// entry whose use is not the session's latest (`last_use`) is stale and skipped.
    order: VecDeque<(SessionId, u64)>,
    /// Each known session's latest use.
    last_use: HashMap<SessionId, u64>,
    /// Uses so far (the clock of `order`).
    uses: u64,
    /// [`MAX_SESSIONS_IN_MEMORY`], smaller in tests.
    max_sessions: usize,
}

impl InMemoryCallStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_max_sessions(MAX_SESSIONS_IN_MEMORY)
    }

    fn with_max_sessions(max_sessions: usize) -> Self {
        Self {
            state: Mutex::new(MemState {
                max_sessions,
                ..MemState::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemState> {
        crate::sync::lock(&self.state)
    }
}

impl MemState {
    /// Records a new session (with its room) and evicts beyond the bound.
    fn add_session(&mut self, session: &SessionId, room: Option<&Room>) {
        if let Some(room) = room {
            self.rooms.insert(room.clone(), session.clone());
        }
        self.sessions.insert(session.clone(), room.cloned());
        self.touch(session);
        self.evict();
    }

    /// Marks `session` (if known) as just used.
    fn touch(&mut self, session: &SessionId) {
        if !self.sessions.contains_key(session) {
            return;
        }
        self.uses += 1;
        self.last_use.insert(session.clone(), self.uses);
        self.order.push_back((session.clone(), self.uses));
        // Stale entries are dropped once they outnumber the live ones.
        if self.order.len() > 2 * self.sessions.len() + 16 {
            let last_use = &self.last_use;
            self.order
                .retain(|(s, n)| last_use.get(s).is_some_and(|latest| latest == n));
        }
    }

    /// Forgets the oldest sessions without a call in progress while there are more
    /// than the bound.
    fn evict(&mut self) {
        let mut skipped = 0;
        let before = self.sessions.len();
        while self.sessions.len() > self.max_sessions.max(1) && skipped < self.order.len() {
            let Some((oldest, used)) = self.order.pop_front() else {
                break;
            };
            if self.last_use.get(&oldest) != Some(&used) {
                continue; // used again since: a later entry stands for it
            }
            if self.active.contains_key(&oldest) {
                // A call in progress keeps its session: look at the next one.
                self.order.push_back((oldest, used));
                skipped += 1;
                continue;
            }
            self.last_use.remove(&oldest);
            if let Some(Some(room)) = self.sessions.remove(&oldest)
                && self.rooms.get(&room) == Some(&oldest)
            {
                self.rooms.remove(&room);
            }
            for id in self.by_session.remove(&oldest).unwrap_or_default() {
                if let Some(old) = self.calls.remove(&id) {
                    self.by_connection.remove(&old.connection_id);
                }
            }
        }
        crate::shrink::deque(&mut self.order);
        if self.sessions.len() < before {
            crate::shrink::hash_map(&mut self.sessions);
            crate::shrink::hash_map(&mut self.rooms);
            crate::shrink::hash_map(&mut self.by_session);
            crate::shrink::hash_map(&mut self.calls);
            crate::shrink::hash_map(&mut self.by_connection);
            crate::shrink::hash_map(&mut self.last_use);
        }
    }

    /// Counts a call of `session` in or out of the not-ended tally.
    fn count_active(&mut self, session: &SessionId, live: bool) {
        if live {
            *self.active.entry(session.clone()).or_default() += 1;
        } else if let Some(n) = self.active.get_mut(session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.active.remove(session);
            }
        }
    }

    /// Drops the oldest ended calls of `session` beyond the retention cap.
    fn trim_ended(&mut self, session: &SessionId) {
        let Some(ids) = self.by_session.get_mut(session) else {
            return;
        };
        let ended = ids
            .iter()
            .filter(|id| {
                self.calls
                    .get(*id)
                    .is_some_and(|c| c.state == CallState::Ended)
            })
            .count();
        let mut excess = ended.saturating_sub(MAX_ENDED_CALLS_PER_SESSION);
        if excess == 0 {
            return;
        }
        let calls = &mut self.calls;
        let by_connection = &mut self.by_connection;
        ids.retain(|id| {
            if excess > 0 && calls.get(id).is_some_and(|c| c.state == CallState::Ended) {
                if let Some(old) = calls.remove(id) {
                    by_connection.remove(&old.connection_id);
                }
                excess -= 1;
                false
            } else {
                true
            }
        });
        crate::shrink::deque(ids);
        crate::shrink::hash_map(calls);
        crate::shrink::hash_map(by_connection);
    }
}

#[async_trait]
impl CallStore for InMemoryCallStore {
    async fn room_session(&self, room: &Room) -> Result<Option<SessionId>, StoreError> {
        let mut st = self.lock();
        let session = st.rooms.get(room).cloned();
        if let Some(s) = &session {
            st.touch(s);
        }
        Ok(session)
    }

    async fn insert_room_session(
        &self,
        room: &Room,
        session: &SessionId,
    ) -> Result<SessionId, StoreError> {
        let mut st = self.lock();
        if let Some(existing) = st.rooms.get(room) {
            return Ok(existing.clone());
        }
        st.add_session(session, Some(room));
        Ok(session.clone())
    }

    async fn is_known_session(&self, session: &SessionId) -> Result<bool, StoreError> {
        let mut st = self.lock();
        st.touch(session);
        Ok(st.sessions.contains_key(session))
    }

    async fn session_room(&self, session: &SessionId) -> Result<Option<Room>, StoreError> {
        Ok(self.lock().sessions.get(session).cloned().flatten())
    }

    async fn register_session(&self, session: &SessionId) -> Result<bool, StoreError> {
        let mut st = self.lock();
        if st.sessions.contains_key(session) {
            st.touch(session);
        } else {
            st.add_session(session, None);
        }
        Ok(true)
    }

    async fn insert_call(&self, call: CallRecord) -> Result<(), StoreError> {
        let mut st = self.lock();
        if let Some(old) = st.calls.remove(&call.id) {
            st.by_connection.remove(&old.connection_id);
            if old.state != CallState::Ended {
                st.count_active(&old.session_id, false);
            }
            if let Some(ids) = st.by_session.get_mut(&old.session_id) {
                ids.retain(|id| *id != call.id);
            }
        }
        st.by_connection
            .insert(call.connection_id.clone(), call.id.clone());
        st.by_session
            .entry(call.session_id.clone())
            .or_default()
            .push_back(call.id.clone());
        if call.state != CallState::Ended {
            st.count_active(&call.session_id, true);
        }
        st.calls.insert(call.id.clone(), call);
        Ok(())
    }

    async fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
        Ok(self.lock().calls.get(id).cloned())
    }

    async fn session_calls(
        &self,
        session: &SessionId,
        include_ended: bool,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let st = self.lock();
        let Some(ids) = st.by_session.get(session) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| st.calls.get(id))
            .filter(|c| include_ended || c.state != CallState::Ended)
            .cloned()
            .collect())
    }

    async fn active_call_count(&self, session: &SessionId) -> Result<usize, StoreError> {
        Ok(self.lock().active.get(session).copied().unwrap_or(0))
    }

    async fn call_by_connection(
        &self,
        connection: &ConnectionId,
    ) -> Result<Option<CallRecord>, StoreError> {
        let st = self.lock();
        Ok(st
            .by_connection
            .get(connection)
            .and_then(|id| st.calls.get(id))
            .cloned())
    }

    async fn update_call(
        &self,
        id: &CallId,
        update: &CallUpdate,
    ) -> Result<Option<Updated>, StoreError> {
        let mut st = self.lock();
        let Some(call) = st.calls.get_mut(id) else {
            return Ok(None);
        };
        let (previous, previous_outcome) = (call.state, call.outcome);
        let Some(next) = update.apply_to(call) else {
            return Ok(Some(Updated {
                call: call.clone(),
                previous,
                previous_outcome,
                changed: false,
            }));
        };
        *call = next.clone();
        let (was_live, live) = (previous != CallState::Ended, next.state != CallState::Ended);
        if was_live != live {
            st.count_active(&next.session_id, live);
        }
        if next.state == CallState::Ended {
            st.trim_ended(&next.session_id);
        }
        Ok(Some(Updated {
            call: next,
            previous,
            previous_outcome,
            changed: true,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::transition::CallChange;
    use crate::{StreamId, Timestamp};
    use futures_util::FutureExt;

    fn now<F: std::future::Future>(f: F) -> F::Output {
        f.now_or_never().expect("the in-memory store never waits")
    }

    fn call(id: &str, session: &SessionId) -> CallRecord {
        CallRecord {
            target: Some("support".into()),
            stream_id: Some(StreamId::new(format!("s-{id}")).unwrap()),
            ..CallRecord::new(
                CallId::new(id).unwrap(),
                session.clone(),
                ConnectionId::new(format!("c-{id}")).unwrap(),
                Timestamp::from_millis(1),
            )
        }
    }

    /// Rooms and sessions are bounded: beyond the bound the oldest session without a
    /// call in progress goes, with its room and calls; one with a live call stays.
    #[test]
    fn sessions_are_bounded_and_the_oldest_idle_one_is_evicted() {
        let store = InMemoryCallStore::with_max_sessions(3);
        let sid = |i: usize| SessionId::new(format!("1_s{i}")).unwrap();
        let room = |i: usize| Room::new(format!("r{i}")).unwrap();
        now(store.insert_room_session(&room(0), &sid(0))).unwrap();
        // Session 0 has a call in progress, session 1 only an ended one.
        now(store.insert_call(call("live", &sid(0)))).unwrap();
        now(store.insert_room_session(&room(1), &sid(1))).unwrap();
        let mut ended = call("done", &sid(1));
        ended.state = CallState::Ended;
        now(store.insert_call(ended)).unwrap();
        for i in 2..50 {
            now(store.insert_room_session(&room(i), &sid(i))).unwrap();
            now(store.register_session(&SessionId::new(format!("1_x{i}")).unwrap())).unwrap();
        }
        let st = store.lock();
        assert_eq!(st.sessions.len(), 3, "{:?}", st.sessions.keys());
        assert!(st.rooms.len() <= 3);
        assert!(st.order.len() <= 3);
        // The live call's session survived; the idle ones went with their calls.
        assert!(st.sessions.contains_key(&sid(0)));
        assert!(st.calls.contains_key(&CallId::new("live").unwrap()));
        assert!(!st.sessions.contains_key(&sid(1)));
        assert!(!st.calls.contains_key(&CallId::new("done").unwrap()));
        assert!(
            !st.by_connection
                .contains_key(&ConnectionId::new("c-done").unwrap())
        );
        assert!(!st.rooms.contains_key(&room(1)));
        drop(st);
        // A forgotten room is created anew on its next request.
        assert_eq!(now(store.room_session(&room(1))).unwrap(), None);

        // A session in use is not the one pushed out by new rooms.
        let store = InMemoryCallStore::with_max_sessions(3);
        now(store.insert_room_session(&room(0), &sid(0))).unwrap();
        for i in 1..100 {
            assert!(
                now(store.is_known_session(&sid(0))).unwrap(),
                "used, then evicted at {i}"
            );
            now(store.insert_room_session(&room(i), &sid(i))).unwrap();
        }
        let st = store.lock();
        assert_eq!(st.sessions.len(), 3);
        assert!(st.order.len() <= 2 * 3 + 17, "{}", st.order.len());
    }

    #[test]
    fn active_count_follows_inserts_replacements_and_endings() {
        let store = InMemoryCallStore::new();
        let s = SessionId::new("1_a").unwrap();
        now(store.insert_call(call("k1", &s))).unwrap();
        now(store.insert_call(call("k2", &s))).unwrap();
        now(store.insert_call(call("k1", &s))).unwrap();
        assert_eq!(now(store.active_call_count(&s)).unwrap(), 2);
        let k1 = CallId::new("k1").unwrap();
        for _ in 0..2 {
            now(store.update_state(&k1, CallState::Ended, Timestamp::from_millis(5))).unwrap();
            assert_eq!(now(store.active_call_count(&s)).unwrap(), 1);
        }
        let mut ended = call("k3", &s);
        ended.state = CallState::Ended;
        now(store.insert_call(ended)).unwrap();
        now(store.insert_call(call("k2", &s))).unwrap();
        assert_eq!(now(store.active_call_count(&s)).unwrap(), 1);
        let other = SessionId::new("1_b").unwrap();
        assert_eq!(now(store.active_call_count(&other)).unwrap(), 0);
    }

    #[test]
    fn first_room_mapping_wins() {
        let store = InMemoryCallStore::new();
        let room = Room::new("r1").unwrap();
        let a = SessionId::new("1_a").unwrap();
        let b = SessionId::new("1_b").unwrap();
        assert_eq!(now(store.insert_room_session(&room, &a)).unwrap(), a);
        assert_eq!(now(store.insert_room_session(&room, &b)).unwrap(), a);
        assert!(now(store.is_known_session(&a)).unwrap());
        assert!(!now(store.is_known_session(&b)).unwrap());
        // The reverse lookup the authorizer's room comes from.
        assert_eq!(now(store.session_room(&a)).unwrap(), Some(room));
        assert_eq!(now(store.session_room(&b)).unwrap(), None);
        now(store.register_session(&b)).unwrap();
        assert_eq!(now(store.session_room(&b)).unwrap(), None);
    }

    #[test]
    fn ended_is_terminal_and_listed_only_on_request() {
        let store = InMemoryCallStore::new();
        let s = SessionId::new("1_a").unwrap();
        now(store.insert_call(call("k1", &s))).unwrap();
        now(store.insert_call(call("k2", &s))).unwrap();
        let id = CallId::new("k1").unwrap();
        let ended = now(store.update_state(&id, CallState::Ended, Timestamp::from_millis(5)))
            .unwrap()
            .unwrap();
        assert_eq!(ended.ended_at, Some(Timestamp::from_millis(5)));
        let again = now(store.update_state(&id, CallState::Active, Timestamp::from_millis(9)))
            .unwrap()
            .unwrap();
        assert_eq!(again.state, CallState::Ended);
        assert_eq!(again.ended_at, Some(Timestamp::from_millis(5)));
        assert_eq!(now(store.session_calls(&s, false)).unwrap().len(), 1);
        assert_eq!(now(store.active_call_count(&s)).unwrap(), 1);
        assert_eq!(now(store.session_calls(&s, true)).unwrap().len(), 2);
    }

    #[test]
    fn ended_calls_are_capped_per_session() {
        let store = InMemoryCallStore::new();
        let s = SessionId::new("1_a").unwrap();
        for i in 0..MAX_ENDED_CALLS_PER_SESSION + 5 {
            let c = call(&format!("k{i}"), &s);
            let id = c.id.clone();
            now(store.insert_call(c)).unwrap();
            now(store.update_state(&id, CallState::Ended, Timestamp::from_millis(2))).unwrap();
        }
        now(store.insert_call(call("live", &s))).unwrap();
        let all = now(store.session_calls(&s, true)).unwrap();
        assert_eq!(all.len(), MAX_ENDED_CALLS_PER_SESSION + 1);
        assert_eq!(all[0].id.as_str(), "k5");
        assert!(
            now(store.call(&CallId::new("k0").unwrap()))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn calls_are_found_by_connection_until_forgotten() {
        let store = InMemoryCallStore::new();
        let s = SessionId::new("1_a").unwrap();
        now(store.insert_call(call("k1", &s))).unwrap();
        let conn = ConnectionId::new("c-k1").unwrap();
        let found = now(store.call_by_connection(&conn)).unwrap().unwrap();
        assert_eq!(found.id.as_str(), "k1");
        // Re-inserting under another connection moves the index.
        let mut moved = call("k1", &s);
        moved.connection_id = ConnectionId::new("c-other").unwrap();
        now(store.insert_call(moved)).unwrap();
        assert!(now(store.call_by_connection(&conn)).unwrap().is_none());
        // Trimmed ended calls leave the index too.
        for i in 0..MAX_ENDED_CALLS_PER_SESSION + 1 {
            let c = call(&format!("t{i}"), &s);
            let id = c.id.clone();
            now(store.insert_call(c)).unwrap();
            now(store.update_state(&id, CallState::Ended, Timestamp::from_millis(2))).unwrap();
        }
        let first = ConnectionId::new("c-t0").unwrap();
        assert!(now(store.call_by_connection(&first)).unwrap().is_none());
        let last = ConnectionId::new(format!("c-t{MAX_ENDED_CALLS_PER_SESSION}")).unwrap();
        assert!(now(store.call_by_connection(&last)).unwrap().is_some());
    }

    #[test]
    fn update_call_reports_unchanged_updates() {
        let store = InMemoryCallStore::new();
        let s = SessionId::new("1_a").unwrap();
        now(store.insert_call(call("k1", &s))).unwrap();
        let id = CallId::new("k1").unwrap();
        let ring = CallUpdate::new(
            CallChange::State(CallState::Ringing),
            Timestamp::from_millis(3),
        );
        let first = now(store.update_call(&id, &ring)).unwrap().unwrap();
        assert!(first.changed);
        assert_eq!(first.previous, CallState::Dialing);
        let again = now(store.update_call(&id, &ring)).unwrap().unwrap();
        assert!(!again.changed);
        assert_eq!(again.call.state, CallState::Ringing);
        let unknown = CallId::new("nope").unwrap();
        assert!(now(store.update_call(&unknown, &ring)).unwrap().is_none());
    }
}
