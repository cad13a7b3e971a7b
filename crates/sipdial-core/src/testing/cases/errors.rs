//! Errors every route shares: bad JSON, unknown routes and methods, bodies over the limit or not JSON, and the platform's failures.

use super::*;

// ---- generic errors ------------------------------------------------------------------

pub(in crate::testing) async fn invalid_json_is_400<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Full(Bytes::from_static(b"{\"room\":")));
    api_error(&cx.send(req).await, StatusCode::BAD_REQUEST)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

pub(in crate::testing) async fn unknown_call_is_404<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let path = cx.path(&format!("/calls/{UNKNOWN_CALL_ID}"));
    api_error(
        &cx.send(TestRequest::get(&path)).await,
        StatusCode::NOT_FOUND,
    )
    .map_err(|e| format!("GET: {e}"))?;
    api_error(
        &cx.send(TestRequest::delete(&path)).await,
        StatusCode::NOT_FOUND,
    )
    .map_err(|e| format!("DELETE: {e}"))?;
    let dtmf = cx.post_json(
        &format!("/calls/{UNKNOWN_CALL_ID}/dtmf"),
        json!({ "digits": "1" }),
    );
    api_error(&cx.send(dtmf).await, StatusCode::NOT_FOUND).map_err(|e| format!("dtmf: {e}"))?;
    count(&cx.fixture.dialer, Operation::HangUp, 0)
}

pub(in crate::testing) async fn unknown_route_is_404<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    // The prefix itself and everything below it belong to the API, never to the host.
    let mut paths = vec![cx.path(""), cx.path("/nope"), cx.path("/calls/a/b/c")];
    if !I::prefix().is_empty() {
        // With an empty prefix, `{mount}/` is the host router's to route (axum's `nest`
        // gives it to the host's fallback).
        paths.push(cx.path("/"));
    }
    for path in paths {
        let res = cx.send(TestRequest::get(&path)).await;
        api_error(&res, StatusCode::NOT_FOUND).map_err(|e| format!("GET {path}: {e}"))?;
    }
    Ok(())
}

pub(in crate::testing) async fn wrong_method_is_405_with_allow<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let cases = [
        (Method::GET, cx.path("/dial"), &["POST"][..]),
        (Method::DELETE, cx.path("/session"), &["POST"][..]),
        (Method::POST, cx.path("/targets"), &["GET"][..]),
        (
            Method::PUT,
            cx.path(&format!("/calls/{UNKNOWN_CALL_ID}")),
            &["GET", "DELETE"][..],
        ),
    ];
    for (method, path, allowed) in cases {
        let res = cx.send(TestRequest::new(method.clone(), &path)).await;
        api_error(&res, StatusCode::METHOD_NOT_ALLOWED)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let allow: Vec<String> = res
            .header_all(ALLOW.as_str())
            .iter()
            .flat_map(|v| v.split(','))
            .map(|m| m.trim().to_owned())
            .collect();
        for m in allowed {
            ensure(allow.iter().any(|a| a == m), || {
                format!("{method} {path}: Allow should list {m}, got {allow:?}")
            })?;
        }
    }
    Ok(())
}

pub(in crate::testing) async fn platform_conflict_is_409<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    cx.fixture.dialer.script_once(
        Operation::Dial,
        Script::Fail(DialError::Conflict {
            message: "session is relayed".into(),
        }),
    );
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::CONFLICT).map(drop)
}

// ---- body limit and media type -------------------------------------------------------

/// A `POST /session` body of exactly `len` bytes (valid JSON padded with spaces).
fn padded_session_body(len: usize) -> Bytes {
    let json = br#"{"room":"padded"}"#;
    let mut body = json.to_vec();
    body.resize(len.max(json.len()), b' ');
    Bytes::from(body)
}

pub(in crate::testing) async fn body_at_the_limit_is_accepted<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Full(padded_session_body(Fixture::BODY_LIMIT)));
    let body = json_ok(&cx.send(req).await, StatusCode::OK)?;
    ensure(body["room"] == "padded", || format!("wrong room in {body}"))
}

pub(in crate::testing) async fn body_over_the_limit_is_413<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Full(padded_session_body(Fixture::BODY_LIMIT + 1)));
    api_error(&cx.send(req).await, StatusCode::PAYLOAD_TOO_LARGE)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

pub(in crate::testing) async fn chunked_body_over_the_limit_is_413<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let body = padded_session_body(Fixture::BODY_LIMIT * 4);
    let chunks = body.chunks(4096).map(Bytes::copy_from_slice).collect();
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Chunked(chunks));
    api_error(&cx.send(req).await, StatusCode::PAYLOAD_TOO_LARGE)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

pub(in crate::testing) async fn non_json_body_is_415<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("text/plain")
        .body(TestBody::Full(Bytes::from_static(b"room=lobby")));
    api_error(&cx.send(req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

// ---- platform failures ---------------------------------------------------------------

pub(in crate::testing) async fn platform_error_is_502_without_its_body<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let leaked = "upstream-detail-2c9e";
    cx.fixture.dialer.script_once(
        Operation::Dial,
        Script::Fail(DialError::Upstream {
            status: 500,
            code: Some(15_001),
            message: Some(format!("internal: {leaked}")),
        }),
    );
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::BAD_GATEWAY)?;
    ensure(!res.text().contains(leaked), || {
        format!("the platform's message reached the client: {}", res.text())
    })
}

pub(in crate::testing) async fn rejected_credentials_are_502<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    cx.fixture.dialer.script_once(
        Operation::CreateSession,
        Script::Fail(DialError::RejectedCredentials),
    );
    let res = cx
        .send(cx.post_json("/session", json!({ "room": "lobby" })))
        .await;
    api_error(&res, StatusCode::BAD_GATEWAY).map(drop)
}

pub(in crate::testing) async fn platform_timeout_is_504<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    cx.fixture
        .dialer
        .script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::GATEWAY_TIMEOUT).map(drop)
}
