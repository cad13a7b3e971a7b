//! The status webhook outbox of a fleet: one bounded Redis Stream that every replica
//! appends to, and a dispatch lease so that one replica at a time delivers.
//!
//! - **Push**: one script numbers the change in its call (`INCR`, so numbers are
//!   fleet-wide) and `XADD`s it unless the stream holds `webhook_outbox_len` entries.
//! - **Lease**: `SET NX PX` by the replica's id, renewed by the holder on every
//!   `take` (at least twice a second). A replica that dies stops renewing; the
//!   next one takes the lease when it expires and reads the stream from its start,
//!   i.e. from the oldest entry not acknowledged.
//! - **Ack**: a finished delivery is `XDEL`eted, so the stream holds only what is
//!   queued or in delivery.
//!
//! The holder stops delivering (before its next attempt) once its lease may have
//! expired by its own clock, with a margin, so two replicas deliver at once only
//! when one's attempt was already on the wire: at least once, never lost.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use redis::streams::StreamReadReply;
use sipdial_core::api::StoreError;
use sipdial_core::api::webhooks::{NewDelivery, OutboxEntry, Pushed, Taken, WebhookOutbox};

use crate::conn::{Redis, script};

/// Pause of an idle `take` between two reads of the stream (a push on this replica
/// wakes it at once). Blocking reads would stall the shared connection.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// The [`WebhookOutbox`] of a fleet.
pub struct RedisWebhookOutbox {
    redis: Redis,
    holder: String,
    push: Script,
    lease: Script,
    /// Until when this replica surely holds the lease (by its own clock).
    held_until: Mutex<Option<Instant>>,
    pushed: tokio::sync::Notify,
}

impl std::fmt::Debug for RedisWebhookOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisWebhookOutbox")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RedisWebhookOutbox {
    pub(crate) fn new(redis: Redis, holder: String) -> Self {
        Self {
            redis,
            holder,
            push: script(include_str!("lua/webhook_push.lua")),
            lease: script(include_str!("lua/webhook_lease.lua")),
            held_until: Mutex::new(None),
            pushed: tokio::sync::Notify::new(),
        }
    }

    fn outbox_key(&self) -> String {
        self.redis.key("webhooks", "outbox")
    }

    /// Takes or renews the lease: 0 held elsewhere, 1 renewed, 2 newly taken.
    async fn lease(&self) -> Result<i64, StoreError> {
        let ttl = self.redis.opts.webhook_lease;
        let asked = Instant::now();
        let mut call = self.lease.prepare_invoke();
        call.arg(&self.redis.opts.prefix)
            .arg(&self.holder)
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let got: i64 = self.redis.run("webhook lease", &call).await?;
        // Counted from before the request, minus a fifth for clock drift and the
        // time the answer took, so this replica stops before the lease can lapse.
        *lock(&self.held_until) = (got != 0).then(|| asked + ttl - ttl / 5);
        Ok(got)
    }
}

#[async_trait]
impl WebhookOutbox for RedisWebhookOutbox {
    async fn push(&self, delivery: NewDelivery) -> Result<Pushed, StoreError> {
        let opts = &self.redis.opts;
        let mut call = self.push.prepare_invoke();
        call.arg(&opts.prefix)
            .arg(&delivery.call_id)
            .arg(opts.webhook_outbox_len)
            .arg(u64::try_from(opts.ended_retention.as_millis()).unwrap_or(u64::MAX))
            .arg(delivery.destination.as_deref().unwrap_or(""))
            .arg(&delivery.change);
        let (queued, sequence): (i64, u64) = self.redis.run("webhook push", &call).await?;
        if queued == 1 {
            self.pushed.notify_one();
            Ok(Pushed::Queued(sequence))
        } else {
            Ok(Pushed::Dropped(sequence))
        }
    }

    async fn take(
        &self,
        after: Option<&str>,
        max: usize,
        wait: Duration,
    ) -> Result<Taken, StoreError> {
        match self.lease().await? {
            0 => {
                tokio::time::sleep(wait).await;
                return Ok(Taken::NotDispatcher);
            }
            // Taken anew while this replica thought it still dispatched (its lease
            // lapsed meanwhile): start over from the oldest entry.
            2 if after.is_some() => return Ok(Taken::NotDispatcher),
            _ => {}
        }
        let notified = self.pushed.notified();
        let read = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(max)
            .arg("STREAMS")
            .arg(self.outbox_key())
            .arg(after.unwrap_or("0-0"))
            .clone();
        let reply: Option<StreamReadReply> = self.redis.query("webhook take", &read).await?;
        let entries: Vec<OutboxEntry> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .filter_map(|e| {
                let call: String = e.get("call")?;
                let sequence: u64 = e.get("seq")?;
                let dest: String = e.get("dest")?;
                let change: String = e.get("change")?;
                let destination = (!dest.is_empty()).then_some(dest);
                Some(OutboxEntry::new(
                    e.id,
                    NewDelivery::new(call, destination, change, false),
                    sequence,
                ))
            })
            .collect();
        if entries.is_empty() {
            let _ = tokio::time::timeout(IDLE_POLL.min(wait), notified).await;
        }
        Ok(Taken::Entries(entries))
    }

    async fn ack(&self, id: &str) -> Result<(), StoreError> {
        let del = redis::cmd("XDEL").arg(self.outbox_key()).arg(id).clone();
        let _: i64 = self.redis.query("webhook ack", &del).await?;
        Ok(())
    }

    fn holds_lease(&self) -> bool {
        lock(&self.held_until).is_some_and(|until| Instant::now() < until)
    }
}
