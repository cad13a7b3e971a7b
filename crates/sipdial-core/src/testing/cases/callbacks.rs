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
    let req = origin(cx.post_json("/callbacks", body), Fixture::FOREIGN_ORIGIN);
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
        let ack = json_ok(
            &cx.send(cx.post_json("/callbacks", body.clone())).await,
            StatusCode::OK,
        )
        .map_err(|e| format!("{body}: {e}"))?;
        ensure(ack["status"] == "ignored", || {
            format!("{body} should be ignored: {ack}")
        })?;
    }
    let res = cx
        .send(
            TestRequest::post(cx.path("/callbacks"))
                .content_type("application/json")
                .body(TestBody::Full(Bytes::from_static(b"{\"event\":"))),
        )
        .await;
    api_error(&res, StatusCode::BAD_REQUEST).map(drop)
}
