//! What every row's answer is held to.

use http::header::{ALLOW, CONTENT_TYPE};
use sipdial_core::testing::{TestResponse, host};

use crate::props::message_problem;

/// The answer a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A JSON error with this status and `code`.
    Error(u16, &'static str),
    /// A success with this status (the request was harmless: e.g. connection data with
    /// a line break, which is JSON-encoded into a token and never reaches SIP).
    Success(u16),
    /// Not the API's path at all: the host app answered, untouched.
    Host,
}

/// Checks `res` against `expect`: exact status; for errors a JSON content type, a body
/// that is exactly `{"error":{"code":"…","message":"…"}}` with the expected code and a
/// safe message, and `Allow` on a 405. `head` skips the body checks (no body on HEAD).
pub fn check(expect: Expect, res: &TestResponse, head: bool) -> Result<(), String> {
    let got = res.status.as_u16();
    let body = || {
        let t = res.text();
        if t.len() > 200 {
            format!("{}…", &t[..t.floor_char_boundary(200)])
        } else {
            t
        }
    };
    match expect {
        Expect::Host => {
            if res.status != host::STATUS || res.header(host::HEADER) != Some(host::HEADER_VALUE) {
                return Err(format!(
                    "expected the host app's answer, got {got}: {}",
                    body()
                ));
            }
            Ok(())
        }
        Expect::Success(want) => {
            if got != want {
                return Err(format!("expected {want}, got {got}: {}", body()));
            }
            Ok(())
        }
        Expect::Error(want, code) => {
            if got != want {
                return Err(format!("expected {want} {code}, got {got}: {}", body()));
            }
            if want == 405 && res.header(ALLOW.as_str()).is_none_or(str::is_empty) {
                return Err("405 without Allow".to_owned());
            }
            if head {
                return Ok(());
            }
            let ct = res.header(CONTENT_TYPE.as_str()).unwrap_or_default();
            if !ct.starts_with("application/json") {
                return Err(format!("{got}: content type {ct:?}"));
            }
            let v = res.json()?;
            let shape = || format!("{got}: error body has the wrong shape: {v}");
            let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(shape)?;
            let err = obj
                .get("error")
                .and_then(|e| e.as_object())
                .filter(|e| e.len() == 2)
                .ok_or_else(shape)?;
            let got_code = err.get("code").and_then(|c| c.as_str()).ok_or_else(shape)?;
            let message = err
                .get("message")
                .and_then(|c| c.as_str())
                .ok_or_else(shape)?;
            if got_code != code {
                return Err(format!(
                    "{got}: expected code {code}, got {got_code}: {message}"
                ));
            }
            if let Some(problem) = message_problem(message) {
                return Err(format!("{got} {code}: {problem}"));
            }
            Ok(())
        }
    }
}
