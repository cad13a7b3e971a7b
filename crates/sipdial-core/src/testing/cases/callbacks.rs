//! Platform callbacks through the form.

use super::*;

// ---- platform callbacks --------------------------------------------------------------

pub(in crate::testing) async fn callbacks_update_calls_without_an_origin_check<
    I: HttpIntegration,
>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?.to_owned();
    let body = json!({
        "sessionId": session, "event": "callDestroyed", "timestamp": 50,
        "reason_code": "486", "reason_message": "Busy Here",
        "call": { "id": id, "connectionId": call["connectionId"] },
    });
    // Server to server: an Origin header (here a foreign one) plays no part.
    let req = origin(cx.signed_callback(&body), Fixture::FOREIGN_ORIGIN);
    let ack = json_ok(&cx.send(req).await, StatusCode::OK)?;
    ensure(ack["status"] == "applied", || {
        format!("the callback was not applied: {ack}")
    })?;
    let res = cx
        .send(TestRequest::get(cx.path(&format!("/calls/{id}"))))
        .await;
    let got = json_ok(&res, StatusCode::OK)?;
    ensure(
        got["state"] == "ended" && got["sipCode"] == 486 && got["endReason"] == "Busy Here",
        || format!("the call should have ended with 486 Busy Here: {got}"),
    )
}

pub(in crate::testing) async fn callbacks_accept_unknown_events_and_fields<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    for body in [
        json!({ "event": "archiveStatus", "sessionId": "1_x", "whatever": { "a": [1] } }),
        json!({ "event": "callUpdated", "state": "TELEPORTING", "call": { "id": UNKNOWN_CALL_ID } }),
        json!({ "future": true }),
    ] {
        let ack = json_ok(&cx.send(cx.signed_callback(&body)).await, StatusCode::OK)
            .map_err(|e| format!("{body}: {e}"))?;
        ensure(ack["status"] == "ignored", || {
            format!("{body} should be ignored: {ack}")
        })?;
    }
    let res = cx
        .send(cx.signed_callback_bytes(b"{\"event\":".to_vec()))
        .await;
    api_error(&res, StatusCode::BAD_REQUEST).map(drop)
}

/// A forged end with no secret configured and no opt-in: the exploit (an
/// unsigned `callDestroyed` freeing the slot of a live call) is refused with 401 and
/// changes nothing.
pub(in crate::testing) async fn callbacks_unsigned_are_refused_by_default<I: HttpIntegration>(
    _cx: &Cx<I>,
) -> Outcome {
    let cx = Cx::<I>::configured(|b| b).await;
    let session = create_session(&cx, "lobby").await?;
    let call = dial(&cx, &session).await?;
    let id = str_field(&call, "id")?.to_owned();
    let body = json!({
        "sessionId": session, "event": "callDestroyed", "timestamp": 50,
        "call": { "id": id, "connectionId": call["connectionId"] },
    });
    let res = cx.send(cx.post_json("/callbacks", body)).await;
    api_error(&res, StatusCode::UNAUTHORIZED)?;
    ensure(res.header("www-authenticate").is_some(), || {
        "a 401 without WWW-Authenticate".to_owned()
    })?;
    let got = json_ok(
        &cx.send(TestRequest::get(cx.path(&format!("/calls/{id}"))))
            .await,
        StatusCode::OK,
    )?;
    ensure(got["state"] != "ended", || {
        format!("a refused callback ended the call: {got}")
    })
}

/// With unsigned callbacks accepted, a forged end cannot leave a leg running: the
/// platform is asked to disconnect each leg before its end is applied, so the slots it
/// frees belong to legs that are gone, and the next dials never run more legs than the
/// limit; a `DELETE` afterwards is still answered 204.
pub(in crate::testing) async fn callbacks_unsigned_end_disconnects_the_leg<I: HttpIntegration>(
    _cx: &Cx<I>,
) -> Outcome {
    let cx = Cx::<I>::configured(|b| b.accept_unsigned_callbacks()).await;
    let session = create_session(&cx, "lobby").await?;
    let mut calls = Vec::new();
    for _ in 0..Fixture::MAX_ACTIVE_CALLS {
        calls.push(dial(&cx, &session).await?);
    }
    for call in &calls {
        let body = json!({
            "sessionId": session, "event": "callDestroyed", "timestamp": 50,
            "call": { "id": call["id"], "connectionId": call["connectionId"] },
        });
        json_ok(
            &cx.send(cx.post_json("/callbacks", body)).await,
            StatusCode::OK,
        )?;
    }
    count(&cx.fixture.dialer, Operation::HangUp, calls.len())
        .map_err(|e| format!("each forged end must disconnect its leg: {e}"))?;
    let id = str_field(&calls[0], "id")?;
    let res = cx
        .send(TestRequest::delete(cx.path(&format!("/calls/{id}"))))
        .await;
    status(&res, StatusCode::NO_CONTENT)?;
    // The freed slots take new dials, and the platform never holds more live legs
    // than the limit.
    dial(&cx, &session).await?;
    let live = cx.fixture.dialer.active_calls().len();
    ensure(live <= Fixture::MAX_ACTIVE_CALLS, || {
        format!(
            "{live} legs live against a limit of {}",
            Fixture::MAX_ACTIVE_CALLS
        )
    })
}
