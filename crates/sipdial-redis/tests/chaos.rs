//! Chaos: three replicas (Axum, Actix, Axum) on one Redis, every far end answering and
//! then hanging up, and the fake platform losing, duplicating and reordering its
//! callbacks at random. Every call is placed once (retried dials carry an
//! `Idempotency-Key`), and ends exactly once, within the reconcile interval of its leg
//! ending, whether its end callback came (once, twice, late) or never.
//!
//! Every change goes to a status webhook too: each call's `ended` arrives exactly once.
//!
//! The drop draws come from a seed, printed first and in every failure; set
//! `CHAOS_SEED` to replay one.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::{HeaderName, HeaderValue, Method};
use serde_json::json;
use sipdial_core::api::webhooks::StatusWebhook;
use sipdial_core::api::{CallEvent, CallEventCause, CallState, TimerKind};
use sipdial_core::testing::TestRequest;
use sipdial_opentok::webhooks::ReqwestTransport;
use sipdial_testing::{CallScript, Delivery};
use support::fleet::{Fleet, eventually};

const CALLS: usize = 300;
const SESSIONS: usize = 10;
const RECONCILE: Duration = Duration::from_secs(1);
const KEY: HeaderName = HeaderName::from_static("idempotency-key");

fn seed() -> u64 {
    std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A status webhook receiver: every body it accepted.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                if let Ok(v) = serde_json::from_slice(&body) {
                    seen.lock().unwrap().push(v);
                }
                http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_place_each_call_once_and_end_it_exactly_once() {
    let redis = redis_or_skip!();
    let seed = seed();
    eprintln!("chaos seed: {seed} (replay with CHAOS_SEED={seed})");
    // Every change any replica applied, with when it did.
    let events: Arc<Mutex<Vec<CallEvent>>> = Arc::default();
    let applied: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let applied_at = Arc::clone(&applied);
    let seen = Arc::clone(&events);
    let (hook_url, hooks) = webhook_receiver().await;
    let fleet = Fleet::start_with(&redis, move |b| {
        let seen = Arc::clone(&seen);
        let applied_at = Arc::clone(&applied_at);
        b.status_webhook(StatusWebhook::new(
            hook_url.clone(),
            "chaos-webhook-secret-0123",
        ))
        .webhook_transport(Arc::new(ReqwestTransport::new().unwrap()))
        .max_active_calls_per_session(CALLS)
        .dials_per_minute(10_000)
        .max_active_calls_per_client(CALLS)
        .client_dials_per_minute(10_000)
        .client_sessions_per_minute(1000)
        .max_active_calls_total(CALLS)
        .dials_per_minute_total(10_000)
        .timer_poll_interval(Duration::from_millis(100))
        .reconcile_calls(RECONCILE, RECONCILE)
        .on_call_event(Arc::new(move |e: &CallEvent| {
            seen.lock().unwrap().push(e.clone());
            applied_at.lock().unwrap().push((
                e.call.id.as_str().to_owned(),
                sipdial_core::Timestamp::now().as_millis(),
            ));
        }))
    })
    .await;
    // Callbacks go to B; a third are lost, every one sent twice, neighbours swapped.
    fleet
        .platform
        .set_callback_url(Some(&fleet.b().callback_url()));
    fleet.platform.set_callback_delivery(
        Delivery::new()
            .drop_rate(0.3)
            .seed(seed)
            .duplicate(true)
            .out_of_order(Duration::from_millis(30)),
    );
    fleet.platform.script_calls(
        CallScript::new(Duration::from_millis(20), Duration::from_millis(60)).hang_up_after(
            Duration::from_millis(200),
            200,
            "OK",
        ),
    );
    let mut sessions = Vec::new();
    for i in 0..SESSIONS {
        sessions.push(fleet.session(&format!("chaos-{i}")).await);
    }
    fleet.platform.clear_requests();
    let started = Instant::now();
    // Each dial is sent twice with its key, to two replicas at once: a client retrying
    // a dial whose answer it never saw.
    let mut ids = Vec::new();
    for chunk in (0..CALLS).collect::<Vec<_>>().chunks(30) {
        let fleet = &fleet;
        let sessions = &sessions;
        let dials = chunk.iter().map(|&i| async move {
            let session = &sessions[i % SESSIONS];
            let key = HeaderValue::from_str(&format!("chaos-{seed}-{i}")).unwrap();
            let req = || {
                TestRequest::post("/sip/dial")
                    .json(&json!({ "sessionId": session }))
                    .header(KEY, key.clone())
            };
            futures_util::future::join(
                fleet.replicas[i % 3].send(req()),
                fleet.replicas[(i + 1) % 3].send(req()),
            )
            .await
        });
        for (a, b) in join_all(dials).await {
            let mut id: Option<String> = None;
            for r in [&a, &b] {
                match r.status.as_u16() {
                    201 => {
                        let got = r.json().unwrap()["id"].as_str().unwrap().to_owned();
                        assert!(
                            id.as_ref().is_none_or(|i| *i == got),
                            "seed {seed}: two calls for one key"
                        );
                        id = Some(got);
                    }
                    409 => {}
                    s => panic!("seed {seed}: dial answered {s}: {}", r.text()),
                }
            }
            ids.push(
                id.unwrap_or_else(|| panic!("seed {seed}: neither attempt answered the call")),
            );
        }
    }
    let dials = fleet
        .platform
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path.ends_with("/dial"))
        .count();
    assert_eq!(dials, CALLS, "seed {seed}: each call placed once");
    let placed_in = started.elapsed();

    // Every leg ends 200 ms after its answer; with its end callback lost, the
    // reconcile check (1 s after its last change, then every 1 s) ends it.
    let ended = |events: &[CallEvent]| -> HashMap<String, usize> {
        let mut by_call = HashMap::new();
        for e in events {
            if e.call.state == CallState::Ended && e.previous != Some(CallState::Ended) {
                *by_call.entry(e.call.id.as_str().to_owned()).or_insert(0) += 1;
            }
        }
        by_call
    };
    let all_ended = eventually(placed_in + RECONCILE * 4 + Duration::from_secs(5), || {
        let n = ended(&events.lock().unwrap()).len();
        async move { n >= CALLS }
    })
    .await;
    let by_call = ended(&events.lock().unwrap());
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| !by_call.contains_key(id.as_str()))
        .collect();
    assert!(
        all_ended && missing.is_empty(),
        "seed {seed}: {} of {CALLS} calls never ended: {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    // A while longer: no second end from a late duplicate, a reconcile check racing a
    // callback, or another replica.
    tokio::time::sleep(RECONCILE * 2).await;
    let by_call = ended(&events.lock().unwrap());
    let twice: Vec<_> = by_call.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "seed {seed}: ended more than once: {twice:?}"
    );
    assert_eq!(by_call.len(), CALLS, "seed {seed}");
    for r in &fleet.replicas {
        for s in &sessions {
            let listed = r.get(&format!("/calls?sessionId={s}")).await;
            let live = listed.json().unwrap()["calls"].as_array().unwrap().len();
            assert_eq!(live, 0, "seed {seed}: live calls left on {}", r.name);
        }
    }
    // Each end came within the reconcile threshold and interval (plus slack) of the
    // later of its leg ending (260 ms after
    // the dial: answer at 60 ms, hang-up 200 ms later) and the last change applied
    // before it: a late callback (delivered seconds late, since the fake sends one at a
    // time) is a change, and the threshold runs from a call's last change.
    let events = events.lock().unwrap().clone();
    let ends: Vec<&CallEvent> = events
        .iter()
        .filter(|e| e.call.state == CallState::Ended && e.previous != Some(CallState::Ended))
        .collect();
    let applied = applied.lock().unwrap().clone();
    let reconciled = ends
        .iter()
        .filter(|e| matches!(e.cause, CallEventCause::Timer(TimerKind::Reconcile)))
        .count();
    // Lost ends were made up for; late callbacks (the fake sends one at a time, so
    // they lag) then only refined what reconciliation ended, never ended it again.
    assert!(
        reconciled > 0,
        "seed {seed}: no call was ended by reconciliation"
    );
    let refined = events
        .iter()
        .filter(|e| e.previous == Some(CallState::Ended))
        .count();
    // The check comes `after` the later of the two; when the fake (loaded) ended the
    // leg a little late, it found the leg still there and came again `every` later.
    let slack = RECONCILE * 2 + Duration::from_millis(500);
    for e in &ends {
        let ended_at = e.call.ended_at.map_or(0, |t| t.as_millis());
        let leg_end = e.call.created_at.as_millis() + 260;
        let last_change = applied
            .iter()
            .filter(|(id, at)| id == e.call.id.as_str() && *at < ended_at)
            .map(|(_, at)| *at)
            .max()
            .unwrap_or(0);
        let from = leg_end.max(last_change);
        let took = ended_at.saturating_sub(from);
        assert!(
            Duration::from_millis(took) <= slack,
            "seed {seed}: call {} ended {took} ms after its leg ended or its last change ({:?})",
            e.call.id,
            e.cause
        );
    }
    // One `ended` status webhook per call (a refinement after it says `ended` again,
    // with `previousState` `ended`: not a second end).
    let webhooks_done = eventually(Duration::from_secs(20), || {
        let n = hooks
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h["call"]["state"] == "ended" && h["previousState"] != "ended")
            .count();
        async move { n >= CALLS }
    })
    .await;
    let mut hook_ends: HashMap<String, usize> = HashMap::new();
    for h in hooks.lock().unwrap().iter() {
        if h["call"]["state"] == "ended" && h["previousState"] != "ended" {
            *hook_ends
                .entry(h["callId"].as_str().unwrap_or_default().to_owned())
                .or_insert(0) += 1;
        }
    }
    assert!(
        webhooks_done,
        "seed {seed}: {} of {CALLS} ended webhooks arrived",
        hook_ends.len()
    );
    let twice: Vec<_> = hook_ends.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "seed {seed}: ended webhooks more than once: {twice:?}"
    );
    assert!(
        ids.iter().all(|id| hook_ends.contains_key(id)),
        "seed {seed}: a call without its ended webhook"
    );
    let dropped = fleet
        .platform
        .callbacks()
        .iter()
        .filter(|c| c.outcome == sipdial_testing::DeliveryOutcome::Dropped)
        .count();
    eprintln!(
        "chaos seed {seed}: {CALLS} calls placed in {placed_in:?}, {dropped} callbacks lost, {reconciled} calls reconciled, {refined} ends refined by a late callback, all ended once in {:?}",
        started.elapsed()
    );
    assert!(dropped > 0, "seed {seed}: the run lost no callback");
}
