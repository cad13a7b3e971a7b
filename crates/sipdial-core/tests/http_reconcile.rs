//! Reconciliation through the API over the `FakeDialer` (no progression: it sends no
//! events, like a platform whose callbacks are lost), on Tokio's paused clock: a leg
//! the platform no longer has ends its call once, `reconciled`; a leg still there is
//! left alone and checked again; a platform error ends nothing; a dialer that cannot
//! list turns it off.
#![cfg(feature = "fake")]

mod http_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use http_support::*;
use serde_json::Value;
use sipdial_core::api::{CallEvent, CallEventCause, CallState, TimerKind};
use sipdial_core::fake::{FakeDialer, Operation, Script};
use sipdial_core::{ConnectionId, DialError, SessionId, SipDialApiBuilder, SipDialer};

const EVERY: Duration = Duration::from_secs(5);
const AFTER: Duration = Duration::from_secs(10);

fn reconciling(
    configure: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder,
) -> (Fixture, Arc<Mutex<Vec<CallEvent>>>) {
    let fake = Arc::new(FakeDialer::builder().api_secret(API_SECRET).build());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let api = configure(builder(&fake))
        .timer_poll_interval(Duration::from_millis(100))
        .reconcile_calls(EVERY, AFTER)
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

/// The platform ends the leg and no callback ever says so.
async fn end_silently(f: &Fixture, call: &Value) {
    let session = SessionId::new(call["sessionId"].as_str().unwrap()).unwrap();
    let conn = ConnectionId::new(call["connectionId"].as_str().unwrap()).unwrap();
    assert!(f.fake.drop_leg(&session, &conn), "the fake had the leg");
}

fn reconciled_ends(seen: &Mutex<Vec<CallEvent>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e.call.state == CallState::Ended
                && e.previous != Some(CallState::Ended)
                && matches!(e.cause, CallEventCause::Timer(TimerKind::Reconcile))
        })
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_leg_the_platform_no_longer_has_ends_its_call_once() {
    let (f, seen) = reconciling(|b| b);
    let s = f.session("r").await;
    let gone = f.dial(&s).await;
    let stays = f.dial(&s).await;
    end_silently(&f, &gone).await;
    // Before the threshold nothing is asked.
    tokio::time::sleep(AFTER - Duration::from_secs(1)).await;
    assert_eq!(f.fake.count(Operation::ListConnections), 0);
    assert_eq!(get_call(&f, &gone).await["state"], "dialing");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ended = get_call(&f, &gone).await;
    assert_eq!(ended["state"], "ended", "{ended}");
    assert_eq!(ended["outcome"], "failed", "never answered");
    assert!(
        ended["endReason"]
            .as_str()
            .unwrap()
            .starts_with("Reconciled"),
        "{ended}"
    );
    assert_eq!(get_call(&f, &stays).await["state"], "dialing");
    // One list for the session's two calls.
    assert_eq!(f.fake.count(Operation::ListConnections), 1);
    // The leg still there is checked again every interval, and never ended.
    tokio::time::sleep(EVERY * 3).await;
    assert_eq!(get_call(&f, &stays).await["state"], "dialing");
    assert!(f.fake.count(Operation::ListConnections) >= 3);
    assert_eq!(
        reconciled_ends(&seen),
        1,
        "ended once, through the lifecycle"
    );
    // The reconciled call's leg was already gone: no hang-up is sent for it.
    assert_eq!(f.fake.count(Operation::HangUp), 0);
}

#[tokio::test(start_paused = true)]
async fn a_platform_error_ends_nothing_and_backs_off() {
    let (f, seen) = reconciling(|b| b);
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    end_silently(&f, &call).await;
    f.fake.script_always(
        Operation::ListConnections,
        Script::Fail(DialError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        }),
    );
    tokio::time::sleep(AFTER + Duration::from_secs(1)).await;
    assert_eq!(f.fake.count(Operation::ListConnections), 1);
    // Backed off for the platform's Retry-After: not asked again before it.
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(f.fake.count(Operation::ListConnections), 1);
    assert_eq!(get_call(&f, &call).await["state"], "dialing");
    assert_eq!(reconciled_ends(&seen), 0);
    // The platform answers again: the call ends.
    f.fake.clear_scripts();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(get_call(&f, &call).await["state"], "ended");
    assert_eq!(reconciled_ends(&seen), 1);
}

#[tokio::test(start_paused = true)]
async fn a_change_pushes_the_check_back() {
    let (f, _seen) = reconciling(|b| b);
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    tokio::time::sleep(AFTER - Duration::from_secs(2)).await;
    // A callback (any change) at 8 s: the threshold runs from it.
    let body = serde_json::json!({
        "sessionId": s, "event": "callUpdated", "timestamp": 1, "state": "RINGING",
        "call": { "id": call["id"], "connectionId": call["connectionId"] }
    });
    let res = f.send(Method::POST, "/sip/callbacks", Some(body)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(get_call(&f, &call).await["state"], "ringing");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(f.fake.count(Operation::ListConnections), 0);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(f.fake.count(Operation::ListConnections), 1);
}

/// A dialer that cannot list (the trait's default): reconciliation is off.
struct NoList(Arc<FakeDialer>);

#[sipdial_core::async_trait]
impl SipDialer for NoList {
    fn platform(&self) -> sipdial_core::PlatformInfo {
        self.0.platform()
    }
    async fn create_session(
        &self,
        o: sipdial_core::SessionOptions,
    ) -> Result<SessionId, DialError> {
        self.0.create_session(o).await
    }
    fn issue_token(
        &self,
        s: &SessionId,
        o: sipdial_core::TokenOptions,
    ) -> Result<sipdial_core::ClientToken, DialError> {
        self.0.issue_token(s, o)
    }
    async fn dial(&self, r: sipdial_core::DialRequest) -> Result<sipdial_core::SipCall, DialError> {
        self.0.dial(r).await
    }
    async fn hang_up(&self, s: &SessionId, c: &ConnectionId) -> Result<(), DialError> {
        self.0.hang_up(s, c).await
    }
    async fn play_dtmf(
        &self,
        t: &sipdial_core::DtmfTarget,
        d: &sipdial_core::Dtmf,
    ) -> Result<(), DialError> {
        self.0.play_dtmf(t, d).await
    }
    async fn force_mute(
        &self,
        s: &SessionId,
        st: &sipdial_core::StreamId,
    ) -> Result<(), DialError> {
        self.0.force_mute(s, st).await
    }
    async fn list_streams(
        &self,
        s: &SessionId,
    ) -> Result<Vec<sipdial_core::StreamInfo>, DialError> {
        self.0.list_streams(s).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_dialer_that_cannot_list_turns_it_off() {
    let fake = Arc::new(FakeDialer::builder().api_secret(API_SECRET).build());
    let dialer: Arc<dyn SipDialer> = Arc::new(NoList(Arc::clone(&fake)));
    assert!(!dialer.lists_connections());
    let api = builder_for(dialer)
        .timer_poll_interval(Duration::from_millis(100))
        .reconcile_calls(EVERY, AFTER)
        .build()
        .unwrap();
    let f = Fixture { fake, api };
    let s = f.session("r").await;
    let call = f.dial(&s).await;
    end_silently(&f, &call).await;
    tokio::time::sleep(AFTER * 3).await;
    assert_eq!(get_call(&f, &call).await["state"], "dialing");
    assert_eq!(f.fake.count(Operation::ListConnections), 0);
}

#[tokio::test]
async fn intervals_below_a_second_are_refused() {
    let fake = Arc::new(FakeDialer::builder().api_secret(API_SECRET).build());
    let refused = builder(&fake)
        .reconcile_calls(Duration::from_millis(10), AFTER)
        .build();
    assert!(refused.is_err());
}
