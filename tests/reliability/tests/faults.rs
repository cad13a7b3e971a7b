//! Every platform fault through the whole path (HTTP API → `OpenTokDialer` → HTTP →
//! `FakePlatform`), for every route that reaches the platform: the caller gets the
//! right status and JSON error within the configured timeout, the store holds no call
//! in a wrong state, no task or socket is left behind, and the next request succeeds.
//!
//! Each test owns a runtime (so its task count is its own) and a fake platform (so its
//! socket count is its own); the fake serves from a runtime of its own.

use std::future::Future;
use std::time::Duration;

use http::Method;
use sipdial_core::{Room, SessionId};
use sipdial_opentok::RetryPolicy;
use sipdial_reliability_tests::probe::{self, Counts};
use sipdial_reliability_tests::{PlatformHost, Reply, Stack, StackConfig};
use sipdial_testing::{Fault, FaultRule};

/// The dialer's request timeout in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Scheduling slack on top of the timeout (debug build, two cores, parallel tests).
const SLACK: Duration = Duration::from_millis(400);
/// How long a stalled platform stalls: far beyond the timeout.
const STALL: Duration = Duration::from_secs(3);

fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn config() -> StackConfig {
    StackConfig {
        timeout: TIMEOUT,
        ..StackConfig::default()
    }
}

/// A route that reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `POST /session` for a new room: creates a platform session.
    Session,
    /// `POST /dial`.
    Dial,
    /// `DELETE /calls/{id}`: retried by the dialer.
    HangUp,
    /// `POST /calls/{id}/dtmf`.
    Dtmf,
}

impl Route {
    /// The rule matching this route's platform request.
    fn rule(self, fault: Fault) -> FaultRule {
        match self {
            Route::Session => FaultRule::new(fault).path_contains("/session/create"),
            Route::Dial => FaultRule::new(fault).path_contains("/dial"),
            Route::HangUp => FaultRule::new(fault).method(Method::DELETE),
            Route::Dtmf => FaultRule::new(fault).path_contains("/play-dtmf"),
        }
    }
}

impl Route {
    /// Whether the platform request `r` is this route's.
    fn matches(self, r: &sipdial_testing::RecordedRequest) -> bool {
        match self {
            Route::Session => r.path.ends_with("/session/create"),
            Route::Dial => r.path.ends_with("/dial"),
            Route::HangUp => r.method == Method::DELETE,
            Route::Dtmf => r.path.ends_with("/play-dtmf"),
        }
    }
}

/// What the caller must get: a success, or an error status and code (and the
/// `Retry-After` it must carry).
#[derive(Debug, Clone, Copy)]
enum Expect {
    Ok,
    Error(u16, &'static str),
    Limited(&'static str),
}

fn status(status: u16, body: Option<&str>, retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status,
        body: body.map(str::to_owned),
        retry_after,
    }
}

/// The faults every route is put through, with what a non-retried route answers.
fn faults() -> Vec<(&'static str, Fault, Expect)> {
    vec![
        (
            "timeout",
            Fault::Delay(STALL),
            Expect::Error(504, "platform_timeout"),
        ),
        (
            "reset",
            Fault::DropConnection,
            Expect::Error(502, "platform_unreachable"),
        ),
        (
            "500",
            status(
                500,
                Some(r#"{"code":15001,"message":"internal detail"}"#),
                None,
            ),
            Expect::Error(502, "platform_error"),
        ),
        (
            "503 html",
            status(503, Some("<html>Service Unavailable</html>"), None),
            Expect::Error(502, "platform_error"),
        ),
        ("429", status(429, None, Some(7)), Expect::Limited("7")),
        (
            "malformed json",
            Fault::MalformedJson,
            Expect::Error(502, "platform_error"),
        ),
        (
            "slow body",
            Fault::SlowBody(STALL),
            Expect::Error(504, "platform_timeout"),
        ),
    ]
}

/// The fixture of one scenario: a session (and a call, for call routes).
struct Fixture {
    room: String,
    session: String,
    call: Option<String>,
}

async fn fixture(stack: &Stack, route: Route, name: &str) -> Fixture {
    let room = format!("room-{}", name.replace(' ', "-"));
    let session = stack.new_session(&room).await;
    let call = match route {
        Route::HangUp | Route::Dtmf => Some(stack.new_call(&session).await),
        Route::Session | Route::Dial => None,
    };
    if route == Route::Dtmf {
        let r = stack.dtmf(call.as_deref().unwrap_or_default(), "1").await;
        assert_eq!(r.status, 204, "{r:?}");
    }
    Fixture {
        room,
        session,
        call,
    }
}

/// Sends the route's request; for `Session` a room that has no session yet.
async fn exercise(stack: &Stack, route: Route, fx: &Fixture, attempt: usize) -> Reply {
    match route {
        Route::Session => {
            stack
                .create_session(&format!("{}-new-{attempt}", fx.room))
                .await
        }
        Route::Dial => stack.dial(&fx.session).await,
        Route::HangUp => stack.hang_up(fx.call.as_deref().unwrap_or_default()).await,
        Route::Dtmf => {
            stack
                .dtmf(fx.call.as_deref().unwrap_or_default(), "123#")
                .await
        }
    }
}

fn calls_of(reply: &Reply) -> Vec<serde_json::Value> {
    reply.json["calls"].as_array().cloned().unwrap_or_default()
}

/// Checks the store after a failed request: nothing recorded, nothing moved.
async fn assert_store_unchanged(
    stack: &Stack,
    route: Route,
    fx: &Fixture,
    before: &[serde_json::Value],
) {
    let after = calls_of(&stack.list_calls(&fx.session, true).await);
    assert_eq!(after, before, "{route:?}: the failure changed the store");
    if route == Route::Session {
        let room = Room::new(format!("{}-new-0", fx.room)).expect("a room");
        let mapped = stack.api.store().room_session(&room).await.expect("store");
        assert_eq!(mapped, None, "a failed creation mapped the room");
    }
}

/// Checks the store after a successful request.
async fn assert_store_after_success(
    stack: &Stack,
    host: &PlatformHost,
    route: Route,
    fx: &Fixture,
    reply: &Reply,
    before: &[serde_json::Value],
) {
    match route {
        Route::Session => {
            let id = reply.json["sessionId"].as_str().expect("sessionId");
            let sid = SessionId::new(id).expect("a session id");
            assert!(
                stack
                    .api
                    .store()
                    .is_known_session(&sid)
                    .await
                    .expect("store")
            );
        }
        Route::Dial => {
            let id = reply.json["id"].as_str().expect("call id");
            let active = calls_of(&stack.list_calls(&fx.session, false).await);
            assert_eq!(active.len(), before.len() + 1, "{active:?}");
            assert!(active.iter().any(|c| c["id"] == id));
            let conn = reply.json["connectionId"].as_str().expect("connectionId");
            assert!(
                host.connections(&fx.session)
                    .iter()
                    .any(|c| c.connection_id == conn && c.sip.is_some()),
                "the recorded call is on the platform"
            );
        }
        Route::HangUp => {
            let call = fx.call.as_deref().unwrap_or_default();
            assert_eq!(stack.call_state(call).await, "ended");
        }
        Route::Dtmf => {
            let call = fx.call.as_deref().unwrap_or_default();
            assert_ne!(stack.call_state(call).await, "ended");
        }
    }
}

fn assert_expected(reply: &Reply, expect: Expect, what: &str) {
    match expect {
        Expect::Ok => assert!(
            (200..300).contains(&reply.status),
            "{what}: expected success, got {reply:?}"
        ),
        Expect::Error(status, code) => reply.assert_error(status, code),
        Expect::Limited(after) => {
            reply.assert_error(429, "platform_rate_limited");
            assert_eq!(reply.header("retry-after"), Some(after), "{what}");
        }
    }
    let body = reply.json.to_string();
    for leak in ["internal detail", "15001", "<html>", "8d2c0e1a"] {
        assert!(
            !body.contains(leak),
            "{what}: platform text reached the caller: {body}"
        );
    }
}

/// One scenario: set up, inject, request (answer, bound, store), recover, count.
async fn scenario(
    host: &PlatformHost,
    stack: &Stack,
    route: Route,
    name: &str,
    rule: FaultRule,
    expect: Expect,
) {
    let what = format!("{route:?} / {name}");
    let port = host.local_addr().port();
    let fx = fixture(stack, route, &format!("{route:?}-{name}")).await;
    let before = calls_of(&stack.list_calls(&fx.session, true).await);
    let before_state = match &fx.call {
        Some(c) => Some(stack.call_state(c).await),
        None => None,
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let baseline = probe::counts(port);
    // The probe sees the pooled connections earlier requests left open: one, or two when
    // a retry opened a second connection while the first was still busy (timing-dependent
    // on a loaded machine). More means an earlier scenario leaked.
    assert!((1..=2).contains(&baseline.sockets), "{what}: {baseline:?}");

    host.clear_requests();
    host.inject(rule);
    let reply = exercise(stack, route, &fx, 0).await;
    host.clear_faults();
    let attempts = host.requests().iter().filter(|r| route.matches(r)).count();
    if route == Route::HangUp {
        assert!((1..=3).contains(&attempts), "{what}: {attempts} attempts");
    } else {
        assert_eq!(attempts, 1, "{what}: never retried");
    }
    assert_expected(&reply, expect, &what);
    assert!(
        reply.elapsed <= stack.config.timeout + SLACK,
        "{what}: answered after {:?}",
        reply.elapsed
    );

    match expect {
        Expect::Ok => {
            assert_store_after_success(stack, host, route, &fx, &reply, &before).await;
        }
        Expect::Error(..) | Expect::Limited(..) => {
            assert_store_unchanged(stack, route, &fx, &before).await;
            if let (Some(call), Some(state)) = (&fx.call, &before_state) {
                assert_eq!(
                    &stack.call_state(call).await,
                    state,
                    "{what}: a failed request moved the call"
                );
            }
            // The next request succeeds.
            let next = exercise(stack, route, &fx, 1).await;
            assert!((200..300).contains(&next.status), "{what}: next: {next:?}");
            assert_store_after_success(stack, host, route, &fx, &next, &before).await;
        }
    }

    // The pool may keep a second connection the scenario opened (a retry, or the next
    // request racing a connection the fault closed) idle, with its one connection task:
    // that is the pool, not a leak. Two is its ceiling here, and the baseline check at
    // the start of every scenario catches any growth beyond it.
    let pooled = 2usize.saturating_sub(baseline.sockets);
    let limit = probe::Counts {
        tasks: baseline.tasks + pooled,
        sockets: baseline.sockets + pooled,
    };
    let settled = probe::settle(port, limit, Duration::from_secs(3)).await;
    assert!(
        settled.tasks <= limit.tasks && settled.sockets <= limit.sockets,
        "{what}: leaked: before {baseline:?}, after {settled:?}"
    );
}

fn run_matrix(route: Route, expectations: impl Fn(&str, Expect) -> Expect) {
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let stack = Stack::new(&host.url(), config());
        for (name, fault, expect) in faults() {
            let rule = route.rule(fault).once();
            scenario(&host, &stack, route, name, rule, expectations(name, expect)).await;
        }
    });
}

#[test]
fn session_creation_survives_every_fault() {
    run_matrix(Route::Session, |_, e| e);
}

#[test]
fn dial_survives_every_fault() {
    run_matrix(Route::Dial, |_, e| e);
}

#[test]
fn dtmf_survives_every_fault() {
    // DTMF's 200 has no body to read, so a malformed one does not matter.
    run_matrix(Route::Dtmf, |name, e| match name {
        "malformed json" => Expect::Ok,
        _ => e,
    });
}

#[test]
fn a_transient_hang_up_fault_is_retried_away() {
    // Once-only faults: the retry succeeds, except a stall (the first attempt used the
    // whole deadline) and a Retry-After beyond the cap.
    run_matrix(Route::HangUp, |name, e| match name {
        "timeout" | "slow body" | "429" => e,
        _ => Expect::Ok,
    });
}

#[test]
fn a_persistent_hang_up_fault_leaves_the_call_active() {
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let stack = Stack::new(&host.url(), config());
        for (name, fault, expect) in faults() {
            let expect = match name {
                "malformed json" => Expect::Ok,
                _ => expect,
            };
            // `times: None`: every attempt fails until cleared.
            let rule = Route::HangUp.rule(fault);
            scenario(&host, &stack, Route::HangUp, name, rule, expect).await;
        }
    });
}

#[test]
fn a_refused_connection_fails_fast_and_the_platform_coming_back_heals() {
    let addr = probe::closed_port().expect("a port");
    run(async {
        let stack = Stack::new(&format!("http://{addr}"), config());
        let baseline = probe::counts(addr.port());
        let r = stack.create_session("refused").await;
        r.assert_error(502, "platform_unreachable");
        assert!(r.elapsed <= TIMEOUT + SLACK, "{:?}", r.elapsed);
        let room = Room::new("refused").expect("a room");
        assert_eq!(
            stack.api.store().room_session(&room).await.expect("store"),
            None
        );

        // The platform comes back on its port: the next request succeeds.
        let mut host = PlatformHost::start_at(addr).expect("the port is free again");
        let sid = stack.new_session("refused").await;
        let call = stack.new_call(&sid).await;

        // It goes away again while the call is up: the hang-up is retried, fails
        // within the timeout and leaves the call as it was; a dial fails the same way.
        host.stop();
        let r = stack.hang_up(&call).await;
        r.assert_error(502, "platform_unreachable");
        assert!(r.elapsed <= TIMEOUT + SLACK, "{:?}", r.elapsed);
        assert_eq!(stack.call_state(&call).await, "dialing");
        let r = stack.dial(&sid).await;
        r.assert_error(502, "platform_unreachable");
        assert_eq!(calls_of(&stack.list_calls(&sid, true).await).len(), 1);

        // Back once more, as a fresh platform that lost the call: the hang-up ends it.
        let _host = PlatformHost::start_at(addr).expect("the port is free again");
        let r = stack.hang_up(&call).await;
        assert_eq!(r.status, 204, "{r:?}");
        assert_eq!(stack.call_state(&call).await, "ended");
        // What is left is at most the pooled connection to the platform and its tasks
        // (hyper's connection task and its pool watcher).
        let limit = Counts {
            tasks: baseline.tasks + 2,
            sockets: 1,
        };
        let settled = probe::settle(addr.port(), limit, Duration::from_secs(3)).await;
        assert!(
            settled.tasks <= limit.tasks && settled.sockets <= limit.sockets,
            "{settled:?} vs {baseline:?}: at most the one pooled connection remains"
        );
    });
}

#[test]
fn a_slow_but_timely_platform_is_waited_for() {
    // Below the timeout, slowness is not a fault.
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let stack = Stack::new(&host.url(), config());
        let sid = stack.new_session("slow").await;
        host.inject(
            Route::Dial
                .rule(Fault::Delay(Duration::from_millis(200)))
                .once(),
        );
        let r = stack.dial(&sid).await;
        assert_eq!(r.status, 201, "{r:?}");
        assert!(r.elapsed >= Duration::from_millis(200));
        host.inject(
            Route::Dial
                .rule(Fault::SlowBody(Duration::from_millis(200)))
                .once(),
        );
        let r = stack.dial(&sid).await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(calls_of(&stack.list_calls(&sid, false).await).len(), 2);
    });
}

#[test]
fn a_platform_rate_limit_within_the_cap_is_waited_out_on_hang_up() {
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let stack = Stack::new(
            &host.url(),
            StackConfig {
                timeout: Duration::from_secs(3),
                retry: RetryPolicy::default().max_retry_after(Duration::from_secs(2)),
                ..StackConfig::default()
            },
        );
        let sid = stack.new_session("limited").await;
        let call = stack.new_call(&sid).await;
        host.inject(Route::HangUp.rule(status(429, None, Some(1))).once());
        let r = stack.hang_up(&call).await;
        assert_eq!(r.status, 204, "{r:?}");
        assert!(r.elapsed >= Duration::from_secs(1), "{:?}", r.elapsed);
        assert_eq!(stack.call_state(&call).await, "ended");
        // The dial is not retried: the caller gets the 429 and its Retry-After.
        host.inject(Route::Dial.rule(status(429, None, Some(1))).once());
        let r = stack.dial(&sid).await;
        r.assert_error(429, "platform_rate_limited");
        assert_eq!(r.header("retry-after"), Some("1"));
        let dials = host
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/dial"))
            .count();
        assert_eq!(dials, 2, "one for the call, one refused: no retry");
    });
}

#[test]
fn counts_are_checked_against_a_real_leak() {
    // The probe is not blind: connections held open by the test are seen.
    let host = PlatformHost::start().expect("fake platform");
    run(async {
        let port = host.local_addr().port();
        let before = probe::counts(port);
        let held: Vec<_> = futures_held(port, 3).await;
        let during = probe::counts(port);
        assert_eq!(during.sockets, before.sockets + 3, "{before:?} {during:?}");
        drop(held);
        let after = probe::settle(port, before, Duration::from_secs(2)).await;
        assert_eq!(after.sockets, before.sockets);
        let t0 = probe::alive_tasks();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = rx.await;
        });
        assert_eq!(probe::alive_tasks(), t0 + 1);
        drop(tx);
        let _ = task.await;
        assert_eq!(
            probe::settle(
                port,
                Counts {
                    tasks: t0,
                    sockets: usize::MAX
                },
                Duration::from_secs(1)
            )
            .await
            .tasks,
            t0
        );
    });
}

async fn futures_held(port: u16, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect"),
        );
    }
    v
}
