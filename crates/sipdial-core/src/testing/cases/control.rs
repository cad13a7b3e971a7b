//! Call control added with the call policies: the mute route and DTMF at answer.

use std::time::Duration;

use super::*;

/// Posts one platform callback about `call` and checks it was taken.
pub(in crate::testing) async fn callback<I: HttpIntegration>(
    cx: &Cx<I>,
    session: &str,
    call: &Value,
    event: Value,
) -> Outcome {
    let mut body = json!({
        "sessionId": session,
        "call": { "id": call["id"], "connectionId": call["connectionId"] },
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), event.as_object()) {
        b.extend(e.clone());
    }
    let res = cx.send(cx.signed_callback(&body)).await;
    json_ok(&res, StatusCode::OK)
        .map(drop)
        .map_err(|e| format!("callback {event}: {e}"))
}

/// `callUpdated ACTIVE` at `timestamp`.
pub(in crate::testing) fn answered(timestamp: u64) -> Value {
    json!({ "event": "callUpdated", "state": "ACTIVE", "timestamp": timestamp })
}

/// Waits (up to 5 s) until the dialer saw `want` requests of `op`, then a little
/// longer to see that no more come.
async fn settles_at(dialer: &crate::fake::FakeDialer, op: Operation, want: usize) -> Outcome {
    for _ in 0..250 {
        if dialer.count(op) >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    count(dialer, op, want)
}

fn digits_played(dialer: &crate::fake::FakeDialer) -> Vec<String> {
    dialer
        .recorded()
        .into_iter()
        .filter(|r| r.op == Operation::PlayDtmf)
        .map(|r| r.detail)
        .collect()
}

// ---- mute ----------------------------------------------------------------------------

pub(in crate::testing) async fn mute_is_204_and_mutes_the_sip_stream<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?;
    let stream = crate::StreamId::new(str_field(&call, "streamId")?)
        .map_err(|e| format!("streamId: {e}"))?;
    // A bare POST (no body, no content type), as a page's `fetch` sends it.
    let res = cx
        .send(TestRequest::post(cx.path(&format!("/calls/{id}/mute"))))
        .await;
    status(&res, StatusCode::NO_CONTENT)?;
    ensure(res.body.is_empty(), || {
        format!("204 with a body: {:?}", res.text())
    })?;
    count(&cx.fixture.dialer, Operation::ForceMute, 1)?;
    ensure(cx.fixture.dialer.is_muted(&stream), || {
        "the call's stream was not force-muted".to_owned()
    })?;
    // `{}` is the same request; a field it does not know is refused.
    let res = cx
        .send(cx.post_json(&format!("/calls/{id}/mute"), json!({})))
        .await;
    status(&res, StatusCode::NO_CONTENT)?;
    let res = cx
        .send(cx.post_json(&format!("/calls/{id}/mute"), json!({ "active": false })))
        .await;
    names_field(&res, StatusCode::BAD_REQUEST, "active")?;
    count(&cx.fixture.dialer, Operation::ForceMute, 2)
}

pub(in crate::testing) async fn mute_unknown_call_is_404<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let res = cx
        .send(TestRequest::post(
            cx.path(&format!("/calls/{UNKNOWN_CALL_ID}/mute")),
        ))
        .await;
    api_error(&res, StatusCode::NOT_FOUND)?;
    count(&cx.fixture.dialer, Operation::ForceMute, 0)
}

pub(in crate::testing) async fn mute_ended_call_is_409<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?;
    hang_up(cx, id).await?;
    let res = cx
        .send(TestRequest::post(cx.path(&format!("/calls/{id}/mute"))))
        .await;
    api_error(&res, StatusCode::CONFLICT)?;
    count(&cx.fixture.dialer, Operation::ForceMute, 0)
}

pub(in crate::testing) async fn mute_of_a_leg_gone_on_the_platform_is_409<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?;
    cx.fixture.dialer.script_once(
        Operation::ForceMute,
        Script::Fail(DialError::not_found("stream")),
    );
    let res = cx
        .send(TestRequest::post(cx.path(&format!("/calls/{id}/mute"))))
        .await;
    api_error(&res, StatusCode::CONFLICT)?;
    let got = json_ok(
        &cx.send(TestRequest::get(cx.path(&format!("/calls/{id}"))))
            .await,
        StatusCode::OK,
    )?;
    ensure(got["state"] == "ended", || {
        format!("a leg the platform no longer has should end its call: {got}")
    })
}

// ---- DTMF at answer ------------------------------------------------------------------

pub(in crate::testing) async fn dtmf_after_answer_is_sent_once<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session, "target": Fixture::OTHER_TARGET });
    let call = json_ok(
        &cx.send(cx.post_json("/dial", body)).await,
        StatusCode::CREATED,
    )?;
    ensure(call.get("dtmfAfterAnswer").is_none(), || {
        format!("the digits at answer reached the client: {call}")
    })?;
    callback(
        cx,
        &session,
        &call,
        json!({ "event": "callUpdated", "state": "RINGING", "timestamp": 5 }),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 0)
        .map_err(|e| format!("before the answer: {e}"))?;
    // The answer, delivered twice (a redelivery), then once more with a later time.
    callback(cx, &session, &call, answered(10)).await?;
    callback(cx, &session, &call, answered(10)).await?;
    callback(cx, &session, &call, answered(20)).await?;
    settles_at(&cx.fixture.dialer, Operation::PlayDtmf, 1).await?;
    let played = digits_played(&cx.fixture.dialer);
    let connection = str_field(&call, "connectionId")?;
    let want = format!(
        "connection={connection} digits={}",
        Fixture::DTMF_AFTER_ANSWER
    );
    ensure(played == [want.clone()], || {
        format!("expected {want:?} played once, got {played:?}")
    })?;
    // Hold and resume do not answer it again.
    callback(
        cx,
        &session,
        &call,
        json!({ "event": "callUpdated", "state": "ON_HOLD", "timestamp": 30 }),
    )
    .await?;
    callback(cx, &session, &call, answered(40)).await?;
    settles_at(&cx.fixture.dialer, Operation::PlayDtmf, 1).await
}

pub(in crate::testing) async fn dtmf_after_answer_follows_the_request_rules<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    // A target with digits of its own keeps them.
    let body =
        json!({ "sessionId": session, "target": Fixture::OTHER_TARGET, "dtmfAfterAnswer": "1" });
    api_error(
        &cx.send(cx.post_json("/dial", body)).await,
        StatusCode::FORBIDDEN,
    )?;
    // Validated like the DTMF route.
    let body = json!({ "sessionId": session, "dtmfAfterAnswer": "12a" });
    names_field(
        &cx.send(cx.post_json("/dial", body)).await,
        StatusCode::BAD_REQUEST,
        "dtmfAfterAnswer",
    )?;
    count(&cx.fixture.dialer, Operation::Dial, 0)?;
    // A target without digits takes the caller's.
    let body = json!({ "sessionId": session, "dtmfAfterAnswer": "99p1" });
    let call = json_ok(
        &cx.send(cx.post_json("/dial", body)).await,
        StatusCode::CREATED,
    )?;
    callback(cx, &session, &call, answered(10)).await?;
    settles_at(&cx.fixture.dialer, Operation::PlayDtmf, 1).await?;
    let played = digits_played(&cx.fixture.dialer);
    ensure(
        played.len() == 1 && played[0].ends_with("digits=99p1"),
        || format!("the caller's digits were not played once: {played:?}"),
    )
}

pub(in crate::testing) async fn dtmf_after_answer_is_dropped_when_the_call_ends_unanswered<
    I: HttpIntegration,
>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session, "target": Fixture::OTHER_TARGET });
    let call = json_ok(
        &cx.send(cx.post_json("/dial", body)).await,
        StatusCode::CREATED,
    )?;
    let busy = json!({ "event": "callDestroyed", "timestamp": 10, "reason_code": "486", "reason_message": "Busy Here" });
    callback(cx, &session, &call, busy).await?;
    // A late (out of order) answer cannot revive the call, nor play its digits.
    callback(cx, &session, &call, answered(5)).await?;
    settles_at(&cx.fixture.dialer, Operation::PlayDtmf, 0).await
}
