//! The Server-Sent Events cases of the suite, for forms that can hand out an open
//! stream ([`StreamingIntegration`]): the snapshot, a live change, resuming with
//! `Last-Event-ID`, heartbeats, and the client's disconnect releasing its
//! subscription. Changes are driven through the same form's `POST /callbacks`, so
//! these cases also check that platform callbacks reach the API through it.

use std::future::Future;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::cases::{Outcome, create_session, dial, ensure};
use super::runner::{BackendFactory, CaseFailure, Cx};
use super::sse::{SseEvent, SseItem, TestStream};
use super::{Fixture, HttpIntegration, TestRequest};
use crate::SessionId;

/// A form that can also open a response as a stream.
pub trait StreamingIntegration: HttpIntegration {
    /// Sends `request` and returns the answer without waiting for its body to end.
    fn open(&self, request: TestRequest) -> impl Future<Output = TestStream>;
}

/// How long a case waits for an event that should come at once.
const PROMPT: Duration = Duration::from_secs(5);

fn events_request<I: HttpIntegration>(cx: &Cx<I>, session: &str) -> TestRequest {
    TestRequest::get(cx.path(&format!("/events?sessionId={session}")))
}

async fn open_events<I: StreamingIntegration>(
    cx: &Cx<I>,
    request: TestRequest,
) -> Result<TestStream, String> {
    let stream = cx.http.open(request).await;
    ensure(stream.status == StatusCode::OK, || {
        format!("GET /events answered {}", stream.status)
    })?;
    let ct = stream.header(CONTENT_TYPE.as_str()).unwrap_or_default();
    ensure(ct.starts_with("text/event-stream"), || {
        format!("GET /events has content type {ct:?}")
    })?;
    Ok(stream)
}

fn expect_event(event: &SseEvent, name: &str) -> Result<Value, String> {
    ensure(event.event == name, || {
        format!("expected a `{name}` event, got {event:?}")
    })?;
    event.json()
}

/// The calls of a snapshot event.
fn snapshot_calls(event: &SseEvent) -> Result<Vec<Value>, String> {
    let data = expect_event(event, "snapshot")?;
    data.get("calls")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("snapshot without `calls`: {data}"))
}

/// Reports `state` for `call` through the form's `POST /callbacks`.
async fn callback<I: HttpIntegration>(
    cx: &Cx<I>,
    session: &str,
    call: &Value,
    state: &str,
    at: u64,
) -> Outcome {
    let body = json!({
        "sessionId": session, "projectId": "123456", "event": "callUpdated",
        "timestamp": at, "state": state,
        "call": { "id": call["id"], "connectionId": call["connectionId"], "createdAt": at },
    });
    let res = cx.send(cx.signed_callback(&body)).await;
    ensure(res.status == StatusCode::OK, || {
        format!("POST /callbacks answered {}: {}", res.status, res.text())
    })?;
    let ack = res.json()?;
    ensure(ack["status"] == "applied", || {
        format!("the {state} callback was not applied: {ack}")
    })
}

fn state_of(call: &Value) -> &str {
    call.get("state").and_then(Value::as_str).unwrap_or("")
}

async fn subscribers_become<I: HttpIntegration>(cx: &Cx<I>, session: &str, want: usize) -> Outcome {
    let id = SessionId::new(session).map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + PROMPT;
    loop {
        let got = cx.fixture.api.event_subscribers(&id);
        if got == want {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "{got} open event streams after {PROMPT:?}, expected {want}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(super) async fn sse_snapshot_then_live_change<I: StreamingIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let mut stream = open_events(cx, events_request(cx, &session)).await?;
    let snapshot = stream.next_event(PROMPT).await?;
    let calls = snapshot_calls(&snapshot)?;
    ensure(
        calls.len() == 1 && calls[0]["id"] == call["id"] && state_of(&calls[0]) == "dialing",
        || format!("the snapshot should hold the dialing call: {calls:?}"),
    )?;
    let first_id = snapshot.id_order()?;
    callback(cx, &session, &call, "RINGING", 10).await?;
    let change = stream.next_event(PROMPT).await?;
    let data = expect_event(&change, "call")?;
    ensure(
        data["id"] == call["id"] && state_of(&data) == "ringing",
        || format!("expected the call ringing, got {data}"),
    )?;
    ensure(change.id_order()? > first_id, || {
        format!("event ids must increase: {first_id:?} then {:?}", change.id)
    })
}

pub(super) async fn sse_resumes_after_last_event_id<I: StreamingIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let mut stream = open_events(cx, events_request(cx, &session)).await?;
    stream.next_event(PROMPT).await?;
    callback(cx, &session, &call, "RINGING", 10).await?;
    let ringing = stream.next_event(PROMPT).await?;
    let seen = ringing.id_order()?;
    let seen_id = ringing.id.clone().unwrap_or_default();
    drop(stream);
    // Missed while disconnected.
    callback(cx, &session, &call, "ACTIVE", 20).await?;
    let last_event_id = HeaderName::from_static("last-event-id");
    let resume = events_request(cx, &session).header(
        last_event_id.clone(),
        HeaderValue::from_str(&seen_id).map_err(|e| e.to_string())?,
    );
    let mut stream = open_events(cx, resume).await?;
    let replayed = stream.next_event(PROMPT).await?;
    let data = expect_event(&replayed, "call")
        .map_err(|e| format!("a resume inside the buffer must replay, not snapshot: {e}"))?;
    ensure(
        state_of(&data) == "active" && replayed.id_order()? > seen,
        || format!("the missed ACTIVE change should be replayed after {seen_id}: {replayed:?}"),
    )?;
    drop(stream);
    // An id the server cannot serve from its buffer starts over with a snapshot.
    let stale = events_request(cx, &session).header(last_event_id, HeaderValue::from_static("1"));
    let mut stream = open_events(cx, stale).await?;
    let calls = snapshot_calls(&stream.next_event(PROMPT).await?)?;
    ensure(calls.first().map(state_of) == Some("active"), || {
        format!("the fresh snapshot should show the call active: {calls:?}")
    })
}

pub(super) async fn sse_sends_heartbeats<I: StreamingIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let mut stream = open_events(cx, events_request(cx, &session)).await?;
    stream.next_event(PROMPT).await?;
    match stream.next_item(Fixture::SSE_HEARTBEAT * 10).await? {
        SseItem::Other(text) if text == ": heartbeat\n\n" => Ok(()),
        other => Err(format!("expected a heartbeat comment, got {other:?}")),
    }
}

pub(super) async fn sse_disconnect_releases_the_subscription<I: StreamingIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let mut a = open_events(cx, events_request(cx, &session)).await?;
    let mut b = open_events(cx, events_request(cx, &session)).await?;
    a.next_event(PROMPT).await?;
    b.next_event(PROMPT).await?;
    subscribers_become(cx, &session, 2).await?;
    drop(a);
    subscribers_become(cx, &session, 1).await?;
    drop(b);
    subscribers_become(cx, &session, 0).await
}

pub(super) async fn sse_errors_are_json<I: StreamingIntegration>(cx: &Cx<I>) -> Outcome {
    for (path, want) in [
        (cx.path("/events"), StatusCode::BAD_REQUEST),
        (
            cx.path("/events?sessionId=1_unknown_session"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let res = cx.send(TestRequest::get(&path)).await;
        ensure(res.status == want, || {
            format!("GET {path}: expected {want}, got {}", res.status)
        })?;
        let body = res.json()?;
        ensure(body["error"]["code"].is_string(), || {
            format!("GET {path}: not an error body: {body}")
        })?;
    }
    Ok(())
}

/// Declares the streaming case list once, like the main suite.
macro_rules! streaming_suite {
    ($($case:ident),+ $(,)?) => {
        /// The name of every streaming case, in the order they run.
        pub const SSE_CASES: &[&str] = &[$(stringify!($case)),+];

        /// Runs every streaming case against `I`, each with a fresh [`Fixture`].
        pub async fn run_sse_suite_report<I: StreamingIntegration>() -> Vec<CaseFailure> {
            run_sse_suite_report_on::<I>(None).await
        }

        /// [`run_sse_suite_report`] over backends from `backend` (in memory when
        /// `None`).
        pub async fn run_sse_suite_report_on<I: StreamingIntegration>(
            backend: Option<BackendFactory>,
        ) -> Vec<CaseFailure> {
            let mut failures = Vec::new();
            $(
                let cx = Cx::<I>::new(backend.as_ref()).await;
                if let Err(message) = $case(&cx).await {
                    failures.push(CaseFailure { case: stringify!($case), message });
                }
            )+
            failures
        }
    };
}

streaming_suite![
    sse_snapshot_then_live_change,
    sse_resumes_after_last_event_id,
    sse_sends_heartbeats,
    sse_disconnect_releases_the_subscription,
    sse_errors_are_json,
];

/// Runs every streaming case against `I` and panics naming every failure.
///
/// # Panics
/// When any case fails.
pub async fn run_sse_suite<I: StreamingIntegration>() {
    sse_report(run_sse_suite_report::<I>().await);
}

/// [`run_sse_suite`] over backends from `backend`.
///
/// # Panics
/// When any case fails.
pub async fn run_sse_suite_on<I: StreamingIntegration>(backend: BackendFactory) {
    sse_report(run_sse_suite_report_on::<I>(Some(backend)).await);
}

fn sse_report(failures: Vec<CaseFailure>) {
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|f| format!("  - {f}")).collect();
        panic!(
            "{} of {} streaming cases failed:\n{}",
            failures.len(),
            SSE_CASES.len(),
            list.join("\n")
        );
    }
}
