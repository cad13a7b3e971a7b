//! Delivering callbacks: one background task POSTs every event, in order, to the URL the
//! test configured, signed when a secret is set, and records each attempt.
//!
//! The platform promises at least once, not exactly once nor in order; [`Delivery`]
//! makes those promises visible on demand (every event twice, neighbours swapped) so
//! a receiver's deduplication and reordering are tested against the fake. A receiver
//! that refuses, hangs or is not there is recorded and never stops the fake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sipdial_core::Timestamp;
use tokio::sync::{mpsc, watch};

use super::events::Outgoing;
use super::signature::sign;
use crate::sync::lock;

/// How the fake delivers its callbacks (see [`crate::FakePlatformBuilder::callback_delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// POST every event twice (the second copy right after the first, same body, a
    /// freshly signed token), as an at-least-once platform may.
    pub duplicate: bool,
    /// Deliver neighbouring events swapped: each event is held back until the next one
    /// has been sent, or until this long has passed with nothing to swap it with.
    pub out_of_order: Option<Duration>,
    /// Further attempts after a refused or failed delivery (default 0).
    pub retries: u32,
    /// Pause before each further attempt.
    pub retry_backoff: Duration,
    /// How long one POST may take (connect, send, answer) before it counts as failed.
    pub timeout: Duration,
    /// Share of callbacks lost, in millionths (0 to 1 000 000): each is recorded as
    /// [`DeliveryOutcome::Dropped`] and never sent, as when the receiver was down
    /// past every retry. Set with [`Delivery::drop_rate`].
    pub drop_per_million: u32,
    /// The seed of the drop draws ([`Delivery::seed`]); `None`: random.
    pub seed: Option<u64>,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            duplicate: false,
            out_of_order: None,
            retries: 0,
            retry_backoff: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
            drop_per_million: 0,
            seed: None,
        }
    }
}

impl Delivery {
    /// In order, once, no retries, 5 s per POST.
    pub fn new() -> Self {
        Self::default()
    }

    /// POST every event twice.
    #[must_use]
    pub fn duplicate(mut self, yes: bool) -> Self {
        self.duplicate = yes;
        self
    }

    /// Swap neighbouring events, holding one back for at most `max_hold`.
    #[must_use]
    pub fn out_of_order(mut self, max_hold: Duration) -> Self {
        self.out_of_order = Some(max_hold);
        self
    }

    /// Retry a refused or failed delivery `times` more times, `backoff` apart.
    #[must_use]
    pub fn retries(mut self, times: u32, backoff: Duration) -> Self {
        self.retries = times;
        self.retry_backoff = backoff;
        self
    }

    /// The per-POST timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Loses this share of callbacks (0 to 1, clamped; `FAKE_CALLBACK_DROP_RATE` in
    /// the `fake-platform` binary): what reconciliation must make up for.
    #[must_use]
    pub fn drop_rate(mut self, rate: f64) -> Self {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        // In range by the clamp.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ppm = (rate * 1_000_000.0).round() as u32;
        self.drop_per_million = ppm;
        self
    }

    /// Draws which callbacks are lost from `seed` (the n-th callback's draw depends on
    /// the seed and n only), so a failing chaos run can be replayed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether the `n`-th callback is lost.
    fn drops(&self, n: u64) -> bool {
        if self.drop_per_million == 0 {
            return false;
        }
        let draw = match self.seed {
            Some(seed) => splitmix64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            // The low half of a v4 UUID: random bits without a generator of our own.
            #[allow(clippy::cast_possible_truncation)]
            None => uuid::Uuid::new_v4().as_u128() as u64,
        };
        draw % 1_000_000 < u64::from(self.drop_per_million)
    }
}

/// SplitMix64's output function: a well-mixed 64-bit value of `x`.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// No callback URL was configured when the event was due: nothing was sent.
    NoUrl,
    /// Lost on purpose ([`Delivery::drop_rate`]): nothing was sent.
    Dropped,
    /// The receiver answered 2xx.
    Delivered {
        /// The status answered.
        status: u16,
    },
    /// The receiver answered something else (e.g. 401 for a bad signature).
    Refused {
        /// The status answered.
        status: u16,
    },
    /// No answer: connection refused, reset, or the timeout passed.
    Failed {
        /// What went wrong, for the test's failure message.
        error: String,
    },
}

/// One delivery attempt of one callback, for tests to inspect
/// ([`crate::FakePlatform::callbacks`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallbackRecord {
    /// The event name (`callUpdated`, `connectionDestroyed`, ...).
    pub event: String,
    /// The SIP call it concerns, for call events and for the SIP leg's connection and
    /// stream events.
    pub call_id: Option<String>,
    /// The exact body sent.
    pub body: Bytes,
    /// Where it was sent.
    pub url: Option<String>,
    /// Whether it carried a signed `Authorization` header.
    pub signed: bool,
    /// 1, or 2 for the duplicate copy.
    pub copy: u8,
    /// 1 for the first attempt, 2.. for retries.
    pub attempt: u32,
    /// When the attempt finished.
    pub at: Timestamp,
    /// How it went.
    pub outcome: DeliveryOutcome,
}

impl CallbackRecord {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `state` of a `callUpdated` event.
    pub fn call_state(&self) -> Option<String> {
        self.json()
            .get("state")
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    }

    /// Whether the receiver answered 2xx.
    pub fn delivered(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Delivered { .. })
    }

    /// Whether the attempt was made and did not succeed.
    pub fn failed(&self) -> bool {
        matches!(
            self.outcome,
            DeliveryOutcome::Refused { .. } | DeliveryOutcome::Failed { .. }
        )
    }
}

/// Where and how to deliver; changeable while the fake runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallbackConfig {
    pub(crate) url: Option<String>,
    pub(crate) secret: Option<String>,
    pub(crate) delivery: Delivery,
}

/// The state the delivery task and the [`crate::FakePlatform`] handle share.
#[derive(Debug)]
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Outgoing>,
    pub(crate) config: Mutex<CallbackConfig>,
    pub(crate) records: Mutex<Vec<CallbackRecord>>,
    /// Callbacks due so far: the index of each one's drop draw.
    due: std::sync::atomic::AtomicU64,
}

impl Outbox {
    /// Creates the outbox and starts its delivery task on the current runtime; the task
    /// ends when `stop` fires.
    pub(crate) fn start(config: CallbackConfig, stop: watch::Receiver<bool>) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Arc::new(Self {
            tx,
            config: Mutex::new(config),
            records: Mutex::new(Vec::new()),
            due: std::sync::atomic::AtomicU64::new(0),
        });
        tokio::spawn(run(Arc::clone(&outbox), rx, stop));
        outbox
    }

    /// Queues events for delivery, in this order.
    pub(crate) fn send(&self, events: impl IntoIterator<Item = Outgoing>) {
        for e in events {
            // Fails only once the task ended, i.e. after shutdown: nothing to deliver to.
            let _ = self.tx.send(e);
        }
    }

    fn record(&self, r: CallbackRecord) {
        lock(&self.records).push(r);
    }
}

async fn run(
    outbox: Arc<Outbox>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    mut stop: watch::Receiver<bool>,
) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("sipdial-testing fake platform")
        .build();
    let mut held: Option<Outgoing> = None;
    loop {
        let max_hold = lock(&outbox.config).delivery.out_of_order;
        let next = tokio::select! {
            _ = stop.changed() => return,
            next = next_event(&mut rx, held.is_some(), max_hold) => next,
        };
        let batch = match (next, held.take()) {
            // Channel closed: the fake is gone.
            (Next::Closed, h) => {
                if let Some(h) = h {
                    deliver_all(&outbox, &client, vec![h], &mut stop).await;
                }
                return;
            }
            (Next::HoldExpired, h) => h.into_iter().collect(),
            (Next::Event(e), Some(h)) => match max_hold {
                // The newer event first, then the one held back.
                Some(_) => vec![e, h],
                None => vec![h, e],
            },
            (Next::Event(e), None) => {
                if max_hold.is_some() {
                    held = Some(e);
                    continue;
                }
                vec![e]
            }
        };
        if !deliver_all(&outbox, &client, batch, &mut stop).await {
            return;
        }
    }
}

enum Next {
    Event(Outgoing),
    HoldExpired,
    Closed,
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<Outgoing>,
    holding: bool,
    max_hold: Option<Duration>,
) -> Next {
    let received = match (holding, max_hold) {
        (true, Some(d)) => match tokio::time::timeout(d, rx.recv()).await {
            Ok(r) => r,
            Err(_) => return Next::HoldExpired,
        },
        // Holding, but out-of-order delivery was switched off meanwhile: let it go.
        (true, None) => return Next::HoldExpired,
        (false, _) => rx.recv().await,
    };
    received.map_or(Next::Closed, Next::Event)
}

/// Delivers `batch` in order; false when the fake stopped meanwhile.
async fn deliver_all(
    outbox: &Outbox,
    client: &reqwest::Result<reqwest::Client>,
    batch: Vec<Outgoing>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    for e in batch {
        tokio::select! {
            _ = stop.changed() => return false,
            () = deliver(outbox, client, &e) => {}
        }
    }
    true
}

async fn deliver(outbox: &Outbox, client: &reqwest::Result<reqwest::Client>, e: &Outgoing) {
    let config = lock(&outbox.config).clone();
    let record = |url: Option<&str>, signed, copy, attempt, outcome| CallbackRecord {
        event: e.event.to_owned(),
        call_id: e.call_id.clone(),
        body: e.body.clone(),
        url: url.map(str::to_owned),
        signed,
        copy,
        attempt,
        at: Timestamp::now(),
        outcome,
    };
    let Some(url) = config.url.as_deref() else {
        outbox.record(record(None, false, 1, 1, DeliveryOutcome::NoUrl));
        return;
    };
    let n = outbox
        .due
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if config.delivery.drops(n) {
        outbox.record(record(Some(url), false, 1, 1, DeliveryOutcome::Dropped));
        return;
    }
    let copies: u8 = if config.delivery.duplicate { 2 } else { 1 };
    for copy in 1..=copies {
        for attempt in 1..=config.delivery.retries.saturating_add(1) {
            if attempt > 1 {
                tokio::time::sleep(config.delivery.retry_backoff).await;
            }
            let (signed, outcome) = post(client, url, &config, &e.body).await;
            let ok = matches!(outcome, DeliveryOutcome::Delivered { .. });
            outbox.record(record(Some(url), signed, copy, attempt, outcome));
            if ok {
                break;
            }
        }
    }
}

async fn post(
    client: &reqwest::Result<reqwest::Client>,
    url: &str,
    config: &CallbackConfig,
    body: &Bytes,
) -> (bool, DeliveryOutcome) {
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            return (
                false,
                DeliveryOutcome::Failed {
                    error: format!("no HTTP client: {e}"),
                },
            );
        }
    };
    let mut req = client
        .post(url)
        .timeout(config.delivery.timeout)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.clone());
    let signed = match config.secret.as_deref() {
        Some(secret) => match sign(secret, body) {
            Ok(jwt) => {
                req = req.bearer_auth(jwt);
                true
            }
            Err(error) => return (false, DeliveryOutcome::Failed { error }),
        },
        None => false,
    };
    let outcome = match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // Read the answer to the end so the connection can be reused.
            let _ = resp.bytes().await;
            if (200..300).contains(&status) {
                DeliveryOutcome::Delivered { status }
            } else {
                DeliveryOutcome::Refused { status }
            }
        }
        Err(e) => DeliveryOutcome::Failed {
            error: describe(&e),
        },
    };
    (signed, outcome)
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        // reqwest's Display names the URL, which is the test's own; no secret in it.
        e.to_string()
    }
}

#[cfg(test)]
mod drop_tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_drops() {
        let d = Delivery::new().drop_rate(0.3).seed(42);
        let a: Vec<bool> = (0..1000).map(|n| d.drops(n)).collect();
        let b: Vec<bool> = (0..1000).map(|n| d.drops(n)).collect();
        assert_eq!(a, b);
        let dropped = a.iter().filter(|x| **x).count();
        assert!((200..400).contains(&dropped), "{dropped} of 1000 at 0.3");
        let other: Vec<bool> = (0..1000)
            .map(|n| Delivery::new().drop_rate(0.3).seed(43).drops(n))
            .collect();
        assert_ne!(a, other);
        assert!(!(0..1000).any(|n| Delivery::new().seed(1).drops(n)));
    }
}
