//! What one dial costs in Redis round trips, counted with `MONITOR` on the test's own
//! redis-server: the admit script (which checks the session too) and the dial script
//! (record, dial slot, stream entry, parked events, and the call's first timers: its
//! expiry, and its ring timeout when one is set), nothing else. A change that adds a
//! round trip to the dial path fails here.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sipdial_core::SessionId;
use sipdial_core::api::{Backend, EventLog, InMemoryEventLog};
use sipdial_redis::RedisBackend;
use sipdial_testing::{FakePlatform, MediaMode};
use support::replica::{Replica, api};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Round trips of one dial: the admit script and the dial script, which also arms the
/// call's timers (it was 5 before the dial script, 6 with unknown calls recorded, and 3
/// while the timers had a script of their own).
const DIAL_ROUND_TRIPS: usize = 2;

/// Commands the scripts of one dial run inside Redis (each costs redis-server about
/// 1-2 µs over its own work), for a dial whose target has limits of its own. The
/// session's share is 20: admit 8 (MGET, TIME, ZCARD x2, ZADD x2, PEXPIRE x2), record
/// 12 (SET NX, SET, INCR x2, ZADD, ZREM, TIME, PTTL, XADD, PEXPIRE, EXISTS, and the
/// timer's ZADD). Each limit scope beyond it (#21: the client, the fleet, the target)
/// adds 7: admit checks and counts its live set and its rate window (ZCARD x2, ZADD x2,
/// PEXPIRE x2) and the record moves the live slot's lapse to the call's (ZADD XX). The
/// slots' holder adds 6 (HSET, PEXPIRE; HMGET, RENAME, HSET, PEXPIRE). It was 65
/// before #24's last pass: lapsed members were dropped on every dial (a
/// ZREMRANGEBYSCORE per set), the slots moved from the ticket to the call id (ZREM,
/// ZADD, PTTL, PEXPIRE per scope) and the record script read the clock twice.
const DIAL_SCRIPT_COMMANDS: usize = 47;

/// A `MONITOR` connection: every command any client sends, as Redis saw it.
struct Monitor {
    lines: tokio::io::Lines<BufReader<TcpStream>>,
    port: u16,
}

impl Monitor {
    async fn start(port: u16) -> Self {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        conn.write_all(b"MONITOR\r\n").await.unwrap();
        let mut lines = BufReader::new(conn).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("+OK"));
        Self { lines, port }
    }

    /// Sends `ECHO marker` from a connection of its own and reads the monitor up to
    /// it: the commands seen before, script-internal ones (`[0 lua]`) left out.
    async fn until_marker(&mut self, marker: &str) -> Vec<String> {
        let (sent, _) = self.until_marker_all(marker).await;
        sent
    }

    /// [`Self::until_marker`], and the commands the scripts ran (`[0 lua]`).
    async fn until_marker_all(&mut self, marker: &str) -> (Vec<String>, Vec<String>) {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let cmd = format!("*2\r\n$4\r\nECHO\r\n${}\r\n{marker}\r\n", marker.len());
        conn.write_all(cmd.as_bytes()).await.unwrap();
        let mut seen = Vec::new();
        let mut scripted = Vec::new();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
                .await
                .expect("the monitor answers")
                .unwrap()
                .expect("the monitor stays open");
            if line.contains(&format!("\"{marker}\"")) {
                return (seen, scripted);
            }
            if line.contains(" lua]") {
                scripted.push(line);
            } else {
                seen.push(line);
            }
        }
    }
}

/// The command name of a `MONITOR` line (`+1700000000.1 [0 127.0.0.1:5] "EVALSHA" ...`).
fn command(line: &str) -> &str {
    line.split('"').nth(1).unwrap_or(line)
}

/// What an `Idempotency-Key` adds to Redis per dial: its claim before the call is
/// placed and its answer kept after (one script each); a replay is the claim's script
/// alone (none on the replica that answered). The dial's answer waits on the claim only: the answer is kept after it left
/// (`a_keyed_dial_answers_before_its_answer_is_kept` in sipdial-core's `http_backend`).
const KEY_SCRIPTS: usize = 2;

async fn session(replica: &Replica) -> String {
    let res = replica.post("/session", json!({ "room": "count" })).await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json().unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn dial(replica: &Replica, session: &str) -> serde_json::Value {
    let res = replica.post("/dial", json!({ "sessionId": session })).await;
    assert_eq!(res.status, 201, "{}", res.text());
    res.json().unwrap()
}

/// A replica whose timer poller claims once a minute, so its claims do not fall between
/// a test's markers.
async fn quiet_replica(platform: &FakePlatform, backend: RedisBackend) -> Replica {
    Replica::axum(
        "A",
        support::replica::api_with(&platform.url(), Backend::from(backend), |b| {
            b.timer_poll_interval(Duration::from_secs(60))
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_costs_two_scripts_one_on_the_answers_path() {
    use http::{HeaderName, HeaderValue};
    use sipdial_core::testing::TestRequest;
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    platform.clear_call_script();
    let prefix = support::fresh_prefix();
    let backend = support::backend(&redis.url(), &prefix).await;
    let replica = quiet_replica(&platform, backend).await;
    let session = session(&replica).await;
    let keyed = |key: &'static str| {
        TestRequest::post("/sip/dial")
            .json(&json!({ "sessionId": session }))
            .header(
                HeaderName::from_static("idempotency-key"),
                HeaderValue::from_static(key),
            )
    };
    // Loads every script.
    assert_eq!(replica.send(keyed("warm-up")).await.status, 201);

    let mut monitor = Monitor::start(redis.port).await;
    monitor.until_marker("sipdial-before").await;
    assert_eq!(replica.send(keyed("k-1")).await.status, 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = monitor.until_marker("sipdial-after").await;
    assert_eq!(
        seen.len(),
        DIAL_ROUND_TRIPS + KEY_SCRIPTS,
        "a keyed dial: {seen:#?}"
    );
    monitor.until_marker("sipdial-before-replay").await;
    let replay = replica.send(keyed("k-1")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = monitor.until_marker("sipdial-after-replay").await;
    // On the replica that answered first it comes from the answers it gave in the last
    // minute; on another replica it is the claim's script alone (one round trip).
    assert_eq!(seen.len(), 0, "a replay on the same replica: {seen:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dial_costs_two_redis_round_trips() {
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    platform.clear_call_script();
    let prefix = support::fresh_prefix();
    let backend = support::backend(&redis.url(), &prefix).await;
    let replica = Replica::axum("A", api(&platform.url(), Backend::from(backend))).await;
    let session = session(&replica).await;
    // The first dial loads the scripts into Redis (`NOSCRIPT`, then a load).
    dial(&replica, &session).await;

    let mut monitor = Monitor::start(redis.port).await;
    monitor.until_marker("sipdial-before").await;
    let call = dial(&replica, &session).await;
    // Anything the dial left behind (a slot release on a task of its own) counts too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = monitor.until_marker("sipdial-after").await;
    let commands: Vec<&str> = seen.iter().map(|l| command(l)).collect();
    assert!(
        seen.len() == DIAL_ROUND_TRIPS,
        "a dial made {} round trips (expected {DIAL_ROUND_TRIPS}): {seen:#?}",
        seen.len()
    );
    assert!(
        commands.iter().all(|c| c.eq_ignore_ascii_case("evalsha")),
        "{commands:?}"
    );

    // And it recorded everything those two stood for, the call's expiry too.
    let id = call["id"].as_str().unwrap();
    let read = replica.get(&format!("/calls/{id}")).await;
    assert_eq!(read.json().unwrap()["state"], "dialing");
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let due: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{prefix}timers"))
        .arg(format!("expiry:{id}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(due.is_some(), "the call's expiry is armed");
}

/// Round trips of a hang-up through the API (`POST /calls/{id}/hangup`) once the call
/// is known: the call read for the route, the update's read and its script, which also
/// appends the change's stream entry and disarms the call's timers (core's
/// `backend::change_record`; they were two round trips more), and the pending digits'
/// `GETDEL` (DTMF at answer).
const HANG_UP_ROUND_TRIPS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_s_entry_and_timers_travel_with_its_update() {
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    platform.clear_call_script();
    let prefix = support::fresh_prefix();
    let backend = support::backend(&redis.url(), &prefix).await;
    let replica = quiet_replica(&platform, backend).await;
    let session = session(&replica).await;
    // The first dial and hang-up load the scripts into Redis.
    let first = dial(&replica, &session).await;
    let id = first["id"].as_str().unwrap();
    let res = replica
        .post(&format!("/calls/{id}/hangup"), json!({}))
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    let call = dial(&replica, &session).await;
    let id = call["id"].as_str().unwrap();
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stream = format!("{prefix}events:{session}");
    let entries_before: usize = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();

    let mut monitor = Monitor::start(redis.port).await;
    monitor.until_marker("sipdial-before").await;
    let res = replica
        .post(&format!("/calls/{id}/hangup"), json!({}))
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = monitor.until_marker("sipdial-after").await;
    assert_eq!(
        seen.len(),
        HANG_UP_ROUND_TRIPS,
        "a hang-up made {} round trips: {seen:#?}",
        seen.len()
    );

    // The script did what the two round trips it replaced did.
    let entries_after: usize = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(entries_after, entries_before + 1, "the end's stream entry");
    let due: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{prefix}timers"))
        .arg(format!("expiry:{id}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(due, None, "the ended call's expiry is disarmed");
    let read = replica.get(&format!("/calls/{id}")).await;
    assert_eq!(read.json().unwrap()["state"], "ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dial_s_scripts_run_few_commands() {
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    platform.clear_call_script();
    let backend = support::backend(&redis.url(), &support::fresh_prefix()).await;
    let replica = Replica::axum("A", api(&platform.url(), Backend::from(backend))).await;
    let session = session(&replica).await;
    // The session's first dial creates its keys (and refreshes them all); the second
    // is every later dial's.
    dial(&replica, &session).await;

    let mut monitor = Monitor::start(redis.port).await;
    monitor.until_marker("sipdial-before").await;
    dial(&replica, &session).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, scripted) = monitor.until_marker_all("sipdial-after").await;
    let commands: Vec<&str> = scripted.iter().map(|l| command(l)).collect();
    assert_eq!(
        scripted.len(),
        DIAL_SCRIPT_COMMANDS,
        "the dial's scripts ran {} commands: {commands:?}",
        scripted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_is_refused_in_the_admit_round_trip() {
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    let prefix = support::fresh_prefix();
    let backend = support::backend(&redis.url(), &prefix).await;
    let replica = Replica::axum("A", api(&platform.url(), Backend::from(backend))).await;
    let known = session(&replica).await;
    dial(&replica, &known).await;
    let foreign = platform.create_session(MediaMode::Routed);

    let mut monitor = Monitor::start(redis.port).await;
    monitor.until_marker("sipdial-before").await;
    let res = replica.post("/dial", json!({ "sessionId": foreign })).await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert_eq!(res.json().unwrap()["error"]["code"], "session_not_found");
    let seen = monitor.until_marker("sipdial-after").await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
    // Nothing was counted against the limits of a session nobody created here.
    let rate: usize = redis::cmd("EXISTS")
        .arg(format!("{prefix}dials:{foreign}"))
        .query_async(
            &mut redis::Client::open(redis.url())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rate, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_s_own_event_log_gets_the_dial_s_entry_not_the_redis_stream() {
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    let prefix = support::fresh_prefix();
    let mut backend = Backend::from(support::backend(&redis.url(), &prefix).await);
    let own = Arc::new(InMemoryEventLog::new(16));
    backend.events = Arc::clone(&own) as Arc<dyn EventLog>;
    let replica = Replica::axum("A", api(&platform.url(), backend)).await;
    let session = session(&replica).await;
    let before = own
        .position(&SessionId::new(session.clone()).unwrap())
        .await
        .unwrap();
    let call = dial(&replica, &session).await;
    let after = own
        .position(&SessionId::new(session.clone()).unwrap())
        .await
        .unwrap();
    assert_ne!(before, after, "the host's log has the dial's entry");
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stream: usize = redis::cmd("EXISTS")
        .arg(format!("{prefix}events:{session}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stream, 0, "nothing was written to the Redis stream");
    let id = call["id"].as_str().unwrap();
    let read = replica.get(&format!("/calls/{id}")).await;
    assert_eq!(read.status, 200);
    // Its end, too.
    let res = replica
        .post(&format!("/calls/{id}/hangup"), json!({}))
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    let ended = own
        .position(&SessionId::new(session.clone()).unwrap())
        .await
        .unwrap();
    assert_ne!(after, ended, "the host's log has the end's entry");
    let stream: usize = redis::cmd("EXISTS")
        .arg(format!("{prefix}events:{session}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stream, 0, "nothing was written to the Redis stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_s_own_timers_get_the_dial_s_timers_not_redis() {
    use sipdial_core::api::{CallTimers, InMemoryCallTimers};
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    let prefix = support::fresh_prefix();
    let mut backend = Backend::from(support::backend(&redis.url(), &prefix).await);
    let own = Arc::new(InMemoryCallTimers::new());
    backend.timers = Arc::clone(&own) as Arc<dyn CallTimers>;
    let replica = Replica::axum("A", api(&platform.url(), backend)).await;
    let session = session(&replica).await;
    let call = dial(&replica, &session).await;
    assert_eq!(own.len(), 1, "the host's timers hold the call's expiry");
    let id = call["id"].as_str().unwrap();
    let res = replica
        .post(&format!("/calls/{id}/hangup"), json!({}))
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(
        own.len(),
        0,
        "the host's timers let the ended call's expiry go"
    );
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let armed: usize = redis::cmd("EXISTS")
        .arg(format!("{prefix}timers"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(armed, 0, "nothing was armed in Redis");
}

/// A token asks Redis only whether the session exists (and its room), and a session's
/// room never changes: the replica that created the session, or read it once, answers
/// the next tokens from what it read, with no round trip. Another replica reads it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_a_session_read_lately_costs_no_round_trip() {
    async fn token(replica: &Replica, session: &str) {
        let res = replica
            .post("/token", json!({ "sessionId": session }))
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
    }
    let redis = redis_or_skip!();
    let platform = FakePlatform::start().await.unwrap();
    let prefix = support::fresh_prefix();
    let a = Replica::axum(
        "A",
        api(
            &platform.url(),
            Backend::from(support::backend(&redis.url(), &prefix).await),
        ),
    )
    .await;
    let b = Replica::axum(
        "B",
        api(
            &platform.url(),
            Backend::from(support::backend(&redis.url(), &prefix).await),
        ),
    )
    .await;
    let session = session(&a).await;
    let mut monitor = Monitor::start(redis.port).await;
    monitor.until_marker("sipdial-before").await;
    token(&a, &session).await;
    token(&a, &session).await;
    let seen = monitor.until_marker("sipdial-after").await;
    assert!(seen.is_empty(), "tokens on the creating replica: {seen:#?}");
    monitor.until_marker("sipdial-before-b").await;
    token(&b, &session).await;
    token(&b, &session).await;
    token(&b, &session).await;
    let seen = monitor.until_marker("sipdial-after-b").await;
    assert_eq!(seen.len(), 1, "tokens on another replica: {seen:#?}");
}
