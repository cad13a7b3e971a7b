//! The dispatcher: takes entries from the outbox and delivers them, one lane per call.
//!
//! A lane is a task that sends its call's entries one after the other, each until it
//! is delivered, refused or given up, then acknowledges it: so a call's changes arrive
//! in order even under retries, while a receiver that hangs on one call delays only
//! that call. When the outbox says another replica dispatches now, every lane stops
//! before its next attempt and the cursor starts over, so nothing is acknowledged
//! twice by two lease holders and nothing taken is lost.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{ExponentialBuilder, Retryable as _};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;

use super::stats::{Counters, Final};
use super::{Destinations, payload};
use crate::backend::webhook_outbox::{OutboxEntry, Taken, WebhookOutbox};
use crate::backend::webhook_transport::{WebhookRequest, WebhookTransport, WebhookTransportError};
use crate::engine::signature::sign_body;
use crate::jwt::Hs256Key;
use crate::policy::webhook::WebhookRetry;
use crate::sync::lock;

/// Entries taken from the outbox at once.
const BATCH: usize = 64;
/// Longest wait in one `take`: also how often a shared outbox's lease is renewed.
const POLL: Duration = Duration::from_millis(500);
/// Pause after the outbox could not be read.
const OUTBOX_ERROR_PAUSE: Duration = Duration::from_secs(1);

struct Destination {
    url: String,
    host: String,
    key: Hs256Key,
}

/// What the dispatcher and its lanes share.
pub(crate) struct Shared {
    destinations: HashMap<Option<String>, Destination>,
    outbox: Arc<dyn WebhookOutbox>,
    transport: Arc<dyn WebhookTransport>,
    retry: WebhookRetry,
    counters: Arc<Counters>,
    /// Bumped when this replica stops being the dispatcher: lanes of an older
    /// generation stop.
    generation: AtomicU64,
    stopped: AtomicBool,
    /// Each call's entries not yet finished, the one in delivery first.
    lanes: Mutex<HashMap<String, VecDeque<OutboxEntry>>>,
}

impl Shared {
    pub(crate) fn new(
        destinations: Destinations,
        outbox: Arc<dyn WebhookOutbox>,
        transport: Arc<dyn WebhookTransport>,
        retry: WebhookRetry,
        counters: Arc<Counters>,
    ) -> Arc<Self> {
        let destinations = destinations
            .into_iter()
            .map(|(owner, w)| {
                let d = Destination {
                    host: w.host(),
                    key: Hs256Key::new(w.secret.expose_secret().as_bytes()),
                    url: w.url,
                };
                (owner, d)
            })
            .collect();
        Arc::new(Self {
            destinations,
            outbox,
            transport,
            retry,
            counters,
            generation: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            lanes: Mutex::new(HashMap::new()),
        })
    }

    fn current(&self, generation: u64) -> bool {
        !self.stopped.load(Ordering::Acquire)
            && self.generation.load(Ordering::Acquire) == generation
            && self.outbox.holds_lease()
    }

    /// Adds a taken entry to its call's lane, starting the lane when it is idle.
    fn route(self: &Arc<Self>, entry: OutboxEntry) {
        let mut lanes = lock(&self.lanes);
        if let Some(lane) = lanes.get_mut(&entry.call_id) {
            lane.push_back(entry);
            return;
        }
        let call = entry.call_id.clone();
        lanes.insert(call.clone(), VecDeque::from([entry]));
        let generation = self.generation.load(Ordering::Acquire);
        tokio::spawn(Arc::clone(self).lane(call, generation));
    }

    /// Forgets every lane: this replica no longer dispatches.
    fn step_down(&self) {
        let mut lanes = lock(&self.lanes);
        self.generation.fetch_add(1, Ordering::AcqRel);
        lanes.clear();
    }

    async fn lane(self: Arc<Self>, call: String, generation: u64) {
        loop {
            let next = {
                let mut lanes = lock(&self.lanes);
                if self.generation.load(Ordering::Acquire) != generation {
                    return;
                }
                match lanes.get(&call).and_then(|l| l.front()) {
                    Some(e) => e.clone(),
                    None => {
                        lanes.remove(&call);
                        return;
                    }
                }
            };
            if !self.deliver(&next, generation).await {
                return;
            }
            let mut lanes = lock(&self.lanes);
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            if let Some(lane) = lanes.get_mut(&call) {
                lane.pop_front();
            }
        }
    }

    /// Sends `entry` until it is delivered, refused or given up, and acknowledges it;
    /// false when this replica stopped dispatching first (the entry stays queued for
    /// the next dispatcher).
    async fn deliver(&self, entry: &OutboxEntry, generation: u64) -> bool {
        let owner = entry.destination.as_deref().unwrap_or("default");
        let result = match self.destinations.get(&entry.destination) {
            None => {
                tracing::warn!(
                    call_id = %entry.call_id,
                    destination = owner,
                    "a queued call change names a webhook this replica does not have; dropped"
                );
                Some(Final::Failed)
            }
            Some(dest) => match payload::body(&entry.change, entry.sequence) {
                Err(e) => {
                    tracing::warn!(call_id = %entry.call_id, error = %e, "a queued call change is not valid JSON; dropped");
                    Some(Final::Failed)
                }
                Ok(body) => {
                    self.attempts(entry, dest, Bytes::from(body), generation)
                        .await
                }
            },
        };
        let Some(result) = result else {
            return false;
        };
        self.counters.finished(result);
        if let Err(e) = self.outbox.ack(&entry.id).await {
            tracing::warn!(call_id = %entry.call_id, error = %e, "a finished webhook delivery could not be removed from the outbox; it may be sent again");
        }
        true
    }

    /// Attempts `entry` until it is delivered, refused or given up (backon paces the
    /// retries); `None` when this replica stopped dispatching first.
    async fn attempts(
        &self,
        entry: &OutboxEntry,
        dest: &Destination,
        body: Bytes,
        generation: u64,
    ) -> Option<Final> {
        let mut retries = 0;
        let result = (|| self.try_once(entry, dest, body.clone(), generation))
            .retry(schedule(&self.retry))
            .adjust(|e: &Again, wait| {
                let cap = self.retry.max_backoff;
                wait.map(|w| e.retry_after.map_or(w, |asked| asked.min(cap)))
            })
            .notify(|e, _| {
                retries += 1;
                tracing::debug!(call_id = %entry.call_id, sequence = entry.sequence, attempt = retries, error = %e.why, "webhook attempt failed; retrying");
                self.counters.retried();
            })
            .await;
        result.unwrap_or_else(|e| {
            tracing::error!(
                call_id = %entry.call_id,
                sequence = entry.sequence,
                host = %dest.host,
                attempts = retries + 1,
                error = %e.why,
                "a call change could not be delivered to the webhook; given up"
            );
            Some(Final::Failed)
        })
    }

    /// One attempt; `None` when this replica stopped dispatching.
    async fn try_once(
        &self,
        entry: &OutboxEntry,
        dest: &Destination,
        body: Bytes,
        generation: u64,
    ) -> Result<Option<Final>, Again> {
        if !self.current(generation) {
            return Ok(None);
        }
        let answer = self.attempt(dest, body).await.map_err(|e| Again {
            why: e.to_string(),
            retry_after: None,
        })?;
        let status = answer.status();
        if status.is_success() {
            return Ok(Some(Final::Delivered));
        }
        if retried(status) {
            return Err(Again {
                why: format!("HTTP {}", status.as_u16()),
                retry_after: retry_after(answer.headers()),
            });
        }
        tracing::warn!(
            call_id = %entry.call_id,
            sequence = entry.sequence,
            host = %dest.host,
            status = status.as_u16(),
            "the webhook receiver refused a call change; not retried"
        );
        Ok(Some(Final::Refused))
    }

    async fn attempt(
        &self,
        dest: &Destination,
        body: Bytes,
    ) -> Result<http::Response<()>, WebhookTransportError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let token = sign_body(&body, &dest.key, now)
            .map_err(|e| WebhookTransportError::Other(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("sipdial/", env!("CARGO_PKG_VERSION"))),
        );
        let mut auth = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|e| WebhookTransportError::Other(e.to_string()))?;
        auth.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, auth);
        self.transport
            .post(WebhookRequest {
                url: dest.url.clone(),
                headers,
                body,
            })
            .await
    }
}

/// Whether an answer is worth another attempt: the receiver is down or busy.
fn retried(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// An attempt worth repeating: why it failed (for the log), and how long the receiver
/// asked us to wait.
struct Again {
    why: String,
    retry_after: Option<Duration>,
}

/// The waits between attempts: `first_backoff` doubling to `max_backoff`, each drawn
/// by backon between 80 % and 160 % of that (its jitter adds up to as much again to
/// 80 % of it), so a fleet's retries do not arrive in lockstep, and never sooner than
/// 80 %.
fn schedule(retry: &WebhookRetry) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(retry.first_backoff.mul_f64(0.8))
        .with_max_delay(retry.max_backoff.mul_f64(0.8))
        .with_factor(2.0)
        .with_max_times(usize::try_from(retry.max_attempts.saturating_sub(1)).unwrap_or(usize::MAX))
        .with_jitter()
}

/// A `Retry-After` in delta-seconds (an HTTP date is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

async fn run(shared: Arc<Shared>) {
    let mut cursor: Option<String> = None;
    while !shared.stopped.load(Ordering::Acquire) {
        match shared.outbox.take(cursor.as_deref(), BATCH, POLL).await {
            Ok(Taken::Entries(entries)) => {
                for e in entries {
                    cursor = Some(e.id.clone());
                    shared.route(e);
                }
            }
            Ok(Taken::NotDispatcher) => {
                if cursor.take().is_some() {
                    tracing::info!("another replica now delivers the status webhooks");
                    shared.step_down();
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the webhook outbox could not be read");
                tokio::time::sleep(OUTBOX_ERROR_PAUSE).await;
            }
        }
    }
}

/// The dispatcher task of one API: started on a runtime when there is one, restarted
/// if its runtime went away, stopped with the API.
pub(crate) struct Handle {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            task: Mutex::new(None),
        }
    }

    pub(crate) fn ensure_running(&self) {
        let mut task = lock(&self.task);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if task.is_some() {
            // The runtime that ran it is gone: what its lanes held starts over.
            self.shared.step_down();
        }
        *task = Some(runtime.spawn(run(Arc::clone(&self.shared))));
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_busy_or_broken_receivers_are_retried() {
        for s in [500, 502, 503, 504, 408, 429] {
            assert!(retried(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 422, 301, 302] {
            assert!(!retried(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn waits_double_within_their_jitter_up_to_the_cap() {
        use backon::BackoffBuilder as _;
        let retry = WebhookRetry::new(6, Duration::from_millis(100), Duration::from_millis(350));
        let mut drawn = Vec::new();
        for _ in 0..50 {
            let waits: Vec<_> = schedule(&retry).build().map(|w| w.as_millis()).collect();
            assert_eq!(waits.len(), 5, "one wait per retry");
            for (wait, base) in waits.iter().zip([100, 200, 350, 350, 350]) {
                // backon computes in f32: a millisecond of slack below.
                assert!(
                    (base * 8 / 10 - 1..=base * 16 / 10).contains(wait),
                    "{waits:?}"
                );
            }
            drawn.push(waits[0]);
        }
        drawn.dedup();
        assert!(drawn.len() > 1, "the jitter varies");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            retry_after(&h)
        };
        assert_eq!(with(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
