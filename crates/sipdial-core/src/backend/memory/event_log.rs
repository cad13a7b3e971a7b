//! The in-memory the event log ([`InMemoryEventLog`]): one process's, the default of
//! [`Backend::in_memory`](crate::backend::Backend::in_memory).

use crate::SessionId;
use crate::backend::error::StoreError;
use crate::backend::event_log::{
    EventId, EventListener, EventLog, Listeners, LoggedEvent, MAX_CHANNELS, Since,
};
use crate::call::CallRecord;
use crate::sync::lock;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Debug)]
struct Channel {
    seq: u64,
    buffer: VecDeque<(u64, Bytes)>,
}

impl Channel {
    fn new() -> Self {
        // Ids start at the current time in milliseconds, so a client resuming with an
        // id from a previous process (or a forgotten channel) falls outside the buffer
        // and gets a snapshot instead of a wrong replay.
        Self {
            seq: crate::Timestamp::now().as_millis(),
            buffer: VecDeque::new(),
        }
    }

    fn since(&self, last: u64) -> Since {
        let id = |n: u64| EventId(n.to_string());
        if last == self.seq {
            return Since::Entries(Vec::new(), id(last));
        }
        let contiguous = last < self.seq
            && self
                .buffer
                .front()
                .is_some_and(|(first, _)| *first <= last + 1);
        if !contiguous {
            return Since::Lagged;
        }
        let entries = self
            .buffer
            .iter()
            .filter(|(n, _)| *n > last)
            .map(|(n, data)| LoggedEvent {
                id: id(*n),
                data: data.clone(),
            })
            .collect();
        Since::Entries(entries, id(self.seq))
    }
}

/// The default [`EventLog`]: the last `replay` changes of each session, in this
/// process; ids are increasing numbers.
#[derive(Debug)]
pub struct InMemoryEventLog {
    channels: Mutex<HashMap<SessionId, Channel>>,
    listeners: Listeners,
    replay: usize,
}

impl InMemoryEventLog {
    /// A log keeping `replay` changes per session (at least one).
    pub fn new(replay: usize) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            listeners: Listeners::new(),
            replay: replay.max(1),
        }
    }

    fn with_channel<T>(&self, session: &SessionId, f: impl FnOnce(&mut Channel) -> T) -> T {
        let mut map = lock(&self.channels);
        if map.len() >= MAX_CHANNELS && !map.contains_key(session) {
            let listeners = &self.listeners;
            map.retain(|s, _| listeners.count(s) > 0);
        }
        f(map.entry(session.clone()).or_insert_with(Channel::new))
    }
}

#[async_trait]
impl EventLog for InMemoryEventLog {
    async fn append(&self, call: &CallRecord) -> Result<EventId, StoreError> {
        let data = serde_json::to_vec(call)
            .map_err(|e| StoreError::new(format!("a call could not be encoded: {e}")))?;
        let seq = self.with_channel(&call.session_id, |ch| {
            ch.seq += 1;
            ch.buffer.push_back((ch.seq, Bytes::from(data)));
            while ch.buffer.len() > self.replay {
                ch.buffer.pop_front();
            }
            ch.seq
        });
        self.listeners.wake(&call.session_id);
        Ok(EventId(seq.to_string()))
    }

    async fn position(&self, session: &SessionId) -> Result<EventId, StoreError> {
        Ok(EventId(self.with_channel(session, |ch| ch.seq).to_string()))
    }

    async fn since(&self, session: &SessionId, after: &EventId) -> Result<Since, StoreError> {
        let Ok(last) = after.as_str().parse::<u64>() else {
            return Ok(Since::Lagged);
        };
        Ok(self.with_channel(session, |ch| ch.since(last)))
    }

    fn listen(&self, session: &SessionId) -> EventListener {
        self.listeners.listen(session)
    }

    fn listeners(&self, session: &SessionId) -> usize {
        self.listeners.count(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::event_log::*;
    use crate::call::CallState;
    use crate::{CallId, ConnectionId, Timestamp};
    use futures_util::FutureExt;

    fn call(n: u32) -> CallRecord {
        CallRecord {
            state: CallState::Ringing,
            ..CallRecord::new(
                CallId::new(format!("c{n}")).unwrap(),
                SessionId::new("1_s").unwrap(),
                ConnectionId::new(format!("k{n}")).unwrap(),
                Timestamp::from_millis(1),
            )
        }
    }

    fn since(log: &InMemoryEventLog, n: u64) -> Since {
        let s = SessionId::new("1_s").unwrap();
        let id = EventId::new(n.to_string()).unwrap();
        log.since(&s, &id).now_or_never().unwrap().unwrap()
    }

    #[test]
    fn replays_only_what_the_buffer_still_holds() {
        let log = InMemoryEventLog::new(3);
        let s = SessionId::new("1_s").unwrap();
        let start: u64 = log
            .position(&s)
            .now_or_never()
            .unwrap()
            .unwrap()
            .as_str()
            .parse()
            .unwrap();
        assert_eq!(
            since(&log, start),
            Since::Entries(vec![], EventId(start.to_string()))
        );
        for n in 0..5 {
            log.append(&call(n)).now_or_never().unwrap().unwrap();
        }
        // The last three are buffered: resuming after start+2 replays 3, 4 and 5 ...
        let Since::Entries(entries, last) = since(&log, start + 2) else {
            panic!("lagged")
        };
        assert_eq!(last.as_str(), (start + 5).to_string());
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].id.as_str(), (start + 3).to_string());
        // ... but not after start+1 (entry start+2 is gone), nor an id never issued.
        assert_eq!(since(&log, start + 1), Since::Lagged);
        assert_eq!(since(&log, start + 6), Since::Lagged);
        assert_eq!(since(&log, 3), Since::Lagged);
    }
}
