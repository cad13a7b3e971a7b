//! `POST /dial?wait=answered`: answered, over, not answered in time, and a client
//! that leaves.

use std::time::{Duration, Instant};

use futures_util::future::join;

use super::control::{answered, callback};
use super::*;

/// The call of `session` once the dial has recorded it (polled through the API, up to
/// 5 s).
async fn placed_call<I: HttpIntegration>(cx: &Cx<I>, session: &str) -> Result<Value, String> {
    for _ in 0..250 {
        let res = cx
            .send(TestRequest::get(
                cx.path(&format!("/calls?sessionId={session}&all=true")),
            ))
            .await;
        let body = json_ok(&res, StatusCode::OK)?;
        if let Some(call) = list(&body, "calls")?.first() {
            return Ok(call.clone());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("the dial never recorded its call".to_owned())
}

fn wait_dial<I: HttpIntegration>(cx: &Cx<I>, session: &str) -> TestRequest {
    cx.post_json("/dial?wait=answered", json!({ "sessionId": session }))
}

/// Dials with `wait=answered` while `event` is reported once the call is placed;
/// returns the dial's answer.
async fn dial_while<I: HttpIntegration>(
    cx: &Cx<I>,
    session: &str,
    event: Value,
) -> Result<Value, String> {
    let report = async {
        let call = placed_call(cx, session).await?;
        // Still waiting: the answer comes a moment later.
        tokio::time::sleep(Duration::from_millis(100)).await;
        callback(cx, session, &call, event).await
    };
    let (res, reported) = join(cx.send(wait_dial(cx, session)), report).await;
    reported?;
    json_ok(&res, StatusCode::CREATED)
}

pub(in crate::testing) async fn dial_wait_answered_returns_the_active_call<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let started = Instant::now();
    let call = dial_while(cx, &session, answered(10)).await?;
    ensure(call["state"] == "active", || {
        format!("the dial should answer with the answered call: {call}")
    })?;
    ensure(started.elapsed() < Fixture::ANSWER_WAIT_LIMIT, || {
        format!("the answer came only after {:?}", started.elapsed())
    })
}

pub(in crate::testing) async fn dial_wait_answered_returns_a_busy_call_ended<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let busy = json!({ "event": "callDestroyed", "timestamp": 10, "reason_code": "486", "reason_message": "Busy Here" });
    let call = dial_while(cx, &session, busy).await?;
    ensure(call["state"] == "ended" && call["sipCode"] == 486, || {
        format!("the dial should answer with the call ended busy: {call}")
    })
}

pub(in crate::testing) async fn dial_wait_answered_is_bounded<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let started = Instant::now();
    let report = async {
        let call = placed_call(cx, &session).await?;
        callback(
            cx,
            &session,
            &call,
            json!({ "event": "callUpdated", "state": "RINGING", "timestamp": 5 }),
        )
        .await
    };
    let (res, reported) = join(cx.send(wait_dial(cx, &session)), report).await;
    reported?;
    let call = json_ok(&res, StatusCode::CREATED)?;
    let took = started.elapsed();
    ensure(call["state"] == "ringing", || {
        format!("an unanswered call should come back ringing: {call}")
    })?;
    ensure(
        took >= Fixture::ANSWER_WAIT_LIMIT - Duration::from_millis(100)
            && took < Fixture::ANSWER_WAIT_LIMIT + Duration::from_secs(5),
        || {
            format!(
                "the wait took {took:?}, not about {:?}",
                Fixture::ANSWER_WAIT_LIMIT
            )
        },
    )
}

pub(in crate::testing) async fn dial_wait_answered_client_gone_keeps_the_call<
    I: HttpIntegration,
>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    // The client gives up while the response is held.
    let gave_up =
        tokio::time::timeout(Duration::from_millis(300), cx.send(wait_dial(cx, &session))).await;
    ensure(gave_up.is_err(), || {
        "the dial answered before any answer or the bound".to_owned()
    })?;
    let call = placed_call(cx, &session).await?;
    ensure(call["state"] == "dialing", || {
        format!("the call should still be up: {call}")
    })?;
    count(&cx.fixture.dialer, Operation::Dial, 1)?;
    count(&cx.fixture.dialer, Operation::HangUp, 0)?;
    // And it is still followed.
    callback(cx, &session, &call, answered(10)).await?;
    let id = str_field(&call, "id")?;
    let got = json_ok(
        &cx.send(TestRequest::get(cx.path(&format!("/calls/{id}"))))
            .await,
        StatusCode::OK,
    )?;
    ensure(got["state"] == "active", || {
        format!("the call was not followed after the client left: {got}")
    })
}

pub(in crate::testing) async fn dial_wait_with_a_bad_value_is_400<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    for query in ["wait=ringing", "wait=", "wait=answered&wait=answered"] {
        let res = cx
            .send(cx.post_json(&format!("/dial?{query}"), json!({ "sessionId": session })))
            .await;
        names_field(&res, StatusCode::BAD_REQUEST, "wait").map_err(|e| format!("{query}: {e}"))?;
    }
    count(&cx.fixture.dialer, Operation::Dial, 0)
}
