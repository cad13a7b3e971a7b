//! Sessions, targets and tokens.

use super::*;

// ---- sessions and targets ------------------------------------------------------------

pub(in crate::testing) async fn session_creates_and_reuses_a_room<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let res = cx
        .send(cx.post_json("/session", json!({ "room": "lobby" })))
        .await;
    let first = json_ok(&res, StatusCode::OK)?;
    ensure(first["room"] == "lobby", || {
        format!("wrong room in {first}")
    })?;
    let api_key = cx.fixture.dialer.platform().api_key;
    ensure(first["apiKey"] == api_key.as_str(), || {
        format!("apiKey should be {api_key:?} in {first}")
    })?;
    let session = str_field(&first, "sessionId")?;
    let res = cx
        .send(cx.post_json("/session", json!({ "room": "lobby" })))
        .await;
    let second = json_ok(&res, StatusCode::OK)?;
    ensure(second["sessionId"] == session, || {
        format!("a room got two sessions: {first} then {second}")
    })?;
    count(&cx.fixture.dialer, Operation::CreateSession, 1)
}

pub(in crate::testing) async fn session_defaults_the_room<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let res = cx.send(cx.post_json("/session", json!({}))).await;
    let body = json_ok(&res, StatusCode::OK)?;
    ensure(body["room"] == "default", || {
        format!("expected room `default` in {body}")
    })?;
    str_field(&body, "sessionId").map(drop)
}

pub(in crate::testing) async fn session_reads_a_chunked_body<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let chunks = ["{\"ro", "om\": \"chu", "nky\"}"]
        .map(|s| Bytes::from_static(s.as_bytes()))
        .to_vec();
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Chunked(chunks));
    let body = json_ok(&cx.send(req).await, StatusCode::OK)?;
    ensure(body["room"] == "chunky", || {
        format!("expected room `chunky` in {body}")
    })
}

pub(in crate::testing) async fn targets_lists_names_and_labels_only<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let res = cx.send(TestRequest::get(cx.path("/targets"))).await;
    let body = json_ok(&res, StatusCode::OK)?;
    let targets = list(&body, "targets")?;
    let find = |name: &str| targets.iter().find(|t| t["name"] == name);
    let support = find(Fixture::DEFAULT_TARGET)
        .ok_or_else(|| format!("target `{}` missing in {body}", Fixture::DEFAULT_TARGET))?;
    ensure(support["label"] == Fixture::DEFAULT_TARGET_LABEL, || {
        format!("wrong label in {support}")
    })?;
    find(Fixture::OTHER_TARGET)
        .ok_or_else(|| format!("target `{}` missing in {body}", Fixture::OTHER_TARGET))?;
    let text = res.text();
    ensure(
        !text.contains(Fixture::SIP_HOST) && !text.contains(Fixture::SIP_PASSWORD),
        || format!("targets reveal the SIP configuration: {text}"),
    )
}

// ---- tokens --------------------------------------------------------------------------

pub(in crate::testing) async fn token_for_a_known_session<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let res = cx
        .send(cx.post_json("/token", json!({ "sessionId": session })))
        .await;
    let body = json_ok(&res, StatusCode::OK)?;
    str_field(&body, "token")?;
    ensure(body["role"] == "publisher", || {
        format!("role should default to publisher: {body}")
    })?;
    present(&body, "expiresAt")
}

pub(in crate::testing) async fn token_for_an_unknown_session_is_404<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = foreign_session(cx).await?;
    let res = cx
        .send(cx.post_json("/token", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::NOT_FOUND).map(drop)
}

pub(in crate::testing) async fn token_moderator_is_denied_by_the_default_authorizer<
    I: HttpIntegration,
>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let req = cx.post_json(
        "/token",
        json!({ "sessionId": session, "role": "moderator" }),
    );
    api_error(&cx.send(req).await, StatusCode::FORBIDDEN).map(drop)
}

pub(in crate::testing) async fn token_invalid_role_names_the_field<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let req = cx.post_json(
        "/token",
        json!({ "sessionId": session, "role": "superuser" }),
    );
    names_field(&cx.send(req).await, StatusCode::BAD_REQUEST, "role")
}

pub(in crate::testing) async fn token_missing_session_id_names_the_field<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let req = cx.post_json("/token", json!({}));
    names_field(&cx.send(req).await, StatusCode::BAD_REQUEST, "sessionId")
}
