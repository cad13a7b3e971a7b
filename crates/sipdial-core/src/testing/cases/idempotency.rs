//! `Idempotency-Key` on `POST /dial`: a retried dial places one call.

use std::time::Duration;

use http::HeaderName;

use super::*;

const KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: &str = "idempotent-replayed";

fn keyed<I: HttpIntegration>(cx: &Cx<I>, key: &str, body: Value) -> TestRequest {
    let value = HeaderValue::from_str(key).unwrap_or(HeaderValue::from_static("bad key"));
    cx.post_json("/dial", body).header(KEY, value)
}

pub(in crate::testing) async fn dial_same_idempotency_key_places_one_call<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session, "headers": { "X-Ticket": "4711" } });
    let first = cx.send(keyed(cx, "retry-1", body.clone())).await;
    let call = json_ok(&first, StatusCode::CREATED)?;
    ensure(first.header(REPLAYED).is_none(), || {
        "the first answer must not say it is a replay".to_owned()
    })?;
    // The same request, its JSON written in another order and spacing.
    let again = keyed(cx, "retry-1", Value::Null).body(TestBody::Full(Bytes::from(format!(
        "{{ \"headers\": {{\"X-Ticket\":\"4711\"}}, \"sessionId\": \"{session}\" }}"
    ))));
    let second = cx.send(again).await;
    let replayed = json_ok(&second, StatusCode::CREATED)?;
    ensure(replayed == call, || {
        format!("the replay answered another body: {replayed} vs {call}")
    })?;
    ensure(second.header(REPLAYED) == Some("true"), || {
        format!(
            "a replay must say so with `{REPLAYED}: true`, got {:?}",
            second.header(REPLAYED)
        )
    })?;
    ensure(
        second.header(LOCATION.as_str()) == first.header(LOCATION.as_str()),
        || "the replay's Location differs from the first".to_owned(),
    )?;
    count(&cx.fixture.dialer, Operation::Dial, 1)?;
    // Another key is another dial.
    let other = cx.send(keyed(cx, "retry-2", body)).await;
    json_ok(&other, StatusCode::CREATED)?;
    count(&cx.fixture.dialer, Operation::Dial, 2)
}

pub(in crate::testing) async fn dial_idempotency_key_in_flight_is_409<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let body = json!({ "sessionId": session });
    cx.fixture
        .dialer
        .script_once(Operation::Dial, Script::Delay(Duration::from_millis(600)));
    let first = cx.send(keyed(cx, "slow", body.clone()));
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cx.send(keyed(cx, "slow", body.clone())).await
    };
    let (first, second) = futures_util::future::join(first, second).await;
    json_ok(&first, StatusCode::CREATED)?;
    api_error(&second, StatusCode::CONFLICT)?;
    let code = second.json()?["error"]["code"].clone();
    ensure(code == "idempotency_key_in_use", || {
        format!("409 code should be idempotency_key_in_use, got {code}")
    })?;
    count(&cx.fixture.dialer, Operation::Dial, 1)?;
    // Once the first is answered, the retry gets its call.
    let third = cx.send(keyed(cx, "slow", body)).await;
    json_ok(&third, StatusCode::CREATED)?;
    ensure(third.header(REPLAYED) == Some("true"), || {
        "the retry after the first answered is a replay".to_owned()
    })?;
    count(&cx.fixture.dialer, Operation::Dial, 1)
}

pub(in crate::testing) async fn dial_idempotency_key_with_another_body_is_422<
    I: HttpIntegration,
>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let first = cx
        .send(keyed(cx, "k-422", json!({ "sessionId": session })))
        .await;
    json_ok(&first, StatusCode::CREATED)?;
    let other = json!({ "sessionId": session, "target": Fixture::OTHER_TARGET });
    let second = cx.send(keyed(cx, "k-422", other)).await;
    api_error(&second, StatusCode::UNPROCESSABLE_ENTITY)?;
    let code = second.json()?["error"]["code"].clone();
    ensure(code == "idempotency_key_reused", || {
        format!("422 code should be idempotency_key_reused, got {code}")
    })?;
    // `?wait=answered` asks for another answer: another request too.
    let waited = keyed(cx, "k-422", json!({ "sessionId": session }));
    let waited = TestRequest {
        uri: format!("{}?wait=answered", waited.uri),
        ..waited
    };
    api_error(&cx.send(waited).await, StatusCode::UNPROCESSABLE_ENTITY)?;
    count(&cx.fixture.dialer, Operation::Dial, 1)
}

pub(in crate::testing) async fn dial_bad_idempotency_key_is_400<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let long = "k".repeat(crate::MAX_IDEMPOTENCY_KEY_LEN + 1);
    for bad in ["", "has space", "a|b", long.as_str()] {
        let res = cx
            .send(keyed(cx, bad, json!({ "sessionId": session })))
            .await;
        names_field(&res, StatusCode::BAD_REQUEST, "Idempotency-Key")
            .map_err(|e| format!("key {bad:?}: {e}"))?;
    }
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

pub(in crate::testing) async fn dial_failed_with_a_key_releases_it<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    cx.fixture
        .dialer
        .script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    let body = json!({ "sessionId": session });
    let failed = cx.send(keyed(cx, "k-fail", body.clone())).await;
    api_error(&failed, StatusCode::GATEWAY_TIMEOUT)?;
    // Nothing was placed: the retry with the same key dials.
    let retried = cx.send(keyed(cx, "k-fail", body)).await;
    json_ok(&retried, StatusCode::CREATED)?;
    ensure(retried.header(REPLAYED).is_none(), || {
        "the retry after a failure is a new dial, not a replay".to_owned()
    })?;
    count(&cx.fixture.dialer, Operation::Dial, 2)
}
