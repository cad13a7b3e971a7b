//! Rooms, sessions and calls in Redis, with the per-session and per-connection indexes
//! the routes read and the live-call count the dial limit reads.
//!
//! Every write that touches more than one key is one Lua script, so replicas never
//! see half of it. A call update is a compare-and-set: the state machine runs here in
//! Rust on the record read, and the script writes the result only if the record is
//! still the one read (else the update is recomputed on the newer record).

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use sipdial_core::api::change_record::TimerPlan;
use sipdial_core::api::dial_record::{keep_earlier_progress, record_dialed_separately};
use sipdial_core::api::{
    CallRecord, CallState, CallStore, CallTimers, CallUpdate, ChangeRecorded, ChangeRecording,
    DialRecorded, DialRecording, DialTicket, EventId, EventLog, MAX_ENDED_CALLS_PER_SESSION,
    ParkedEvents, StoreError, TimerOp, Updated,
};
use sipdial_core::{CallId, ConnectionId, PlatformEvent, Room, SessionId};

use crate::conn::{Redis, script, script_with};
use crate::deliveries::parked_keys;
use crate::events::RedisEventLog;
use crate::known::KnownSessions;
use crate::timers::{SCHEDULE_LIB, schedule_args};

/// Compare-and-set attempts before an update gives up (only under heavy contention on
/// one call).
const CAS_ATTEMPTS: usize = 16;

struct Scripts {
    insert_call: Script,
    record_dialed: Script,
    update_call: Script,
    session_calls: Script,
    call_by_connection: Script,
    insert_room: Script,
    release_claim: Script,
}

/// The event log, parked events and call timers of the same backend as the store, as
/// the API holds them: a dial is recorded in one script only for exactly these log and
/// parked events, and a change appends its entry in its update's script only for
/// exactly this log (a host that swapped one of them gets the separate calls, which
/// write where it asked); the dial's and the change's timers are set in those scripts
/// only for exactly these timers (else the API sets them through its own).
struct Fused {
    log: RedisEventLog,
    events: Weak<dyn EventLog>,
    parked: Weak<dyn ParkedEvents>,
    timers: Weak<dyn CallTimers>,
}

impl Fused {
    /// Whether `dial` names these parts. The weak references keep their allocations,
    /// so no other part can ever sit at the same address.
    fn serves(&self, dial: &DialRecording<'_>) -> bool {
        std::ptr::addr_eq(self.events.as_ptr(), dial.events as *const dyn EventLog)
            && std::ptr::addr_eq(self.parked.as_ptr(), dial.parked as *const dyn ParkedEvents)
    }

    /// Whether `timers` are these (the backend's own, on the same Redis).
    fn owns_timers(&self, timers: &dyn CallTimers) -> bool {
        std::ptr::addr_eq(self.timers.as_ptr(), timers as *const dyn CallTimers)
    }

    fn owns_log(&self, events: &dyn EventLog) -> bool {
        std::ptr::addr_eq(self.events.as_ptr(), events as *const dyn EventLog)
    }
}

/// What an update writes besides the record, in the same script: the stream entry (to
/// `log`) and the planned timer changes (when `plan` is set).
struct Along<'a> {
    log: &'a RedisEventLog,
    plan: Option<TimerPlan<'a>>,
}

/// The [`CallStore`] of a fleet.
#[derive(Clone)]
pub struct RedisCallStore {
    redis: Redis,
    /// The sessions (and rooms) this replica read lately: immutable once written.
    known: Arc<KnownSessions>,
    scripts: Arc<Scripts>,
    fused: Option<Arc<Fused>>,
}

impl std::fmt::Debug for RedisCallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCallStore")
            .field("redis", &self.redis)
            .finish()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn decode(json: &str) -> Result<CallRecord, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::new(format!("a stored call is unreadable: {e}")))
}

fn encode(call: &CallRecord) -> Result<String, StoreError> {
    serde_json::to_string(call)
        .map_err(|e| StoreError::new(format!("a call could not be encoded: {e}")))
}

/// `1` or `0`, as the scripts read a flag.
fn flag(on: bool) -> u8 {
    u8::from(on)
}

/// The record's id, session, connection and whether it has ended, as the scripts'
/// last arguments: they index the call by them without decoding its JSON (a decode
/// costs Redis more than the commands it saves).
fn ids(inv: &mut redis::ScriptInvocation<'_>, call: &CallRecord) {
    inv.arg(call.id.as_str())
        .arg(call.session_id.as_str())
        .arg(call.connection_id.as_str())
        .arg(flag(call.state == CallState::Ended));
}

impl RedisCallStore {
    /// Whether `session` is known here, and its room: from what this replica read in the
    /// last minute (`crate::known`), else one `GET`. `insert_room.lua` writes the
    /// session's room beside the room's session, with the same expiry; a session
    /// registered without a room holds "".
    async fn read_session(&self, session: &SessionId) -> Result<Option<Option<Room>>, StoreError> {
        if let Some(room) = self.known.get(session) {
            return Ok(Some(room));
        }
        let key = self.redis.key("session", session.as_str());
        let got: Option<String> = self
            .redis
            .query("session room", redis::cmd("GET").arg(&key))
            .await?;
        Ok(got.map(|r| {
            let room = Room::new(r).ok();
            self.known.insert(session, room.clone());
            room
        }))
    }

    pub(crate) fn new(redis: Redis) -> Self {
        Self {
            redis,
            known: Arc::default(),
            scripts: Arc::new(Scripts {
                insert_call: script(include_str!("lua/insert_call.lua")),
                // The timers' schedule composed in (their code, not the store's).
                record_dialed: script_with(&[SCHEDULE_LIB, include_str!("lua/record_dialed.lua")]),
                update_call: script_with(&[SCHEDULE_LIB, include_str!("lua/update_call.lua")]),
                session_calls: script(include_str!("lua/session_calls.lua")),
                call_by_connection: script(include_str!("lua/call_by_connection.lua")),
                insert_room: script(include_str!("lua/insert_room.lua")),
                release_claim: script(include_str!("lua/release_claim.lua")),
            }),
            fused: None,
        }
    }

    /// This store, recording dials in one script when the API's event log and parked
    /// events are exactly `events` and `parked` (the backend's own, `log` and its
    /// parked events, as the API holds them), and setting their first timers in it when
    /// the API's timers are exactly `timers`.
    pub(crate) fn fused_with(
        mut self,
        log: RedisEventLog,
        events: &Arc<dyn EventLog>,
        parked: &Arc<dyn ParkedEvents>,
        timers: &Arc<dyn CallTimers>,
    ) -> Self {
        self.fused = Some(Arc::new(Fused {
            log,
            events: Arc::downgrade(events),
            parked: Arc::downgrade(parked),
            timers: Arc::downgrade(timers),
        }));
        self
    }

    /// [`CallStore::record_dialed`] in one script: the record, its dial slot, its stream
    /// entry and its parked events. When an earlier record exists, the script answers it
    /// instead, and the merge is written only if that record is still the one read.
    async fn record_dialed_fused(
        &self,
        fused: &Fused,
        dial: DialRecording<'_>,
    ) -> Result<DialRecorded, StoreError> {
        let (by_call, by_conn) = parked_keys(&self.redis, &dial.call.id, &dial.call.connection_id);
        let mut call = dial.call.clone();
        let mut expected = String::new();
        let timer_ops = if fused.owns_timers(dial.timers) {
            dial.timer_ops
        } else {
            &[]
        };
        for _ in 0..CAS_ATTEMPTS {
            let mut inv = self.scripts.record_dialed.prepare_invoke();
            inv.arg(self.prefix())
                .arg(encode(&call)?)
                .arg(self.session_ttl())
                .arg(self.ended_ttl())
                .arg(MAX_ENDED_CALLS_PER_SESSION)
                .arg(&dial.ticket.0)
                .arg(&expected)
                .arg(self.redis.opts.stream_len)
                .arg(&by_call)
                .arg(&by_conn);
            ids(&mut inv, &call);
            schedule_args(&mut inv, timer_ops);
            let (done, text, parked, timers_set): (i64, String, Vec<String>, i64) =
                self.redis.run("record dialed call", &inv).await?;
            if done == 1 {
                fused.log.wake(&call.session_id);
                let logged = EventId::new(text)
                    .ok_or_else(|| StoreError::new("Redis issued an invalid stream id"))?;
                let parked = parked
                    .iter()
                    .filter_map(|j| PlatformEvent::from_callback_json(j.as_bytes()).ok())
                    .collect();
                let slot_freed = !dial.ticket.0.is_empty();
                let recorded = DialRecorded::new(call, slot_freed, Some(logged), parked);
                return Ok(if timers_set == 1 {
                    recorded.with_timers_set()
                } else {
                    recorded
                });
            }
            call = if text.is_empty() {
                dial.call.clone()
            } else {
                keep_earlier_progress(dial.call.clone(), decode(&text)?)
            };
            expected = text;
        }
        Err(StoreError::new("a call changed too often to record it"))
    }

    async fn insert(&self, call: CallRecord, ticket: &str) -> Result<(), StoreError> {
        let mut inv = self.scripts.insert_call.prepare_invoke();
        inv.arg(self.prefix())
            .arg(encode(&call)?)
            .arg(self.session_ttl())
            .arg(self.ended_ttl())
            .arg(MAX_ENDED_CALLS_PER_SESSION)
            .arg(ticket);
        ids(&mut inv, &call);
        let _: i64 = self.redis.run("insert call", &inv).await?;
        Ok(())
    }

    fn prefix(&self) -> &str {
        &self.redis.opts.prefix
    }

    fn session_ttl(&self) -> u64 {
        ms(self.redis.opts.session_retention)
    }

    fn ended_ttl(&self) -> u64 {
        ms(self.redis.opts.ended_retention)
    }
}

#[async_trait]
impl CallStore for RedisCallStore {
    async fn room_session(&self, room: &Room) -> Result<Option<SessionId>, StoreError> {
        let key = self.redis.key("room", room.as_str());
        let got: Option<String> = self
            .redis
            .query("room", redis::cmd("GET").arg(&key))
            .await?;
        Ok(got.and_then(|s| SessionId::new(s).ok()))
    }

    async fn insert_room_session(
        &self,
        room: &Room,
        session: &SessionId,
    ) -> Result<SessionId, StoreError> {
        let mut call = self.scripts.insert_room.prepare_invoke();
        call.arg(self.prefix())
            .arg(room.as_str())
            .arg(session.as_str())
            .arg(self.session_ttl());
        let held: String = self.redis.run("insert room", &call).await?;
        let held = SessionId::new(held)
            .map_err(|e| StoreError::new(format!("a stored session id is invalid: {e}")))?;
        self.known.insert(&held, Some(room.clone()));
        Ok(held)
    }

    async fn claim_room(
        &self,
        room: &Room,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let key = self.redis.key("roomclaim", room.as_str());
        let set: Option<String> = self
            .redis
            .query(
                "claim room",
                redis::cmd("SET")
                    .arg(&key)
                    .arg(owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms(ttl)),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn release_room(&self, room: &Room, owner: &str) -> Result<(), StoreError> {
        let mut call = self.scripts.release_claim.prepare_invoke();
        call.arg(self.prefix()).arg(room.as_str()).arg(owner);
        let _: i64 = self.redis.run("release room", &call).await?;
        Ok(())
    }

    async fn is_known_session(&self, session: &SessionId) -> Result<bool, StoreError> {
        Ok(self.read_session(session).await?.is_some())
    }

    async fn session_room(&self, session: &SessionId) -> Result<Option<Room>, StoreError> {
        Ok(self.read_session(session).await?.flatten())
    }

    async fn insert_call(&self, call: CallRecord) -> Result<(), StoreError> {
        self.insert(call, "").await
    }

    async fn insert_dialed_call(
        &self,
        call: CallRecord,
        ticket: &DialTicket,
    ) -> Result<bool, StoreError> {
        // The in-flight slot becomes the live call in one step: never counted twice. A
        // ticket of other limits (empty) is theirs to free.
        self.insert(call, &ticket.0).await?;
        Ok(!ticket.0.is_empty())
    }

    async fn record_dialed(&self, dial: DialRecording<'_>) -> Result<DialRecorded, StoreError> {
        match &self.fused {
            Some(fused) if fused.serves(&dial) => self.record_dialed_fused(fused, dial).await,
            _ => record_dialed_separately(self, dial).await,
        }
    }

    async fn register_session(&self, session: &SessionId) -> Result<bool, StoreError> {
        // Known without a room: its room's mapping (if it had one) is not in any
        // callback, so `POST /session` for that room creates a new session.
        let key = self.redis.key("session", session.as_str());
        let _: Option<String> = self
            .redis
            .query(
                "register session",
                redis::cmd("SET")
                    .arg(&key)
                    .arg("")
                    .arg("NX")
                    .arg("PX")
                    .arg(self.session_ttl()),
            )
            .await?;
        Ok(true)
    }

    async fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
        let key = self.redis.key("call", id.as_str());
        let got: Option<String> = self
            .redis
            .query("call", redis::cmd("GET").arg(&key))
            .await?;
        got.as_deref().map(decode).transpose()
    }

    async fn session_calls(
        &self,
        session: &SessionId,
        include_ended: bool,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let mut inv = self.scripts.session_calls.prepare_invoke();
        inv.arg(self.prefix()).arg(session.as_str());
        let got: Vec<Option<String>> = self.redis.run("session calls", &inv).await?;
        let mut calls = Vec::with_capacity(got.len());
        // A record that expired before its index entry is simply gone.
        for json in got.iter().flatten() {
            let call = decode(json)?;
            if include_ended || call.state != CallState::Ended {
                calls.push(call);
            }
        }
        Ok(calls)
    }

    async fn active_call_count(&self, session: &SessionId) -> Result<usize, StoreError> {
        let key = self.redis.key("active", session.as_str());
        let n: Option<i64> = self
            .redis
            .query("active", redis::cmd("GET").arg(&key))
            .await?;
        Ok(usize::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    async fn call_by_connection(
        &self,
        connection: &ConnectionId,
    ) -> Result<Option<CallRecord>, StoreError> {
        let mut inv = self.scripts.call_by_connection.prepare_invoke();
        inv.arg(self.prefix()).arg(connection.as_str());
        let got: Option<String> = self.redis.run("call by connection", &inv).await?;
        got.as_deref().map(decode).transpose()
    }

    async fn update_call(
        &self,
        id: &CallId,
        update: &CallUpdate,
    ) -> Result<Option<Updated>, StoreError> {
        Ok(self.update(id, update, None).await?.map(|(u, _)| u))
    }

    async fn record_change(
        &self,
        change: ChangeRecording<'_>,
    ) -> Result<Option<ChangeRecorded>, StoreError> {
        let Some(fused) = self.fused.as_deref().filter(|f| f.owns_log(change.events)) else {
            return Ok(self
                .update(change.id, change.update, None)
                .await?
                .map(|(u, _)| ChangeRecorded::new(u)));
        };
        let plan = fused
            .owns_timers(change.timers)
            .then_some(change.plan_timers);
        let along = Along {
            log: &fused.log,
            plan,
        };
        let Some((updated, entry)) = self.update(change.id, change.update, Some(along)).await?
        else {
            return Ok(None);
        };
        let mut recorded = ChangeRecorded::new(updated);
        if let Some(entry) = entry {
            recorded = recorded.with_logged(entry);
        }
        // Planned and set in the script when the update changed anything (an unchanged
        // call changes no timer).
        Ok(Some(if plan.is_some() {
            recorded.with_timers_set()
        } else {
            recorded
        }))
    }
}

impl RedisCallStore {
    /// [`CallStore::update_call`], writing `along` in the same script when given: the
    /// update, and its stream entry if it wrote one.
    async fn update(
        &self,
        id: &CallId,
        update: &CallUpdate,
        along: Option<Along<'_>>,
    ) -> Result<Option<(Updated, Option<EventId>)>, StoreError> {
        let key = self.redis.key("call", id.as_str());
        for _ in 0..CAS_ATTEMPTS {
            let got: Option<String> = self
                .redis
                .query("call", redis::cmd("GET").arg(&key))
                .await?;
            let Some(current_json) = got else {
                return Ok(None);
            };
            let current = decode(&current_json)?;
            let (previous, previous_outcome) = (current.state, current.outcome);
            let Some(next) = update.apply_to(&current) else {
                let unchanged = Updated {
                    call: current,
                    previous,
                    previous_outcome,
                    changed: false,
                };
                return Ok(Some((unchanged, None)));
            };
            let mut inv = self.scripts.update_call.prepare_invoke();
            inv.arg(self.prefix())
                .arg(&current_json)
                .arg(encode(&next)?)
                .arg(self.session_ttl())
                .arg(self.ended_ttl())
                .arg(MAX_ENDED_CALLS_PER_SESSION)
                .arg(next.id.as_str())
                .arg(next.session_id.as_str())
                .arg(next.connection_id.as_str())
                .arg(flag(
                    previous != CallState::Ended && next.state == CallState::Ended,
                ));
            let ops: Vec<TimerOp> = match &along {
                Some(a) => {
                    inv.arg(self.redis.opts.stream_len);
                    a.plan.map(|plan| plan(&next, previous)).unwrap_or_default()
                }
                None => {
                    inv.arg("");
                    Vec::new()
                }
            };
            schedule_args(&mut inv, &ops);
            let (written, entry): (i64, String) = self.redis.run("update call", &inv).await?;
            if written == 1 {
                let entry =
                    match &along {
                        Some(a) => {
                            a.log.wake(&next.session_id);
                            Some(EventId::new(entry).ok_or_else(|| {
                                StoreError::new("Redis issued an invalid stream id")
                            })?)
                        }
                        None => None,
                    };
                let updated = Updated {
                    call: next,
                    previous,
                    previous_outcome,
                    changed: true,
                };
                return Ok(Some((updated, entry)));
            }
        }
        Err(StoreError::new("a call changed too often to update it"))
    }
}
