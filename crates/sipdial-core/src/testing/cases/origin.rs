//! The origin check of state-changing routes.

use super::*;

// ---- origin check --------------------------------------------------------------------

pub(in crate::testing) async fn foreign_origin_is_403<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = origin(
        cx.post_json("/session", json!({ "room": "lobby" })),
        Fixture::FOREIGN_ORIGIN,
    );
    api_error(&cx.send(req).await, StatusCode::FORBIDDEN)
        .map_err(|e| format!("POST /session: {e}"))?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)?;

    let session = create_session(cx, "lobby").await?;
    let req = origin(
        cx.post_json("/dial", json!({ "sessionId": session })),
        Fixture::FOREIGN_ORIGIN,
    );
    api_error(&cx.send(req).await, StatusCode::FORBIDDEN)
        .map_err(|e| format!("POST /dial: {e}"))?;
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

pub(in crate::testing) async fn allowed_origin_is_accepted<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let req = origin(
        cx.post_json("/session", json!({ "room": "lobby" })),
        Fixture::ALLOWED_ORIGIN,
    );
    let body = json_ok(&cx.send(req).await, StatusCode::OK)?;
    let session = str_field(&body, "sessionId")?;
    let req = origin(
        cx.post_json("/dial", json!({ "sessionId": session })),
        Fixture::ALLOWED_ORIGIN,
    );
    json_ok(&cx.send(req).await, StatusCode::CREATED).map(drop)
}

pub(in crate::testing) async fn safe_methods_ignore_origin<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let req = origin(
        TestRequest::get(cx.path("/targets")),
        Fixture::FOREIGN_ORIGIN,
    );
    json_ok(&cx.send(req).await, StatusCode::OK).map(drop)
}
