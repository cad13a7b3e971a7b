//! Reading a request: the JSON content-type check (415), the size-limited streaming
//! body read (413, also for chunked bodies that announce no length) and JSON parsing
//! (400 naming the field).
//!
//! Messages never echo the caller's input: serde's own texts quote the offending value
//! (`invalid type: string "…"`), so they are rewritten here from the error category and
//! the field path.

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::http::{ApiError, BoxError};

/// Whether `Content-Type` is JSON: `application/json` or `application/*+json`, any
/// parameters, any case.
/// Compared without a lowercased copy: every JSON request asks.
fn is_json(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().as_bytes();
    let (Some(kind), Some(sub)) = (essence.get(..12), essence.get(12..)) else {
        return false;
    };
    kind.eq_ignore_ascii_case(b"application/")
        && (sub.eq_ignore_ascii_case(b"json")
            || sub.len() >= 5 && sub[sub.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

fn unsupported() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body must be JSON (Content-Type: application/json)",
    )
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than {limit} bytes"),
    )
}

/// Checks the content type, then reads at most `limit` bytes of `body`.
///
/// A declared `Content-Length` over the limit is refused before reading; otherwise the
/// limit is enforced frame by frame, so a chunked body is never buffered past it. An
/// empty body without `Content-Type` is accepted (it reads as `{}`), so that a bare
/// `fetch(url, {method: "POST"})` works on routes whose fields are all optional.
pub(crate) async fn read_json_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let content_type = headers.get(header::CONTENT_TYPE);
    if let Some(ct) = content_type
        && !ct.to_str().is_ok_and(is_json)
    {
        return Err(unsupported());
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(too_large(limit)),
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "body_read_error",
                "the request body could not be read",
            ));
        }
    };
    if content_type.is_none() && !bytes.is_empty() {
        return Err(unsupported());
    }
    Ok(bytes)
}

/// Parses `bytes` (empty reads as `{}`) into `T`, naming the field on error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // Only an object: serde also reads a struct from an array of its fields in order,
    // which let `["<sessionId>",null,null,null,null]` dial.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(not_an_object());
    }
    // A valid body is read once, without tracking the path (its bookkeeping costs more
    // than the parse); only a refused one is read again, by the same deserializer
    // through `serde_path_to_error`, to name the field. Both reads stop at the same
    // error, so the answer is what the path-tracking read alone gave.
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    if let Ok(value) = T::deserialize(&mut *de)
        && de.end().is_ok()
    {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut *de);
    let value = result.map_err(|e| json_error(e.path().to_string(), e.inner()))?;
    // Trailing data after the object is malformed JSON, not something to ignore.
    de.end().map_err(|e| json_error(".".to_owned(), &e))?;
    Ok(value)
}

/// Decodes a query string into name/value pairs (percent- and `+`-decoded).
pub(crate) fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string is invalid",
        )
    })
}

/// The first `` `name` `` in a serde message, when it is a plain identifier.
fn backticked(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    let name = &msg[start..start + len];
    is_plain_path(name).then_some(name)
}

/// Field paths are quoted only when they consist of identifier characters, so a
/// caller-chosen map key (a SIP header name) cannot smuggle text into the message.
fn is_plain_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 64
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']' | b'-'))
}

fn not_an_object() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "the body must be a JSON object",
    )
}

/// The part of a field path safe to quote: all of it when plain, else its first
/// segment (the rest is a caller-chosen key).
fn shown_path(path: &str) -> &str {
    if is_plain_path(path) {
        path
    } else {
        path.split(['.', '['])
            .next()
            .filter(|p| is_plain_path(p))
            .unwrap_or("a field")
    }
}

fn json_error(path: String, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body is not valid JSON",
        ),
        Category::Data => {
            let msg = e.to_string();
            if msg.starts_with("missing field") {
                match backticked(&msg) {
                    Some(name) => ApiError::invalid_field(name, "is required"),
                    None => ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_field",
                        "a required field is missing",
                    ),
                }
            } else if msg.starts_with("unknown field") {
                match backticked(&msg) {
                    Some(name) => ApiError::invalid_field(name, "is not a field of this request"),
                    None => ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_field",
                        "the body has a field this request does not know",
                    ),
                }
            } else if msg.starts_with("duplicate") {
                // A key given twice is refused everywhere (maps would keep one silently).
                match backticked(&msg) {
                    Some(name) => ApiError::invalid_field(name, "is given twice"),
                    None => ApiError::invalid_field(shown_path(&path), "has a key given twice"),
                }
            } else if path == "." {
                not_an_object()
            } else {
                ApiError::invalid_field(shown_path(&path), "has the wrong type")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Probe {
        session_id: String,
        streams: Option<Vec<String>>,
        headers: Option<std::collections::BTreeMap<String, String>>,
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Probe>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn json_errors_name_the_field_without_echoing_input() {
        assert_eq!(err(r#"{"#).code(), "invalid_json");
        assert_eq!(err("[]").message(), "the body must be a JSON object");
        assert_eq!(err("{}").message(), "invalid `sessionId`: is required");
        assert_eq!(
            err(r#"{"sessionId":"a","rol":"x"}"#).message(),
            "invalid `rol`: is not a field of this request"
        );
        assert_eq!(
            err(r#"{"sessionId":"a","streams":["x", 5]}"#).message(),
            "invalid `streams[1]`: has the wrong type"
        );
        let e = err(r#"{"sessionId":"a","headers":{"X y\r\nEvil: 1":5}}"#);
        assert_eq!(e.message(), "invalid `headers`: has the wrong type");
        let e = err(r#"{"sessionId":"a","bad key\r\n":1}"#);
        assert!(!e.message().contains("bad key"), "{}", e.message());
        let e = err(r#"{"sessionId":"SECRETVALUE42"}x"#);
        assert!(!e.message().contains("SECRETVALUE42"));
        let e = err(r#"{"sessionId":12345678}"#);
        assert!(!e.message().contains("12345678"));
    }

    #[test]
    fn arrays_and_duplicate_keys_are_refused() {
        // Regression (hostile-input suite): a struct also deserializes from an array of
        // its fields, and a duplicate key was reported as "not an object".
        let e = err(r#"["a", null, null]"#);
        assert_eq!(
            (e.code(), e.message()),
            ("invalid_json", "the body must be a JSON object")
        );
        assert_eq!(err(" \n[[[[").code(), "invalid_json");
        let e = err(r#"{"sessionId":"a","sessionId":"b"}"#);
        assert_eq!(e.message(), "invalid `sessionId`: is given twice");
    }

    #[test]
    fn empty_body_reads_as_empty_object() {
        #[derive(serde::Deserialize)]
        struct Empty {
            #[allow(dead_code)]
            room: Option<String>,
        }
        assert!(parse_json::<Empty>(b"").is_ok());
        assert!(parse_json::<Empty>(b"  ").is_ok());
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("multipart/form-data; boundary=x"));
        assert!(is_json(" APPLICATION/Vnd.Api+JSON "));
        assert!(!is_json("application/"));
        // As before: a bare `+json` subtype passes the suffix rule.
        assert!(is_json("application/+json"));
        assert!(!is_json("application/jsonx"));
        assert!(!is_json("text/json"));
        assert!(!is_json(""));
    }
}
