//! The call timers of a fleet on one real Redis: each due timer is handed to exactly
//! one claimer, a claim whose claimer died comes due again, and through three API
//! replicas a ring timeout and a max duration fire once, even after the replica that
//! armed them is dropped.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sipdial_core::api::SipTarget;
use sipdial_core::api::{Backend, CallEvent, CallEventCause, CallTimers, TimerKind, TimerOp};
use sipdial_core::fake::{CallProgression, FakeDialer, Operation};
use sipdial_core::testing::{TestRequest, TestResponse};
use sipdial_core::{CallId, SipDialApi, SipUri};

use support::fleet::eventually;
use support::{backend, fresh_prefix};

fn id(s: &str) -> CallId {
    CallId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_due_timer_goes_to_exactly_one_claimer() {
    let redis = redis_or_skip!();
    let prefix = fresh_prefix();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Arc::new(backend(&redis.url(), &prefix).await.timers));
    }
    for i in 0..200 {
        replicas[i % 3]
            .arm(&id(&format!("call-{i}")), TimerKind::Expiry, Duration::ZERO)
            .await
            .unwrap();
    }
    // One not due yet, and one disarmed.
    replicas[0]
        .arm(
            &id("later"),
            TimerKind::RingTimeout,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    replicas[1]
        .schedule(
            &id("gone"),
            &[
                TimerOp::Arm(TimerKind::MaxDuration, Duration::ZERO),
                TimerOp::Disarm(TimerKind::MaxDuration),
            ],
        )
        .await
        .unwrap();
    // The three claim concurrently, in small batches, until nothing is due.
    let claims = futures_util::future::join_all(replicas.iter().map(|r| {
        let r = Arc::clone(r);
        async move {
            let mut mine = Vec::new();
            loop {
                let got = r.claim_due(7, Duration::from_secs(60)).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got);
            }
        }
    }))
    .await;
    let all: Vec<_> = claims.iter().flatten().collect();
    let distinct: HashSet<_> = all.iter().map(|t| t.call.as_str().to_owned()).collect();
    assert_eq!(all.len(), 200, "every due timer claimed once");
    assert_eq!(distinct.len(), 200);
    assert!(!distinct.contains("later") && !distinct.contains("gone"));
    assert!(all.iter().all(|t| t.kind == TimerKind::Expiry));
    for t in &all {
        replicas[0].complete(t).await.unwrap();
    }
    assert!(
        replicas[2]
            .claim_due(100, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_claimer_died_comes_due_again_elsewhere() {
    let redis = redis_or_skip!();
    let prefix = fresh_prefix();
    let a = backend(&redis.url(), &prefix).await.timers;
    let b = backend(&redis.url(), &prefix).await.timers;
    a.arm(&id("c"), TimerKind::RingTimeout, Duration::ZERO)
        .await
        .unwrap();
    let claimed = a.claim_due(10, Duration::from_millis(300)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    drop(a);
    assert!(
        b.claim_due(10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = b.claim_due(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].call.as_str(), again[0].kind),
        ("c", TimerKind::RingTimeout)
    );
    // Armed again while claimed: completing the old claim keeps the new timer.
    b.arm(&id("c"), TimerKind::RingTimeout, Duration::from_millis(100))
        .await
        .unwrap();
    b.complete(&claimed[0]).await.unwrap();
    b.complete(&again[0]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        b.claim_due(10, Duration::from_secs(60))
            .await
            .unwrap()
            .len(),
        1
    );
}

const HOURS: Duration = Duration::from_secs(6 * 3600);

/// Three replicas of one app over one Redis and one fake platform (the shared
/// `FakeDialer` reports every event to all three, as the platform's callbacks would
/// reach any of them).
struct Fleet {
    fake: Arc<FakeDialer>,
    apis: Vec<Option<SipDialApi>>,
    /// Every hook event, with the replica whose hook saw it.
    seen: Arc<Mutex<Vec<(usize, CallEvent)>>>,
}

impl Fleet {
    async fn start(url: &str, answer_after: Duration, expiry: Duration) -> Self {
        let fake = Arc::new(
            FakeDialer::builder()
                .progression(CallProgression {
                    ring_after: Duration::from_millis(50),
                    answer_after,
                    hang_up_after: None,
                })
                .build(),
        );
        let prefix = fresh_prefix();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut apis = Vec::new();
        for i in 0..3 {
            let seen = Arc::clone(&seen);
            let api = SipDialApi::builder(fake.clone())
                .anonymous()
                .target(
                    SipTarget::new("desk", SipUri::new("sip:desk@pbx.example.com").unwrap())
                        .ring_timeout(Duration::from_millis(600))
                        .max_duration(Duration::from_millis(600)),
                )
                .timer_poll_interval(Duration::from_millis(50))
                .call_expiry(expiry)
                .on_call_event(Arc::new(move |e: &CallEvent| {
                    seen.lock().unwrap().push((i, e.clone()));
                }))
                .backend(Backend::from(backend(url, &prefix).await))
                .build()
                .unwrap();
            apis.push(Some(api));
        }
        Self { fake, apis, seen }
    }

    fn api(&self, i: usize) -> &SipDialApi {
        self.apis[i].as_ref().expect("a running replica")
    }

    async fn send(&self, i: usize, req: TestRequest) -> TestResponse {
        TestResponse::from_http(self.api(i).handle(req.into_http()).await).await
    }

    async fn dial(&self, i: usize) -> Value {
        let s = self
            .send(
                i,
                TestRequest::post("/sip/session").json(&json!({ "room": "r" })),
            )
            .await;
        assert_eq!(s.status, 200, "{}", s.text());
        let sid = s.json().unwrap()["sessionId"].clone();
        let d = self
            .send(
                i,
                TestRequest::post("/sip/dial").json(&json!({ "sessionId": sid })),
            )
            .await;
        assert_eq!(d.status, 201, "{}", d.text());
        d.json().unwrap()
    }

    async fn call(&self, i: usize, call: &Value) -> Value {
        let id = call["id"].as_str().unwrap();
        let res = self
            .send(i, TestRequest::get(format!("/sip/calls/{id}")))
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json().unwrap()
    }

    /// Each end by a timer: which replica fired it, and the timer.
    fn timer_ends(&self) -> Vec<(usize, TimerKind)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(i, e)| match e.cause {
                CallEventCause::Timer(k) => Some((*i, k)),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_timeout_fires_once_across_replicas_after_its_replica_is_gone() {
    let redis = redis_or_skip!();
    let mut fleet = Fleet::start(&redis.url(), Duration::from_secs(30), HOURS).await;
    let call = fleet.dial(0).await;
    // The replica that armed the timer goes away before it is due.
    fleet.apis[0] = None;
    assert!(
        eventually(Duration::from_secs(5), || async {
            fleet.call(1, &call).await["state"] == "ended"
        })
        .await,
        "the ring timeout fired on a surviving replica"
    );
    let got = fleet.call(2, &call).await;
    assert_eq!(got["outcome"], "no_answer", "{got}");
    // Give every poller time to (not) fire it again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fleet.fake.count(Operation::HangUp), 1);
    let ends = fleet.timer_ends();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].1, TimerKind::RingTimeout);
    assert_ne!(ends[0].0, 0, "fired by a replica still running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_max_duration_fires_once_across_replicas() {
    let redis = redis_or_skip!();
    let fleet = Fleet::start(&redis.url(), Duration::from_millis(100), HOURS).await;
    let call = fleet.dial(2).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            fleet.call(0, &call).await["state"] == "ended"
        })
        .await
    );
    let got = fleet.call(1, &call).await;
    assert_eq!(got["outcome"], "max_duration", "{got}");
    assert!(
        got["answeredAt"].is_u64() && got["durationMs"].is_u64(),
        "{got}"
    );
    assert!(got["durationMs"].as_u64().unwrap() >= 500, "{got}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fleet.fake.count(Operation::HangUp), 1);
    let ends = fleet.timer_ends();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].1, TimerKind::MaxDuration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_events_expires_once_across_replicas() {
    let redis = redis_or_skip!();
    // Rings at 50 ms, never answers; the ring timeout (600 ms) is later than the
    // expiry (300 ms after ringing).
    let fleet = Fleet::start(
        &redis.url(),
        Duration::from_secs(30),
        Duration::from_millis(300),
    )
    .await;
    let call = fleet.dial(1).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            fleet.call(2, &call).await["state"] == "ended"
        })
        .await
    );
    let got = fleet.call(0, &call).await;
    assert_eq!(got["outcome"], "expired", "{got}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fleet.fake.count(Operation::HangUp), 1);
    let ends = fleet.timer_ends();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].1, TimerKind::Expiry);
}
