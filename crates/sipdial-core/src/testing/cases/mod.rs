//! The contract cases. Each is one named function, so a failure names the case; each
//! gets a fresh fixture. Only behaviour the HTTP API contract states is checked (status,
//! headers, JSON shape, what reaches the dialer), so that every form is held to the
//! contract and not to one implementation's wording.

mod answer_wait;
mod authz;
mod callbacks;
mod caller_input;
mod calls;
mod control;
mod errors;
mod host_app;
mod idempotency;
mod limits;
mod origin;
mod sessions;

pub(super) use answer_wait::*;
pub(super) use authz::*;
pub(super) use callbacks::*;
pub(super) use caller_input::*;
pub(super) use calls::*;
pub(super) use control::*;
pub(super) use errors::*;
pub(super) use host_app::*;
pub(super) use idempotency::*;
pub(super) use limits::*;
pub(super) use origin::*;
pub(super) use sessions::*;

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

pub(in crate::testing) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
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

pub(in crate::testing) fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
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

pub(in crate::testing) async fn create_session<I: HttpIntegration>(
    cx: &Cx<I>,
    room: &str,
) -> Result<String, String> {
    let res = cx
        .send(cx.post_json("/session", json!({ "room": room })))
        .await;
    let body = json_ok(&res, StatusCode::OK).map_err(|e| format!("creating a session: {e}"))?;
    Ok(str_field(&body, "sessionId")?.to_owned())
}

pub(in crate::testing) async fn dial<I: HttpIntegration>(
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
