//! The call policies' timers through the API over the `FakeDialer`, on Tokio's paused
//! clock: the ring timeout, the maximum duration and the expiry each end the call with
//! their outcome and hang it up once; a timer that no longer applies does nothing; the
//! poller stops with the API.
#![cfg(feature = "fake")]

mod http_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use http_support::*;
use serde_json::Value;
use sipdial_core::api::{
    Backend, CallEvent, CallEventCause, InMemoryCallTimers, SipTarget, TimerKind,
};
use sipdial_core::fake::{CallProgression, FakeDialer, Operation, Script};
use sipdial_core::{DialError, SipDialApiBuilder, SipUri};

/// An API over a fake that rings after 1 s and answers `answer_after` later, with
/// `configure` applied; records every hook event.
fn timed(
    answer_after: Duration,
    configure: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder,
) -> (Fixture, Arc<Mutex<Vec<CallEvent>>>) {
    let fake = Arc::new(
        FakeDialer::builder()
            .api_secret(API_SECRET)
            .progression(CallProgression {
                ring_after: Duration::from_secs(1),
                answer_after,
                hang_up_after: None,
            })
            .build(),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let api = configure(builder(&fake))
        .timer_poll_interval(Duration::from_millis(100))
        .on_call_event(Arc::new(move |e: &CallEvent| {
            hook_seen.lock().unwrap().push(e.clone());
        }))
        .build()
        .unwrap();
    (Fixture { fake, api }, seen)
}

async fn get_call(f: &Fixture, call: &Value) -> Value {
    let id = call["id"].as_str().unwrap();
    let res = f.send(Method::GET, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(res.status, 200);
    res.json()
}

async fn sleep_secs(s: u64) {
    tokio::time::sleep(Duration::from_secs(s)).await;
}

fn timer_causes(seen: &Mutex<Vec<CallEvent>>) -> Vec<TimerKind> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e.cause {
            CallEventCause::Timer(k) => Some(k),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_call_is_hung_up_at_the_ring_timeout() {
    let (f, seen) = timed(Duration::from_secs(120), |b| {
        b.default_ring_timeout(Duration::from_secs(30))
    });
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    sleep_secs(10).await;
    assert_eq!(get_call(&f, &call).await["state"], "ringing");
    assert_eq!(f.fake.count(Operation::HangUp), 0);
    sleep_secs(21).await;
    let got = get_call(&f, &call).await;
    assert_eq!(got["state"], "ended", "{got}");
    assert_eq!(got["outcome"], "no_answer", "{got}");
    assert_eq!(f.fake.count(Operation::HangUp), 1);
    // The platform's report of the hang-up explains the end, and keeps the outcome.
    assert_eq!(got["sipCode"], 700, "{got}");
    assert_eq!(timer_causes(&seen), [TimerKind::RingTimeout]);
    // Once.
    sleep_secs(300).await;
    assert_eq!(f.fake.count(Operation::HangUp), 1);
    assert_eq!(timer_causes(&seen).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_answer_in_time_cancels_the_ring_timeout_and_a_targets_own_wins() {
    // The default would hang up at 5 s; the target's own 30 s lets the answer at 11 s
    // through.
    let (f, seen) = timed(Duration::from_secs(10), |b| {
        b.default_ring_timeout(Duration::from_secs(5)).target(
            SipTarget::new("patient", SipUri::new("sip:p@pbx.example.com").unwrap())
                .ring_timeout(Duration::from_secs(30)),
        )
    });
    let s = f.session("r").await;
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(serde_json::json!({ "sessionId": s, "target": "patient" })),
        )
        .await;
    assert_eq!(res.status, 201);
    let call = res.json();
    sleep_secs(60).await;
    let got = get_call(&f, &call).await;
    assert_eq!(got["state"], "active", "{got}");
    assert!(got["answeredAt"].as_u64().is_some(), "{got}");
    assert_eq!(f.fake.count(Operation::HangUp), 0);
    assert!(timer_causes(&seen).is_empty());
    // The default target's calls get the default.
    let call = f.dial(&s).await;
    sleep_secs(6).await;
    assert_eq!(get_call(&f, &call).await["outcome"], "no_answer");
}

#[tokio::test(start_paused = true)]
async fn an_answered_call_is_hung_up_at_the_max_duration() {
    let (f, seen) = timed(Duration::from_secs(2), |b| {
        b.default_ring_timeout(Duration::from_secs(30))
            .default_max_duration(Duration::from_secs(60))
    });
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    sleep_secs(40).await;
    // Answered at 3 s: the ring timeout no longer applies.
    assert_eq!(get_call(&f, &call).await["state"], "active");
    sleep_secs(24).await;
    let got = get_call(&f, &call).await;
    assert_eq!(got["outcome"], "max_duration", "{got}");
    assert!(got["answeredAt"].as_u64().is_some(), "{got}");
    assert!(got["durationMs"].as_u64().is_some(), "{got}");
    assert_eq!(f.fake.count(Operation::HangUp), 1);
    assert_eq!(timer_causes(&seen), [TimerKind::MaxDuration]);
}

#[tokio::test(start_paused = true)]
async fn a_call_without_events_expires_and_a_failed_hang_up_is_retried() {
    let (f, seen) = timed(Duration::from_secs(3600), |b| {
        b.call_expiry(Duration::from_secs(600))
    });
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    f.fake
        .script_once(Operation::HangUp, Script::Fail(DialError::Timeout));
    // Ringing at 1 s pushed the expiry to 601 s.
    sleep_secs(590).await;
    assert_eq!(get_call(&f, &call).await["state"], "ringing");
    sleep_secs(15).await;
    let got = get_call(&f, &call).await;
    assert_eq!(got["outcome"], "expired", "{got}");
    assert_eq!(got["endReason"], "Normal Clearing", "{got}");
    assert_eq!(f.fake.count(Operation::HangUp), 2);
    assert_eq!(timer_causes(&seen), [TimerKind::Expiry]);
    // Ended calls keep no timers: nothing more happens.
    sleep_secs(3600).await;
    assert_eq!(f.fake.count(Operation::HangUp), 2);
}

#[tokio::test(start_paused = true)]
async fn our_hang_up_before_the_timer_leaves_it_nothing_to_do() {
    let (f, seen) = timed(Duration::from_secs(120), |b| {
        b.default_ring_timeout(Duration::from_secs(30))
    });
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    sleep_secs(5).await;
    let id = call["id"].as_str().unwrap();
    assert_eq!(
        f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
            .await
            .status,
        204
    );
    sleep_secs(60).await;
    assert_eq!(get_call(&f, &call).await["outcome"], "canceled");
    assert_eq!(f.fake.count(Operation::HangUp), 1);
    assert!(timer_causes(&seen).is_empty());
}

#[test]
fn the_poller_stops_with_the_api() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let alive = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        let before = alive();
        let fake = Arc::new(FakeDialer::new());
        let api = builder(&fake)
            .default_ring_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        // Built inside a runtime: it polls at once.
        assert_eq!(alive(), before + 1);
        let again = api.clone();
        drop(api);
        tokio::task::yield_now().await;
        assert_eq!(alive(), before + 1, "a clone still serves");
        drop(again);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(alive(), before);
    });
}

#[tokio::test(start_paused = true)]
async fn ended_calls_keep_no_timers() {
    let timers = Arc::new(InMemoryCallTimers::new());
    let (f, _) = timed(Duration::from_secs(2), |b| {
        many_clients(b)
            .default_ring_timeout(Duration::from_secs(30))
            .default_max_duration(Duration::from_secs(60))
            .max_active_calls_per_session(50)
            .dials_per_minute(100)
            .backend(Backend::in_memory().with_timers(timers.clone()))
    });
    let s = f.session("r").await;
    let mut calls = Vec::new();
    for _ in 0..20 {
        calls.push(f.dial(&s).await);
    }
    // Ringing: a ring timeout and an expiry each.
    assert_eq!(timers.len(), 40);
    sleep_secs(5).await;
    // Answered: a max duration and an expiry each.
    assert_eq!(timers.len(), 40);
    for call in &calls[..10] {
        let id = call["id"].as_str().unwrap();
        f.send(Method::DELETE, &format!("/sip/calls/{id}"), None)
            .await;
    }
    assert_eq!(timers.len(), 20);
    // The rest reach their max duration.
    sleep_secs(60).await;
    assert!(timers.is_empty(), "{} left", timers.len());
    for call in &calls[10..] {
        assert_eq!(get_call(&f, call).await["outcome"], "max_duration");
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_for_the_answer_ends_with_the_ring_timeout() {
    // No answer for 120 s; the ring timeout of 20 s ends the call, and the wait (which
    // would otherwise last 60 s) answers with that end.
    let (f, _) = timed(Duration::from_secs(120), |b| {
        b.default_ring_timeout(Duration::from_secs(20))
    });
    let s = f.session("r").await;
    let started = tokio::time::Instant::now();
    let res = f
        .send(
            Method::POST,
            "/sip/dial?wait=answered",
            Some(serde_json::json!({ "sessionId": s })),
        )
        .await;
    assert_eq!(res.status, 201);
    let call = res.json();
    assert_eq!(call["state"], "ended", "{call}");
    assert_eq!(call["outcome"], "no_answer", "{call}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(20) && waited < Duration::from_secs(25),
        "{waited:?}"
    );
}
