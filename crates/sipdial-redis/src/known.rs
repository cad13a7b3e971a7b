//! Sessions this replica read from Redis in the last minute, with their rooms.
//!
//! A session's room never changes once written (`insert_room.lua` writes both at once,
//! and nothing rewrites them), so a replica may keep what it read: a token, a call read
//! or an authorizer's room then costs no round trip for a session it has seen. Only
//! sessions found are kept (an unknown one is asked again each time, so a session
//! created on another replica is seen at once). The minute bounds how long a session
//! that Redis has lost since (expired, or a Redis restarted empty) still reads as
//! known here: tokens for it are still for a session the platform has.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sipdial_core::{Room, SessionId};

/// How long a session read from Redis is believed.
const KEEP_FOR: Duration = Duration::from_secs(60);

/// Most sessions kept; beyond it the stale go, and if none is stale, all.
const CAPACITY: usize = 10_000;

/// What a replica read of its sessions lately: the room, or none for a session
/// registered without one (by a signed callback after Redis lost it).
#[derive(Debug, Default)]
pub(crate) struct KnownSessions {
    sessions: Mutex<HashMap<SessionId, (Instant, Option<Room>)>>,
}

impl KnownSessions {
    /// `Some(room)` when `session` was read in the last minute.
    pub(crate) fn get(&self, session: &SessionId) -> Option<Option<Room>> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let (at, room) = sessions.get(session)?;
        (at.elapsed() < KEEP_FOR).then(|| room.clone())
    }

    /// Keeps `session` (found in Redis) with its `room`.
    pub(crate) fn insert(&self, session: &SessionId, room: Option<Room>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if sessions.len() >= CAPACITY && !sessions.contains_key(session) {
            sessions.retain(|_, (at, _)| at.elapsed() < KEEP_FOR);
            if sessions.len() >= CAPACITY {
                sessions.clear();
            }
        }
        sessions.insert(session.clone(), (Instant::now(), room));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_sessions_are_kept_with_their_room_and_bounded() {
        let known = KnownSessions::default();
        let s = |n: usize| SessionId::new(format!("1_s{n}")).unwrap();
        assert_eq!(known.get(&s(0)), None);
        known.insert(&s(0), Some(Room::new("lobby").unwrap()));
        known.insert(&s(1), None);
        assert_eq!(known.get(&s(0)), Some(Some(Room::new("lobby").unwrap())));
        assert_eq!(known.get(&s(1)), Some(None));
        for n in 2..CAPACITY + 10 {
            known.insert(&s(n), None);
        }
        assert!(known.sessions.lock().unwrap().len() <= CAPACITY);
    }
}
