#![doc = include_str!("../README.md")]

mod conn;
mod deliveries;
mod events;
mod idempotency;
mod known;
mod limits;
mod pending;
mod session_lease;
mod store;
mod timers;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use sipdial_core::api::{Backend, CallTimers, EventLog, ParkedEvents};

pub use deliveries::{RedisDedupe, RedisParked};
pub use events::RedisEventLog;
pub use idempotency::RedisIdempotency;
pub use limits::{IN_FLIGHT_TTL, RedisDialLimits};
pub use pending::RedisPendingDtmf;
pub use session_lease::RedisSessionLease;
pub use store::RedisCallStore;
pub use timers::RedisCallTimers;
pub use webhooks::RedisWebhookOutbox;

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "sipdial:";
/// Default bound of every Redis command: a route that needs Redis answers 503 by then.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(1500);

/// How the backend uses Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prefix of every key (default `sipdial:`), so several apps can share one Redis.
    pub prefix: String,
    /// Longest wait for one command (default 1.5 s).
    pub command_timeout: Duration,
    /// Entries kept per session stream for `Last-Event-ID` (`MAXLEN ~`, default 256).
    pub stream_len: usize,
    /// How long rooms, sessions and live calls are kept after their session's last
    /// change (default 7 days).
    pub session_retention: Duration,
    /// How long an ended call stays readable (default 24 hours; at most 100 per
    /// session either way).
    pub ended_retention: Duration,
    /// How long a callback delivery is remembered for dedupe (default 1 hour).
    pub dedupe_retention: Duration,
    /// Status webhook deliveries queued or in delivery at most, fleet-wide (default
    /// 10 000); beyond it new changes are dropped and counted.
    pub webhook_outbox_len: usize,
    /// The webhook dispatch lease: a replica that dies is replaced as the fleet's
    /// webhook sender after at most this long (default 5 s).
    pub webhook_lease: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            stream_len: 256,
            session_retention: Duration::from_secs(7 * 24 * 3600),
            ended_retention: Duration::from_secs(24 * 3600),
            dedupe_retention: Duration::from_secs(3600),
            webhook_outbox_len: 10_000,
            webhook_lease: Duration::from_secs(5),
        }
    }
}

impl RedisOptions {
    /// The default options with `prefix`.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            ..Self::default()
        }
    }
}

/// Redis could not be used at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// Redis did not answer.
    #[error("Redis is unreachable: {0}")]
    Unreachable(String),
}

/// Every part of sipdial's shared state in one Redis; pass it to
/// `SipDialApi::builder(..).backend(..)`.
#[derive(Debug, Clone)]
pub struct RedisBackend {
    /// Rooms, sessions and calls.
    pub store: RedisCallStore,
    /// The dial limits.
    pub limits: RedisDialLimits,
    /// Callback dedupe.
    pub dedupe: RedisDedupe,
    /// Parked early events.
    pub parked: RedisParked,
    /// The live event streams.
    pub events: RedisEventLog,
    /// Digits waiting for their call's answer.
    pub pending_dtmf: RedisPendingDtmf,
    /// The call policies' timers.
    pub timers: RedisCallTimers,
    /// The status webhook outbox and its dispatch lease.
    pub webhooks: Arc<RedisWebhookOutbox>,
    /// The dials' `Idempotency-Key`s.
    pub idempotency: RedisIdempotency,
    /// Which replica reconciles a session.
    pub session_lease: RedisSessionLease,
}

fn redacted(e: &redis::RedisError) -> String {
    // The URL (and its password) is never part of the message.
    e.to_string()
}

impl RedisBackend {
    /// Connects to `url` (`redis://[user:password@]host:port/db`) and checks that Redis
    /// answers. Must run inside a Tokio runtime (it starts this replica's stream
    /// tailer).
    pub async fn connect(url: &str, opts: RedisOptions) -> Result<Self, ConnectError> {
        let client = redis::Client::open(url).map_err(|e| ConnectError::Url(redacted(&e)))?;
        let wait = opts.command_timeout * 2;
        let open = |timeout| {
            let client = client.clone();
            let config = conn::manager_config(timeout, &opts);
            async move {
                tokio::time::timeout(wait, ConnectionManager::new_with_config(client, config))
                    .await
                    .map_err(|_| ConnectError::Unreachable(format!("no answer within {wait:?}")))?
                    .map_err(|e| ConnectError::Unreachable(redacted(&e)))
            }
        };
        let main = open(Some(opts.command_timeout)).await?;
        // The tailer's reads block on purpose; it bounds each one itself.
        let tail = open(None).await?;
        let redis = conn::Redis::new(main, opts);
        let replica: u64 = redis
            .query(
                "replica id",
                redis::cmd("INCR").arg(redis.key("replicas", "next")),
            )
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        Ok(Self::assemble(redis, tail, replica))
    }

    /// [`Self::connect`] for synchronous start-up code: checks that Redis answers with
    /// one blocking `PING` (bounded by the command timeout), then connects on first
    /// use. Must be called inside a Tokio runtime context (e.g. from `async fn main`
    /// before its first `.await` on the server).
    pub fn connect_checked(url: &str, opts: RedisOptions) -> Result<Self, ConnectError> {
        let client = redis::Client::open(url).map_err(|e| ConnectError::Url(redacted(&e)))?;
        let mut probe = client
            .get_connection_with_timeout(opts.command_timeout)
            .map_err(|e| ConnectError::Unreachable(redacted(&e)))?;
        probe
            .set_read_timeout(Some(opts.command_timeout))
            .map_err(|e| ConnectError::Unreachable(redacted(&e)))?;
        let replica: u64 = redis::cmd("INCR")
            .arg(format!("{}replicas:next", opts.prefix))
            .query(&mut probe)
            .map_err(|e| ConnectError::Unreachable(redacted(&e)))?;
        let lazy = |timeout| {
            ConnectionManager::new_lazy_with_config(
                client.clone(),
                conn::manager_config(timeout, &opts),
            )
            .map_err(|e| ConnectError::Unreachable(redacted(&e)))
        };
        let main = lazy(Some(opts.command_timeout))?;
        let tail = lazy(None)?;
        Ok(Self::assemble(conn::Redis::new(main, opts), tail, replica))
    }

    /// The parts over one connection. `replica` is unique in the fleet (a counter in
    /// Redis), so this replica's dial tickets never collide with another's.
    fn assemble(redis: conn::Redis, tail: ConnectionManager, replica: u64) -> Self {
        let replica = format!("r{replica}");
        Self {
            store: RedisCallStore::new(redis.clone()),
            limits: RedisDialLimits::new(redis.clone(), replica.clone()),
            dedupe: RedisDedupe::new(redis.clone()),
            parked: RedisParked::new(redis.clone()),
            pending_dtmf: RedisPendingDtmf::new(redis.clone()),
            timers: RedisCallTimers::new(redis.clone()),
            idempotency: RedisIdempotency::new(redis.clone(), replica.clone()),
            session_lease: RedisSessionLease::new(redis.clone(), replica.clone()),
            webhooks: Arc::new(RedisWebhookOutbox::new(redis.clone(), replica)),
            events: RedisEventLog::new(redis, tail),
        }
    }
}

impl From<RedisBackend> for Backend {
    /// The parts as the API holds them; the store records each dial (its record, dial
    /// slot, stream entry and parked events) in one script for as long as the API
    /// uses exactly this event log and these parked events, and sets the dial's first
    /// timers in that script for as long as it uses exactly these timers.
    fn from(b: RedisBackend) -> Self {
        let events: Arc<dyn EventLog> = Arc::new(b.events.clone());
        let parked: Arc<dyn ParkedEvents> = Arc::new(b.parked);
        let timers: Arc<dyn CallTimers> = Arc::new(b.timers);
        let store = b.store.fused_with(b.events, &events, &parked, &timers);
        let mut backend = Backend::new(
            Arc::new(store),
            Arc::new(b.limits),
            Arc::new(b.dedupe),
            parked,
            events,
        )
        .with_timers(timers)
        .with_webhook_outbox(b.webhooks)
        .with_idempotency(Arc::new(b.idempotency))
        .with_session_lease(Arc::new(b.session_lease));
        backend.pending_dtmf = Arc::new(b.pending_dtmf);
        backend
    }
}
