//! The per-session, per-client and per-target limits and the platform's rate limit.
//! The fixture keeps the builder's per-client defaults, and every request of a case
//! comes from one anonymous client.

use super::*;
use crate::api::{DEFAULT_CLIENT_MAX_ACTIVE_CALLS, DEFAULT_CLIENT_SESSIONS_PER_MINUTE};

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

/// The code of an error answer.
fn error_code(res: &TestResponse) -> Result<String, String> {
    let body = res.json()?;
    Ok(body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// A 429 with `Retry-After` and the code `want`.
fn refused_with(res: &TestResponse, want: &str) -> Outcome {
    api_error(res, StatusCode::TOO_MANY_REQUESTS)?;
    retry_after(res)?;
    let code = error_code(res)?;
    ensure(code == want, || {
        format!("429 with code {code:?}, expected {want:?}")
    })
}

pub(in crate::testing) async fn rooms_do_not_dodge_the_client_limit<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    // 10 rooms × 3 dials from one anonymous client: the per-session limits alone
    // would admit two calls in every room.
    let mut created = 0;
    let mut refused = None;
    for room in 0..10 {
        let session = create_session(cx, &format!("dodge-{room}")).await?;
        for _ in 0..3 {
            let res = cx
                .send(cx.post_json("/dial", json!({ "sessionId": session })))
                .await;
            if res.status == StatusCode::CREATED {
                created += 1;
            } else if refused.is_none() && error_code(&res)? != "too_many_calls" {
                refused = Some(res);
            }
        }
    }
    ensure(created == DEFAULT_CLIENT_MAX_ACTIVE_CALLS, || {
        format!(
            "{created} dials placed from one client, expected {DEFAULT_CLIENT_MAX_ACTIVE_CALLS}"
        )
    })?;
    let res = refused.ok_or("no dial was refused by the client's limit")?;
    refused_with(&res, "client_too_many_calls")?;
    count(
        &cx.fixture.dialer,
        Operation::Dial,
        DEFAULT_CLIENT_MAX_ACTIVE_CALLS,
    )
}

pub(in crate::testing) async fn session_flood_is_429_with_retry_after<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let first = create_session(cx, "flood-0").await?;
    for room in 1..DEFAULT_CLIENT_SESSIONS_PER_MINUTE {
        create_session(cx, &format!("flood-{room}")).await?;
    }
    let res = cx
        .send(cx.post_json("/session", json!({ "room": "flood-new" })))
        .await;
    refused_with(&res, "client_session_rate_limited")?;
    // Joining a room that exists costs the platform nothing and stays open.
    let again = create_session(cx, "flood-0").await?;
    ensure(again == first, || {
        "a known room answered another session".to_owned()
    })?;
    count(
        &cx.fixture.dialer,
        Operation::CreateSession,
        DEFAULT_CLIENT_SESSIONS_PER_MINUTE as usize,
    )
}

pub(in crate::testing) async fn target_dial_rate_limit_is_429_with_retry_after<
    I: HttpIntegration,
>(
    cx: &Cx<I>,
) -> Outcome {
    let mut rooms = Vec::new();
    for room in 0..=Fixture::OTHER_TARGET_DIALS_PER_MINUTE {
        rooms.push(create_session(cx, &format!("target-{room}")).await?);
    }
    let to_other = |session: &str| json!({ "sessionId": session, "target": Fixture::OTHER_TARGET });
    for session in &rooms[..Fixture::OTHER_TARGET_DIALS_PER_MINUTE as usize] {
        let res = cx.send(cx.post_json("/dial", to_other(session))).await;
        json_ok(&res, StatusCode::CREATED)?;
    }
    let last = &rooms[Fixture::OTHER_TARGET_DIALS_PER_MINUTE as usize];
    let res = cx.send(cx.post_json("/dial", to_other(last))).await;
    refused_with(&res, "target_dial_rate_limited")?;
    // Another target is not limited by this one's.
    dial(cx, last).await?;
    count(
        &cx.fixture.dialer,
        Operation::Dial,
        Fixture::OTHER_TARGET_DIALS_PER_MINUTE as usize + 1,
    )
}
