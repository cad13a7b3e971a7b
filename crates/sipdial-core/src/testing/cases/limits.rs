//! The per-session limits and the platform's rate limit.

use super::*;

// ---- limits --------------------------------------------------------------------------

pub(in crate::testing) async fn active_call_limit_is_429_with_retry_after<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    for _ in 0..Fixture::MAX_ACTIVE_CALLS {
        dial(cx, &session).await?;
    }
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::TOO_MANY_REQUESTS)?;
    retry_after(&res)?;
    count(
        &cx.fixture.dialer,
        Operation::Dial,
        Fixture::MAX_ACTIVE_CALLS,
    )
}

pub(in crate::testing) async fn dial_rate_limit_is_429_with_retry_after<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    for _ in 0..Fixture::DIALS_PER_MINUTE {
        let call = dial(cx, &session).await?;
        hang_up(cx, str_field(&call, "id")?).await?;
    }
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::TOO_MANY_REQUESTS)?;
    retry_after(&res)?;
    count(
        &cx.fixture.dialer,
        Operation::Dial,
        Fixture::DIALS_PER_MINUTE as usize,
    )
}

pub(in crate::testing) async fn platform_rate_limit_is_429_with_retry_after<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    cx.fixture.dialer.script_once(
        Operation::Dial,
        Script::Fail(DialError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(7)),
        }),
    );
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::TOO_MANY_REQUESTS)?;
    retry_after(&res)
}
