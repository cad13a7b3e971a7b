//! The contract cases. Each is one named function, so a failure names the case; each
//! gets a fresh fixture. Only behaviour the HTTP API contract states is checked (status,
//! headers, JSON shape, what reaches the dialer), so that every form is held to the
//! contract and not to one implementation's wording.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, LOCATION, ORIGIN, RETRY_AFTER};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use super::request::truncate;
use super::runner::Cx;
use super::{Fixture, HttpIntegration, TestBody, TestRequest, TestResponse, host};
use crate::fake::{Operation, Script};
use crate::{DialError, SessionOptions, SipDialer};

pub(super) type Outcome = Result<(), String>;

// ---- helpers -------------------------------------------------------------------------

pub(super) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(msg()) }
}

fn status(res: &TestResponse, want: StatusCode) -> Outcome {
    ensure(res.status == want, || {
        format!(
            "expected {want}, got {} with body {:?}",
            res.status,
            truncate(&res.text())
        )
    })
}

fn json_content_type(res: &TestResponse) -> Outcome {
    let ct = res.header(CONTENT_TYPE.as_str()).unwrap_or_default();
    ensure(ct.starts_with("application/json"), || {
        format!("{}: expected a JSON content type, got {ct:?}", res.status)
    })
}

/// A success with a JSON body.
fn json_ok(res: &TestResponse, want: StatusCode) -> Result<Value, String> {
    status(res, want)?;
    json_content_type(res)?;
    res.json()
}

/// An error answer: `want`, JSON, and exactly `{"error":{"code":"…","message":"…"}}`.
/// Returns the message.
fn api_error(res: &TestResponse, want: StatusCode) -> Result<String, String> {
    status(res, want)?;
    json_content_type(res)?;
    let body = res.json()?;
    let shape_err = || format!("{want}: error body has the wrong shape: {body}");
    let obj = body.as_object().ok_or_else(shape_err)?;
    ensure(obj.len() == 1, shape_err)?;
    let error = obj
        .get("error")
        .and_then(Value::as_object)
        .ok_or_else(shape_err)?;
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ensure(!code.is_empty() && !message.is_empty(), shape_err)?;
    Ok(message.to_owned())
}

/// Like [`api_error`], and the message names `field`.
fn names_field(res: &TestResponse, want: StatusCode, field: &str) -> Outcome {
    let message = api_error(res, want)?;
    ensure(message.contains(field), || {
        format!("{want}: the message does not name `{field}`: {message:?}")
    })
}

fn retry_after(res: &TestResponse) -> Outcome {
    let value = res.header(RETRY_AFTER.as_str()).unwrap_or_default();
    ensure(value.parse::<u64>().is_ok_and(|s| s >= 1), || {
        format!("429 without a Retry-After in whole seconds (got {value:?})")
    })
}

pub(super) fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("`{key}` missing or not a non-empty string in {v}"))
}

fn present(v: &Value, key: &str) -> Outcome {
    ensure(v.get(key).is_some_and(|x| !x.is_null()), || {
        format!("`{key}` missing in {v}")
    })
}

/// A list answer: the array itself or the array under `key`.
fn list<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .or_else(|| v.get(key).and_then(Value::as_array))
        .ok_or_else(|| format!("expected a list (or `{key}`: list), got {v}"))
}

fn count(cx_dialer: &crate::fake::FakeDialer, op: Operation, want: usize) -> Outcome {
    let got = cx_dialer.count(op);
    ensure(got == want, || {
        format!("expected {want} {op:?} call(s) on the dialer, got {got}")
    })
}

fn origin(req: TestRequest, origin: &'static str) -> TestRequest {
    req.header(ORIGIN, HeaderValue::from_static(origin))
}

pub(super) async fn create_session<I: HttpIntegration>(
    cx: &Cx<I>,
    room: &str,
) -> Result<String, String> {
    let res = cx
        .send(cx.post_json("/session", json!({ "room": room })))
        .await;
    let body = json_ok(&res, StatusCode::OK).map_err(|e| format!("creating a session: {e}"))?;
    Ok(str_field(&body, "sessionId")?.to_owned())
}

pub(super) async fn dial<I: HttpIntegration>(
    cx: &Cx<I>,
    session_id: &str,
) -> Result<Value, String> {
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session_id })))
        .await;
    json_ok(&res, StatusCode::CREATED).map_err(|e| format!("dialing: {e}"))
}

async fn hang_up<I: HttpIntegration>(cx: &Cx<I>, call_id: &str) -> Outcome {
    let res = cx
        .send(TestRequest::delete(cx.path(&format!("/calls/{call_id}"))))
        .await;
    status(&res, StatusCode::NO_CONTENT).map_err(|e| format!("hanging up: {e}"))
}

/// A session the platform knows but this API never created.
async fn foreign_session<I: HttpIntegration>(cx: &Cx<I>) -> Result<String, String> {
    let id = cx
        .fixture
        .dialer
        .create_session(SessionOptions::default())
        .await
        .map_err(|e| format!("fake dialer refused to create a session: {e}"))?;
    Ok(id.as_str().to_owned())
}

/// A call id of the right shape that no call has.
const UNKNOWN_CALL_ID: &str = "0f5a3c6e-9b1d-4c2e-8f00-000000000000";

// ---- sessions and targets ------------------------------------------------------------

pub(super) async fn session_creates_and_reuses_a_room<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn session_defaults_the_room<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let res = cx.send(cx.post_json("/session", json!({}))).await;
    let body = json_ok(&res, StatusCode::OK)?;
    ensure(body["room"] == "default", || {
        format!("expected room `default` in {body}")
    })?;
    str_field(&body, "sessionId").map(drop)
}

pub(super) async fn session_reads_a_chunked_body<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn targets_lists_names_and_labels_only<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn token_for_a_known_session<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn token_for_an_unknown_session_is_404<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = foreign_session(cx).await?;
    let res = cx
        .send(cx.post_json("/token", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::NOT_FOUND).map(drop)
}

pub(super) async fn token_moderator_is_denied_by_the_default_authorizer<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let req = cx.post_json(
        "/token",
        json!({ "sessionId": session, "role": "moderator" }),
    );
    api_error(&cx.send(req).await, StatusCode::FORBIDDEN).map(drop)
}

pub(super) async fn token_invalid_role_names_the_field<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let req = cx.post_json(
        "/token",
        json!({ "sessionId": session, "role": "superuser" }),
    );
    names_field(&cx.send(req).await, StatusCode::BAD_REQUEST, "role")
}

pub(super) async fn token_missing_session_id_names_the_field<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let req = cx.post_json("/token", json!({}));
    names_field(&cx.send(req).await, StatusCode::BAD_REQUEST, "sessionId")
}

// ---- dial and calls ------------------------------------------------------------------

pub(super) async fn dial_default_target_is_201_with_location<I: HttpIntegration>(
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

pub(super) async fn dial_named_target<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn dial_unknown_target_is_refused<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn dial_uri_without_allow_list_is_refused<I: HttpIntegration>(
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

pub(super) async fn dial_unknown_session_is_404<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = foreign_session(cx).await?;
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::NOT_FOUND)?;
    count(&cx.fixture.dialer, Operation::Dial, 0)
}

pub(super) async fn calls_list_and_get<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn hang_up_is_204_and_idempotent<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn dtmf_is_204<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let id = str_field(&dial(cx, &session).await?, "id")?.to_owned();
    let res = cx
        .send(cx.post_json(&format!("/calls/{id}/dtmf"), json!({ "digits": "1234#" })))
        .await;
    status(&res, StatusCode::NO_CONTENT)?;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 1)
}

pub(super) async fn dtmf_invalid_digits_names_the_field<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let id = str_field(&dial(cx, &session).await?, "id")?.to_owned();
    let res = cx
        .send(cx.post_json(&format!("/calls/{id}/dtmf"), json!({ "digits": "12a" })))
        .await;
    names_field(&res, StatusCode::BAD_REQUEST, "digits")?;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 0)
}

// ---- generic errors ------------------------------------------------------------------

pub(super) async fn invalid_json_is_400<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Full(Bytes::from_static(b"{\"room\":")));
    api_error(&cx.send(req).await, StatusCode::BAD_REQUEST)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

pub(super) async fn unknown_call_is_404<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn unknown_route_is_404<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn wrong_method_is_405_with_allow<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn platform_conflict_is_409<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn body_at_the_limit_is_accepted<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Full(padded_session_body(Fixture::BODY_LIMIT)));
    let body = json_ok(&cx.send(req).await, StatusCode::OK)?;
    ensure(body["room"] == "padded", || format!("wrong room in {body}"))
}

pub(super) async fn body_over_the_limit_is_413<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Full(padded_session_body(Fixture::BODY_LIMIT + 1)));
    api_error(&cx.send(req).await, StatusCode::PAYLOAD_TOO_LARGE)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

pub(super) async fn chunked_body_over_the_limit_is_413<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let body = padded_session_body(Fixture::BODY_LIMIT * 4);
    let chunks = body.chunks(4096).map(Bytes::copy_from_slice).collect();
    let req = TestRequest::post(cx.path("/session"))
        .content_type("application/json")
        .body(TestBody::Chunked(chunks));
    api_error(&cx.send(req).await, StatusCode::PAYLOAD_TOO_LARGE)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

pub(super) async fn non_json_body_is_415<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = TestRequest::post(cx.path("/session"))
        .content_type("text/plain")
        .body(TestBody::Full(Bytes::from_static(b"room=lobby")));
    api_error(&cx.send(req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
    count(&cx.fixture.dialer, Operation::CreateSession, 0)
}

// ---- limits --------------------------------------------------------------------------

pub(super) async fn active_call_limit_is_429_with_retry_after<I: HttpIntegration>(
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

pub(super) async fn dial_rate_limit_is_429_with_retry_after<I: HttpIntegration>(
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

pub(super) async fn platform_rate_limit_is_429_with_retry_after<I: HttpIntegration>(
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

// ---- platform failures ---------------------------------------------------------------

pub(super) async fn platform_error_is_502_without_its_body<I: HttpIntegration>(
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

pub(super) async fn rejected_credentials_are_502<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    cx.fixture.dialer.script_once(
        Operation::CreateSession,
        Script::Fail(DialError::RejectedCredentials),
    );
    let res = cx
        .send(cx.post_json("/session", json!({ "room": "lobby" })))
        .await;
    api_error(&res, StatusCode::BAD_GATEWAY).map(drop)
}

pub(super) async fn platform_timeout_is_504<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    cx.fixture
        .dialer
        .script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    let res = cx
        .send(cx.post_json("/dial", json!({ "sessionId": session })))
        .await;
    api_error(&res, StatusCode::GATEWAY_TIMEOUT).map(drop)
}

// ---- origin check --------------------------------------------------------------------

pub(super) async fn foreign_origin_is_403<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn allowed_origin_is_accepted<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
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

pub(super) async fn safe_methods_ignore_origin<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let req = origin(
        TestRequest::get(cx.path("/targets")),
        Fixture::FOREIGN_ORIGIN,
    );
    json_ok(&cx.send(req).await, StatusCode::OK).map(drop)
}

// ---- platform callbacks --------------------------------------------------------------

pub(super) async fn callbacks_update_calls_without_an_origin_check<I: HttpIntegration>(
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

pub(super) async fn callbacks_accept_unknown_events_and_fields<I: HttpIntegration>(
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

// ---- served description ----------------------------------------------------------------

pub(super) async fn openapi_names_the_mount_as_its_server<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let path = cx.path("/openapi.json");
    let doc = json_ok(&cx.send(TestRequest::get(&path)).await, StatusCode::OK)
        .map_err(|e| format!("GET {path}: {e}"))?;
    let want = if cx.base().is_empty() { "/" } else { cx.base() };
    ensure(doc["servers"][0]["url"] == want, || {
        format!(
            "the served document's server should be {want:?}: {}",
            doc["servers"]
        )
    })?;
    ensure(doc["paths"].get("/dial").is_some(), || {
        "the served document's paths are not relative to its server".to_owned()
    })
}

// ---- host app ------------------------------------------------------------------------

pub(super) async fn foreign_paths_pass_through<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let posted = Bytes::from_static(b"hello host");
    let requests = [
        TestRequest::get("/host/page?x=1"),
        TestRequest::post("/host/form")
            .content_type("text/plain")
            .body(TestBody::Full(posted.clone())),
        TestRequest::get("/"),
    ];
    let mut requests = Vec::from(requests);
    if !cx.base().is_empty() {
        // Shares the API's leading characters but is not under it.
        requests.push(TestRequest::get(format!("{}x/page", cx.base())));
    }
    if !cx.http.mount().is_empty() {
        // The host's own route inside its mount, next to the API, and (unless the API
        // owns the whole mount) the mount's fallback.
        requests.push(TestRequest::get(format!("{}/host/page", cx.http.mount())));
        if !I::prefix().is_empty() {
            requests.push(TestRequest::get(format!("{}/host/other", cx.http.mount())));
        }
    }
    for req in requests {
        let (method, path, len) = (
            req.method.clone(),
            req.path().to_owned(),
            req.body.to_bytes().len(),
        );
        let res = cx.send(req).await;
        if cx.http.wraps_host_app() {
            status(&res, host::STATUS).map_err(|e| format!("{method} {path}: {e}"))?;
            ensure(res.header(host::HEADER) == Some(host::HEADER_VALUE), || {
                format!("{method} {path}: the host's header was lost")
            })?;
            let want = host::body(&method, &path, len);
            ensure(res.text() == want, || {
                format!(
                    "{method} {path}: expected the host's {want:?}, got {:?}",
                    res.text()
                )
            })?;
        } else {
            status(&res, StatusCode::NOT_FOUND).map_err(|e| format!("{method} {path}: {e}"))?;
        }
    }
    ensure(cx.fixture.dialer.recorded().is_empty(), || {
        "a foreign path reached the dialer".to_owned()
    })
}

// ---- secrets -------------------------------------------------------------------------

pub(super) async fn responses_never_leak_secrets<I: HttpIntegration>(cx: &Cx<I>) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?.to_owned();
    let mut seen = vec![call.to_string()];
    for req in [
        TestRequest::get(cx.path("/targets")),
        TestRequest::get(cx.path(&format!("/calls?sessionId={session}&all=true"))),
        TestRequest::get(cx.path(&format!("/calls/{id}"))),
    ] {
        let res = cx.send(req).await;
        seen.push(format!("{:?} {}", res.headers, res.text()));
    }
    for text in seen {
        ensure(!text.contains(Fixture::SIP_PASSWORD), || {
            format!("the SIP password reached the client: {text}")
        })?;
        ensure(!text.contains(Fixture::SIP_HOST), || {
            format!("the target's SIP URI reached the client: {text}")
        })?;
    }
    Ok(())
}
