//! A callback that reaches replica B before replica A has recorded its dial, through
//! the one-script dial recording: parked in Redis and applied after the call's own
//! `dialing` entry; or, with unknown calls recorded, recorded by B and then merged by
//! A's dial without moving backwards, counted once, its dial slot freed.

mod support;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde_json::{Value, json};
use sipdial_core::api::{ApplyOutcome, Backend};
use sipdial_core::events::{CallRef, PlatformCallState};
use sipdial_core::{
    ClientToken, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, PlatformEvent,
    PlatformEventKind, PlatformInfo, SessionId, SessionOptions, SipCall, SipDialApi, SipDialer,
    StreamId, StreamInfo, TokenOptions,
};
use sipdial_opentok::OpenTokDialer;
use sipdial_testing::FakePlatform;
use support::replica::{Replica, api_over, dialer};

/// A dialer whose platform tells replica `other` that the call rings before the dial's
/// answer is back.
struct Racing {
    inner: OpenTokDialer,
    other: OnceLock<SipDialApi>,
    expect: ApplyOutcome,
}

#[async_trait]
impl SipDialer for Racing {
    fn platform(&self) -> PlatformInfo {
        self.inner.platform()
    }
    async fn create_session(&self, o: SessionOptions) -> Result<SessionId, DialError> {
        self.inner.create_session(o).await
    }
    fn issue_token(&self, s: &SessionId, o: TokenOptions) -> Result<ClientToken, DialError> {
        self.inner.issue_token(s, o)
    }
    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError> {
        let call = self.inner.dial(request).await?;
        let early = PlatformEvent::new(
            call.session_id.clone(),
            PlatformEventKind::CallUpdated {
                call: CallRef::new(call.id.clone(), call.connection_id.clone()),
                state: PlatformCallState::Ringing,
            },
        );
        let other = self.other.get().expect("the other replica is set");
        assert_eq!(other.apply_event(early).await.unwrap(), self.expect);
        Ok(call)
    }
    async fn hang_up(&self, s: &SessionId, c: &ConnectionId) -> Result<(), DialError> {
        self.inner.hang_up(s, c).await
    }
    async fn play_dtmf(&self, t: &DtmfTarget, d: &Dtmf) -> Result<(), DialError> {
        self.inner.play_dtmf(t, d).await
    }
    async fn force_mute(&self, s: &SessionId, st: &StreamId) -> Result<(), DialError> {
        self.inner.force_mute(s, st).await
    }
    async fn list_streams(&self, s: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        self.inner.list_streams(s).await
    }
}

/// Replica A dials through a racing dialer; the early event goes to replica B.
async fn race(
    redis: &support::RedisServer,
    record_unknown: bool,
    expect: ApplyOutcome,
) -> (Value, Vec<Value>, i64, usize) {
    let platform = FakePlatform::start().await.unwrap();
    platform.clear_call_script();
    let prefix = support::fresh_prefix();
    let racing = Arc::new(Racing {
        inner: dialer(&platform.url()),
        other: OnceLock::new(),
        expect,
    });
    let backend = |p: String| {
        let url = redis.url();
        async move { Backend::from(support::backend(&url, &p).await) }
    };
    let a = api_over(racing.clone(), backend(prefix.clone()).await, |b| {
        b.record_unknown_calls(record_unknown)
    });
    let b = api_over(
        Arc::new(dialer(&platform.url())),
        backend(prefix.clone()).await,
        |b| b.record_unknown_calls(record_unknown),
    );
    racing.other.set(b).expect("set once");
    let a = Replica::axum("A", a).await;
    let res = a.post("/session", json!({ "room": "race" })).await;
    let session = res.json().unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = a.post("/dial", json!({ "sessionId": session })).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let call = res.json().unwrap();

    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{prefix}events:{session}"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let logged = entries
        .iter()
        .map(|(_, fields)| serde_json::from_str(&fields[0].1).unwrap())
        .collect();
    let active: i64 = redis::cmd("GET")
        .arg(format!("{prefix}active:{session}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let in_flight: usize = redis::cmd("ZCARD")
        .arg(format!("{prefix}inflight:{session}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    (call, logged, active, in_flight)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_callback_is_parked_and_applied_after_the_dialing_entry() {
    let redis = redis_or_skip!();
    let (call, logged, active, in_flight) = race(&redis, false, ApplyOutcome::Ignored).await;
    assert_eq!(call["state"], "ringing", "{call}");
    let states: Vec<&str> = logged
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["dialing", "ringing"]);
    assert!(logged.iter().all(|c| c["target"] == "support"));
    assert_eq!((active, in_flight), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_callback_recorded_as_unknown_is_merged_by_the_dial() {
    let redis = redis_or_skip!();
    let (call, logged, active, in_flight) = race(&redis, true, ApplyOutcome::Applied).await;
    // The dial's own facts over the state the callback recorded: never back to dialing.
    assert_eq!(call["state"], "ringing", "{call}");
    assert_eq!(call["target"], "support");
    assert!(call["streamId"].is_string(), "{call}");
    let last = logged.last().expect("entries");
    assert_eq!(last["state"], "ringing");
    assert_eq!(last["target"], "support");
    // Counted once, and the dial slot went with the recording.
    assert_eq!((active, in_flight), (1, 0));
}
