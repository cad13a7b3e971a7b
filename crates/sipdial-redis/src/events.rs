//! Live call events of a fleet: every change is appended to its session's Redis
//! Stream (bounded with `MAXLEN ~`), the stream entry id is the SSE `id`, and each
//! replica tails the streams its own subscribers watch (`XREAD BLOCK` on a connection
//! of its own) and wakes them locally.
//!
//! A subscriber reads the entries after the last id it sent (`XRANGE`), so a client
//! resuming with `Last-Event-ID` on any replica gets what it missed, or a snapshot
//! when the stream no longer holds it (trimmed past it, expired, or Redis restarted).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::ConnectionManager;
use redis::{Script, Value};
use sipdial_core::SessionId;
use sipdial_core::api::{
    CallRecord, EventId, EventListener, EventLog, Listeners, LoggedEvent, Since, StoreError,
};

use crate::conn::{Redis, script};

/// How long one `XREAD` blocks: a session that gains its first subscriber is tailed
/// from the next round on (its subscriber has read the stream itself meanwhile).
const BLOCK: Duration = Duration::from_millis(500);
/// Pause after a failed round (Redis away), before trying again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

struct Inner {
    redis: Redis,
    listeners: Listeners,
    append: Script,
    since: Script,
    woken: tokio::sync::Notify,
}

/// The [`EventLog`] of a fleet.
#[derive(Clone)]
pub struct RedisEventLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEventLog").finish_non_exhaustive()
    }
}

/// A stream entry id, `ms-seq`, as two numbers for comparing.
fn order(id: &str) -> Option<(u64, u64)> {
    let (a, b) = id.split_once('-').unwrap_or((id, "0"));
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

/// `[[id, [field, value, ...]], ...]` as logged events.
fn entries(v: &Value) -> Vec<LoggedEvent> {
    items(v)
        .iter()
        .filter_map(|e| {
            let parts = items(e);
            let id = EventId::new(text(parts.first()?)?)?;
            let fields = items(parts.get(1)?);
            let data = fields
                .chunks(2)
                .find(|kv| kv.first().and_then(text).as_deref() == Some("call"))
                .and_then(|kv| kv.get(1).and_then(text))?;
            Some(LoggedEvent {
                id,
                data: Bytes::from(data),
            })
        })
        .collect()
}

impl RedisEventLog {
    /// A log over `redis`, tailed on `tail` (a connection of its own: `XREAD BLOCK`
    /// would hold up every command behind it on a shared one).
    pub(crate) fn new(redis: Redis, tail: ConnectionManager) -> Self {
        let inner = Arc::new(Inner {
            redis,
            listeners: Listeners::new(),
            append: script(include_str!("lua/append_event.lua")),
            since: script(include_str!("lua/events_since.lua")),
            woken: tokio::sync::Notify::new(),
        });
        tokio::spawn(tail_streams(Arc::downgrade(&inner), tail));
        Self { inner }
    }

    /// Wakes this replica's subscribers of `session` after an entry was appended on
    /// the log's behalf (by the store's dial script).
    pub(crate) fn wake(&self, session: &SessionId) {
        self.inner.listeners.wake(session);
    }
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn append(&self, call: &CallRecord) -> Result<EventId, StoreError> {
        let r = &self.inner.redis;
        let json = serde_json::to_string(call)
            .map_err(|e| StoreError::new(format!("a call could not be encoded: {e}")))?;
        let mut inv = self.inner.append.prepare_invoke();
        inv.arg(&r.opts.prefix)
            .arg(call.session_id.as_str())
            .arg(r.opts.stream_len)
            .arg(u64::try_from(r.opts.session_retention.as_millis()).unwrap_or(u64::MAX))
            .arg(json);
        let id: String = r.run("append event", &inv).await?;
        self.inner.listeners.wake(&call.session_id);
        EventId::new(id).ok_or_else(|| StoreError::new("Redis issued an invalid stream id"))
    }

    async fn position(&self, session: &SessionId) -> Result<EventId, StoreError> {
        let r = &self.inner.redis;
        let key = r.key("events", session.as_str());
        let last: Value = r
            .query(
                "position",
                redis::cmd("XREVRANGE")
                    .arg(&key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        let id = entries(&last)
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_owned(), |e| e.id.as_str().to_owned());
        EventId::new(id).ok_or_else(|| StoreError::new("Redis issued an invalid stream id"))
    }

    async fn since(&self, session: &SessionId, after: &EventId) -> Result<Since, StoreError> {
        let Some(after_order) = order(after.as_str()) else {
            return Ok(Since::Lagged);
        };
        let r = &self.inner.redis;
        let mut inv = self.inner.since.prepare_invoke();
        inv.arg(&r.opts.prefix)
            .arg(session.as_str())
            .arg(format!("{}-{}", after_order.0, after_order.1))
            .arg(r.opts.stream_len + 1);
        let got: Value = r.run("events since", &inv).await?;
        let parts = items(&got);
        let exists = matches!(parts.first(), Some(Value::Int(1)));
        if !exists {
            // Never written, expired, or Redis started over.
            return Ok(if after_order == (0, 0) {
                Since::Entries(Vec::new(), after.clone())
            } else {
                Since::Lagged
            });
        }
        let max_deleted = parts.get(1).and_then(text).and_then(|s| order(&s));
        let last = parts.get(2).and_then(text).and_then(|s| order(&s));
        let (Some(max_deleted), Some(last)) = (max_deleted, last) else {
            return Err(StoreError::new("unexpected XINFO answer"));
        };
        // Resumable only from an entry still in the stream (or from the start of a
        // stream never trimmed): an id never issued here, or entries after it trimmed
        // away, start over.
        let held = matches!(parts.get(4), Some(Value::Int(1)));
        let from_start = after_order == (0, 0) && max_deleted == (0, 0);
        if after_order > last || max_deleted > after_order || !(held || from_start) {
            return Ok(Since::Lagged);
        }
        let found = parts.get(3).map(entries).unwrap_or_default();
        let through = found.last().map_or_else(|| after.clone(), |e| e.id.clone());
        Ok(Since::Entries(found, through))
    }

    fn listen(&self, session: &SessionId) -> EventListener {
        let listener = self.inner.listeners.listen(session);
        self.inner.woken.notify_one();
        listener
    }

    fn listeners(&self, session: &SessionId) -> usize {
        self.inner.listeners.count(session)
    }
}

/// The tailer: one per replica, alive as long as its log. Each round it `XREAD`s every
/// watched session's stream from where it last saw it and wakes that session's local
/// subscribers when something was appended (by any replica).
async fn tail_streams(log: Weak<Inner>, mut conn: ConnectionManager) {
    let mut cursors: HashMap<SessionId, String> = HashMap::new();
    loop {
        let Some(inner) = log.upgrade() else {
            return;
        };
        // A set: `retain` below asks it once per cursor, which over a list would be
        // quadratic in the streams watched (up to the thousands an SSE bound allows).
        let watched: HashSet<SessionId> = inner.listeners.watched().into_iter().collect();
        if watched.is_empty() {
            cursors.clear();
            // Holds the log for at most a second, then re-checks whether it is gone.
            let _ = tokio::time::timeout(Duration::from_secs(1), inner.woken.notified()).await;
            continue;
        }
        cursors.retain(|s, _| watched.contains(s));
        for s in &watched {
            if !cursors.contains_key(s) {
                // Start at the stream's end and wake the session once: its subscribers
                // read whatever came before themselves.
                let pos = EventLog::position(
                    &RedisEventLog {
                        inner: Arc::clone(&inner),
                    },
                    s,
                )
                .await;
                let Ok(pos) = pos else { continue };
                cursors.insert(s.clone(), pos.as_str().to_owned());
                inner.listeners.wake(s);
            }
        }
        let prefix = inner.redis.key("events", "");
        let timeout = inner.redis.opts.command_timeout + BLOCK;
        drop(inner);
        if cursors.is_empty() {
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(256)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS");
        let order: Vec<(&SessionId, &String)> = cursors.iter().collect();
        for (s, _) in &order {
            cmd.arg(format!("{prefix}{s}"));
        }
        for (_, id) in &order {
            cmd.arg(id.as_str());
        }
        let read = tokio::time::timeout(timeout, cmd.query_async::<Value>(&mut conn)).await;
        let Some(inner) = log.upgrade() else {
            return;
        };
        match read {
            Ok(Ok(reply)) => {
                for (key, found) in streams(&reply) {
                    let Some(session) = key
                        .strip_prefix(&prefix)
                        .and_then(|s| SessionId::new(s).ok())
                    else {
                        continue;
                    };
                    if let Some(last) = found.last() {
                        cursors.insert(session.clone(), last.id.as_str().to_owned());
                        inner.listeners.wake(&session);
                    }
                }
            }
            _ => {
                // Redis away: wake everyone so their streams notice (and close, and
                // their clients reconnect once Redis is back).
                tracing::debug!("tailing the event streams failed; retrying");
                cursors.clear();
                for s in &watched {
                    inner.listeners.wake(s);
                }
                drop(inner);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// An `XREAD` reply as (stream key, entries); RESP2 (array of pairs) or RESP3 (map).
fn streams(reply: &Value) -> Vec<(String, Vec<LoggedEvent>)> {
    match reply {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, entries(v))))
            .collect(),
        other => items(other)
            .iter()
            .filter_map(|s| {
                let kv = items(s);
                Some((text(kv.first()?)?, entries(kv.get(1)?)))
            })
            .collect(),
    }
}
