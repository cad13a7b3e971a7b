//! Dialling and call control.

use super::*;

// ---- dial and calls ------------------------------------------------------------------

pub(in crate::testing) async fn dial_default_target_is_201_with_location<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    let call = json_ok(&res, StatusCode::CREATED)?;
    let id = str_field(&call, "id")?;
    let want_location = cx.path(&format!("/calls/{id}"));
    ensure(
        res.header(LOCATION.as_str()) == Some(want_location.as_str()),
        || {
            format!(
                "Location should be {want_location:?}, got {:?}",
                res.header(LOCATION.as_str())
            )
        },
    )?;
    // Following it reaches the call wherever the host mounted the API.
    let followed = cx.send(TestRequest::get(&want_location)).await;
    let read = json_ok(&followed, StatusCode::OK)
        .map_err(|e| format!("following Location {want_location}: {e}"))?;
    ensure(read["id"] == id, || {
        format!("Location {want_location} answered another call: {read}")
    })?;
    ensure(call["sessionId"] == session.as_str(), || {
        format!("wrong sessionId in {call}")
    })?;
    ensure(call["target"] == Fixture::DEFAULT_TARGET, || {
        format!("wrong target in {call}")
    })?;
    for key in ["connectionId", "streamId", "state"] {
        str_field(&call, key)?;
    }
    present(&call, "createdAt")?;
    count(&cx.fixture.dialer, Operation::Dial, 1)
}

pub(in crate::testing) async fn dial_named_target<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session, "target": Fixture::OTHER_TARGET });
    let call = json_ok(
        &cx.send(cx.post_json("/dial", body)).await,
        StatusCode::CREATED,
    )?;
    ensure(call["target"] == Fixture::OTHER_TARGET, || {
        format!("wrong target in {call}")
    })
}

pub(in crate::testing) async fn dial_unknown_target_is_refused<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session, "target": "nowhere" });
    let res = cx.send(cx.post_json("/dial", body)).await;
    // The contract does not say whether an unknown target is a bad field or an
    // unknown resource; both are the caller's error and must place no call.
    let want = if res.status == StatusCode::NOT_FOUND {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::BAD_REQUEST
    };
    api_error(&res, want)?;
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

pub(in crate::testing) async fn dial_uri_without_allow_list_is_refused<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session, "uri": "sip:+19005550100@premium.example" });
    let res = cx.send(cx.post_json("/dial", body)).await;
    ensure(res.status.is_client_error(), || {
        format!(
            "a per-request uri without an allow-list was not refused: {}",
            res.status
        )
    })?;
    api_error(&res, res.status)?;
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

pub(in crate::testing) async fn dial_unknown_session_is_404<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = foreign_session(cx).await?;
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::NOT_FOUND)?;
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

pub(in crate::testing) async fn calls_list_and_get<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?;
    let res = cx
        .send(TestRequest::get(
            cx.path(&format!("/calls?sessionId={session}")),
        ))
        .await;
    let body = json_ok(&res, StatusCode::OK)?;
    let calls = list(&body, "calls")?;
    ensure(calls.len() == 1 && calls[0]["id"] == id, || {
        format!("the active call list should hold exactly {id}: {body}")
    })?;
    let res = cx
        .send(TestRequest::get(cx.path(&format!("/calls/{id}"))))
        .await;
    let got = json_ok(&res, StatusCode::OK)?;
    ensure(
        got["id"] == id && got["sessionId"] == session.as_str(),
        || format!("GET /calls/{id} answered another call: {got}"),
    )?;
    str_field(&got, "state").map(drop)
}

pub(in crate::testing) async fn hang_up_is_204_and_idempotent<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?;
    let delete = || TestRequest::delete(cx.path(&format!("/calls/{id}")));
    let res = cx.send(delete()).await;
    status(&res, StatusCode::NO_CONTENT)?;
    ensure(res.body.is_empty(), || {
        format!("204 with a body: {:?}", res.text())
    })?;
    count(&cx.fixture.dialer, Operation::HangUp, 1)?;
    status(&cx.send(delete()).await, StatusCode::NO_CONTENT)
        .map_err(|e| format!("second hang-up: {e}"))?;

    let active = cx
        .send(TestRequest::get(
            cx.path(&format!("/calls?sessionId={session}")),
        ))
        .await;
    let active = json_ok(&active, StatusCode::OK)?;
    ensure(list(&active, "calls")?.is_empty(), || {
        format!("an ended call is still listed as active: {active}")
    })?;
    let all = cx
        .send(TestRequest::get(
            cx.path(&format!("/calls?sessionId={session}&all=true")),
        ))
        .await;
    let all = json_ok(&all, StatusCode::OK)?;
    let ended = list(&all, "calls")?
        .iter()
        .find(|c| c["id"] == id)
        .ok_or_else(|| format!("all=true should include the ended call: {all}"))?;
    present(ended, "endedAt")
}

pub(in crate::testing) async fn dtmf_is_204<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let id = str_field(&dial(cx, &session).await?, "id")?.to_owned();
    let res = cx
        .send(cx.post_json(&format!("/calls/{id}/dtmf"), json!({ "digits": "1234#" })))
        .await;
    status(&res, StatusCode::NO_CONTENT)?;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 1)
}

pub(in crate::testing) async fn dtmf_invalid_digits_names_the_field<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let id = str_field(&dial(cx, &session).await?, "id")?.to_owned();
    let res = cx
        .send(cx.post_json(&format!("/calls/{id}/dtmf"), json!({ "digits": "12a" })))
        .await;
    names_field(&res, StatusCode::BAD_REQUEST, "digits")?;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 0)
}
