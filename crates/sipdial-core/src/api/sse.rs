//! Server-Sent Events of call changes, per session: the frames, a bounded replay
//! buffer for `Last-Event-ID`, and the subscriber's stream with heartbeats.
//!
//! Each session has one channel: an increasing sequence number, the last frames (each
//! rendered once, shared by every subscriber), and a `watch` that wakes subscribers.
//! A subscriber reads the frames after the last one it sent; one that fell behind the
//! buffer gets a fresh snapshot instead. Dropping the stream (the client went away)
//! drops its `watch` receiver, so the subscriber count is exact at all times.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{Either, select};
use tokio::sync::watch;

use crate::SessionId;
use crate::api::lifecycle::Lifecycle;
use crate::api::store::CallRecord;
use crate::body::ResponseBody;
use crate::sync::lock;

/// Default interval of silence after which a `: heartbeat` comment is sent.
pub const DEFAULT_SSE_HEARTBEAT: Duration = Duration::from_secs(15);
/// Default number of call events kept per session for `Last-Event-ID` resumption.
pub const DEFAULT_SSE_REPLAY: usize = 256;
/// Session channels kept at most; idle ones (no subscriber) beyond it are forgotten,
/// and their clients resume with a snapshot.
const MAX_CHANNELS: usize = 1024;

const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// One SSE frame.
fn frame(event: &str, id: u64, data: &str) -> Bytes {
    Bytes::from(format!("event: {event}\nid: {id}\ndata: {data}\n\n"))
}

/// The `snapshot` frame: `{"calls":[...]}`.
pub(crate) fn snapshot_frame(id: u64, calls: &[CallRecord]) -> Bytes {
    let data = serde_json::to_string(&serde_json::json!({ "calls": calls }))
        .unwrap_or_else(|_| r#"{"calls":[]}"#.to_owned());
    frame("snapshot", id, &data)
}

/// A subscriber asked for frames older than the buffer holds.
#[derive(Debug)]
pub(crate) struct Lagged;

#[derive(Debug)]
struct ChannelState {
    seq: u64,
    buffer: VecDeque<(u64, Bytes)>,
}

/// One session's channel.
#[derive(Debug)]
pub(crate) struct Channel {
    state: Mutex<ChannelState>,
    notify: watch::Sender<u64>,
    replay: usize,
}

impl Channel {
    fn new(replay: usize) -> Self {
        // Ids start at the current time in milliseconds, so a client resuming with an
        // id from a previous process (or a forgotten channel) falls outside the buffer
        // and gets a snapshot instead of a wrong replay.
        let start = crate::Timestamp::now().as_millis();
        Self {
            state: Mutex::new(ChannelState {
                seq: start,
                buffer: VecDeque::new(),
            }),
            notify: watch::Sender::new(start),
            replay: replay.max(1),
        }
    }

    /// The id of the last frame published.
    pub(crate) fn seq(&self) -> u64 {
        lock(&self.state).seq
    }

    fn publish(&self, call: &CallRecord) {
        let data = match serde_json::to_string(call) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "a call could not be encoded for SSE");
                return;
            }
        };
        let seq = {
            let mut st = lock(&self.state);
            st.seq += 1;
            let seq = st.seq;
            st.buffer.push_back((seq, frame("call", seq, &data)));
            while st.buffer.len() > self.replay {
                st.buffer.pop_front();
            }
            seq
        };
        self.notify.send_replace(seq);
    }

    /// The frames after `last` (empty when up to date), or [`Lagged`] when some of
    /// them are no longer buffered (or `last` was never issued here).
    pub(crate) fn frames_after(&self, last: u64) -> Result<(Vec<Bytes>, u64), Lagged> {
        let st = lock(&self.state);
        if last == st.seq {
            return Ok((Vec::new(), last));
        }
        let contiguous = last < st.seq
            && st
                .buffer
                .front()
                .is_some_and(|(first, _)| *first <= last + 1);
        if !contiguous {
            return Err(Lagged);
        }
        let frames = st
            .buffer
            .iter()
            .filter(|(id, _)| *id > last)
            .map(|(_, f)| f.clone())
            .collect();
        Ok((frames, st.seq))
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }
}

/// Every session's channel.
#[derive(Debug)]
pub(crate) struct Hub {
    channels: Mutex<HashMap<SessionId, Arc<Channel>>>,
    replay: usize,
    pub(crate) heartbeat: Duration,
}

impl Hub {
    pub(crate) fn new(replay: usize, heartbeat: Duration) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            replay,
            heartbeat,
        }
    }

    /// The channel of `session`, created on first use.
    pub(crate) fn channel(&self, session: &SessionId) -> Arc<Channel> {
        let mut channels = lock(&self.channels);
        if let Some(c) = channels.get(session) {
            return Arc::clone(c);
        }
        if channels.len() >= MAX_CHANNELS {
            channels.retain(|_, c| c.notify.receiver_count() > 0);
        }
        let c = Arc::new(Channel::new(self.replay));
        channels.insert(session.clone(), Arc::clone(&c));
        c
    }

    /// Sends `call` to every subscriber of its session (and into the replay buffer).
    pub(crate) fn publish(&self, call: &CallRecord) {
        self.channel(&call.session_id).publish(call);
    }

    /// Open streams of `session`.
    pub(crate) fn subscribers(&self, session: &SessionId) -> usize {
        lock(&self.channels)
            .get(session)
            .map_or(0, |c| c.notify.receiver_count())
    }
}

/// A subscriber's position.
struct Subscriber {
    lifecycle: Arc<Lifecycle>,
    session: SessionId,
    channel: Arc<Channel>,
    rx: watch::Receiver<u64>,
    last: u64,
    pending: VecDeque<Bytes>,
    heartbeat: Duration,
}

impl Subscriber {
    /// The next chunk: a queued frame, new frames, a snapshot after falling behind, or
    /// a heartbeat after `heartbeat` of silence. `None` ends the body.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Some(f);
            }
            match self.channel.frames_after(self.last) {
                Ok((frames, seq)) if !frames.is_empty() => {
                    self.pending.extend(frames);
                    self.last = seq;
                    continue;
                }
                Ok(_) => {}
                Err(Lagged) => match self.lifecycle.snapshot(&self.session).await {
                    Ok((snapshot, seq)) => {
                        self.pending.push_back(snapshot);
                        self.last = seq;
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "SSE snapshot failed; closing the stream");
                        return None;
                    }
                },
            }
            let changed = std::pin::pin!(self.rx.changed());
            let silence = std::pin::pin!(tokio::time::sleep(self.heartbeat));
            match select(changed, silence).await {
                Either::Left((Ok(()), _)) => continue,
                // The channel is gone: end the body, the client reconnects.
                Either::Left((Err(_), _)) => return None,
                Either::Right(_) => return Some(Bytes::from_static(HEARTBEAT)),
            }
        }
    }
}

/// The body of one subscription: `initial` frames first, then every frame after
/// `last`, with heartbeats.
pub(crate) fn stream_body(
    lifecycle: Arc<Lifecycle>,
    session: SessionId,
    channel: Arc<Channel>,
    rx: watch::Receiver<u64>,
    initial: Vec<Bytes>,
    last: u64,
) -> ResponseBody {
    let heartbeat = lifecycle.heartbeat();
    let sub = Subscriber {
        lifecycle,
        session,
        channel,
        rx,
        last,
        pending: initial.into(),
        heartbeat,
    };
    ResponseBody::stream(futures_util::stream::unfold(sub, |mut sub| async move {
        sub.next().await.map(|chunk| (chunk, sub))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::store::CallState;
    use crate::{CallId, ConnectionId, Timestamp};

    fn call(n: u32) -> CallRecord {
        CallRecord {
            id: CallId::new(format!("c{n}")).unwrap(),
            session_id: SessionId::new("1_s").unwrap(),
            target: None,
            connection_id: ConnectionId::new(format!("k{n}")).unwrap(),
            stream_id: None,
            state: CallState::Ringing,
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(1),
            ended_at: None,
            end_reason: None,
            sip_code: None,
        }
    }

    #[test]
    fn replays_only_what_the_buffer_still_holds() {
        let c = Channel::new(3);
        let start = c.seq();
        assert_eq!(c.frames_after(start).unwrap().0.len(), 0);
        for n in 0..5 {
            c.publish(&call(n));
        }
        assert_eq!(c.seq(), start + 5);
        // The last three are buffered: resuming after start+2 replays 3 and 4 ...
        let (frames, seq) = c.frames_after(start + 2).unwrap();
        assert_eq!(seq, start + 5);
        assert_eq!(frames.len(), 3);
        let text = String::from_utf8(frames[0].to_vec()).unwrap();
        assert!(
            text.starts_with(&format!("event: call\nid: {}\ndata: {{", start + 3)),
            "{text}"
        );
        assert!(text.ends_with("}\n\n"));
        // ... but not after start+1 (frame start+2 is gone), nor an id never issued.
        assert!(c.frames_after(start + 1).is_err());
        assert!(c.frames_after(start + 6).is_err());
        assert!(c.frames_after(3).is_err());
    }

    #[test]
    fn idle_channels_are_forgotten_beyond_the_cap() {
        let hub = Hub::new(4, DEFAULT_SSE_HEARTBEAT);
        let watched = SessionId::new("1_watched").unwrap();
        let rx = hub.channel(&watched).subscribe();
        for i in 0..MAX_CHANNELS + 1 {
            hub.channel(&SessionId::new(format!("1_s{i}")).unwrap());
        }
        assert!(lock(&hub.channels).len() <= MAX_CHANNELS);
        assert_eq!(hub.subscribers(&watched), 1);
        drop(rx);
        assert_eq!(hub.subscribers(&watched), 0);
    }
}
