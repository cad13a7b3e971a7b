//! Properties checked on arbitrary bytes, beyond "does not panic".
//!
//! Each function takes the fuzzer's input and panics when a property fails, so that the
//! libFuzzer targets are one line each and a crash input replays under `cargo test`
//! (see `tests/fuzz_regressions.rs`).

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, Full};
use sipdial_core::api::fuzzing::parse_dial_body;
use sipdial_core::fake::{FakeDialer, Operation};
use sipdial_core::session_format::{self, SessionIdParts};
use sipdial_core::{
    ConnectionData, Dtmf, MAX_CONNECTION_DATA_LEN, MAX_DTMF_LEN, MAX_ROOM_LEN, MAX_SESSION_ID_LEN,
    MAX_SIP_FROM_LEN, MAX_SIP_HEADER_VALUE_LEN, MAX_SIP_HEADERS, MAX_SIP_HEADERS_BYTES,
    MAX_SIP_URI_LEN, Room, SessionId, SipDialApi, SipDialer, SipFrom, SipHeaders, SipUri,
};

/// Characters that must never survive validation of anything that reaches a SIP
/// request line or header: they would end the line or the string.
fn has_line_breaker(s: &str) -> bool {
    s.chars()
        .any(|c| c == '\r' || c == '\n' || c == '\0' || (c.is_control() && c != '\t'))
}

/// The input as text: exactly when it is UTF-8, otherwise lossily (so invalid bytes
/// still reach the validators as U+FFFD).
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A value accepted by `new` survives a JSON round trip unchanged, and JSON cannot
/// smuggle in a value `new` refuses.
fn json_round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).expect("a validated value serializes");
    let back: T = serde_json::from_str(&json).expect("a validated value deserializes");
    assert_eq!(&back, value, "JSON round trip changed the value");
}

/// [`SipUri`]: an accepted URI is ASCII, has no whitespace or control characters, is
/// within its size limit, starts with `sip:`/`sips:`, and round-trips.
pub fn sip_uri(data: &[u8]) {
    let s = text(data);
    let via_json: Result<SipUri, _> = serde_json::from_value(serde_json::Value::String(s.clone()));
    let Ok(uri) = SipUri::new(s.clone()) else {
        assert!(via_json.is_err(), "JSON accepted a URI that new() refused");
        return;
    };
    assert!(via_json.is_ok(), "JSON refused a URI that new() accepted");
    let v = uri.as_str();
    assert_eq!(v, s);
    assert!(v.is_ascii(), "accepted a non-ASCII SIP URI: {v:?}");
    assert!(
        !has_line_breaker(v),
        "accepted a SIP URI with a control: {v:?}"
    );
    assert!(!v.contains([' ', '\t', '<', '>', '"', '\\']), "{v:?}");
    assert!(v.len() <= MAX_SIP_URI_LEN);
    let lower = v.to_ascii_lowercase();
    assert!(
        lower.starts_with("sip:") || lower.starts_with("sips:"),
        "{v:?}"
    );
    let host = v.rsplit_once('@').map(|(_, h)| h).expect("user@host");
    assert!(!host.contains('?'), "URI headers accepted: {v:?}");
    let _ = uri.is_tls();
    json_round_trip(&uri);
}

/// [`SipFrom`]: like a URI's `user@host`, without parameters.
pub fn sip_from(data: &[u8]) {
    let s = text(data);
    let Ok(from) = SipFrom::new(s) else { return };
    let v = from.as_str();
    assert!(
        v.is_ascii() && !has_line_breaker(v) && !v.contains(' '),
        "{v:?}"
    );
    assert!(!v.contains(';') && v.contains('@'), "{v:?}");
    assert!(v.len() <= MAX_SIP_FROM_LEN);
    json_round_trip(&from);
}

/// [`SipHeaders`] from a JSON object: accepted headers have token names that are not
/// the SIP stack's own, values without CR/LF/NUL, and stay within the count and size
/// limits; names are unique case-insensitively; the JSON round trip is exact.
pub fn sip_headers_json(data: &[u8]) {
    let Ok(headers) = serde_json::from_slice::<SipHeaders>(data) else {
        return;
    };
    assert!(headers.len() <= MAX_SIP_HEADERS);
    let mut total = 0;
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in headers.iter() {
        assert!(
            !name.is_empty()
                && name.is_ascii()
                && !name.contains([':', ' ', '\r', '\n', '\0', '<', '>', '"', '@']),
            "accepted header name {name:?}"
        );
        let lower = name.to_ascii_lowercase();
        assert!(
            ![
                "via",
                "from",
                "to",
                "call-id",
                "cseq",
                "contact",
                "content-length",
                "max-forwards"
            ]
            .contains(&lower.as_str()),
            "accepted reserved header {name:?}"
        );
        assert!(!has_line_breaker(value), "accepted header value {value:?}");
        assert!(value.len() <= MAX_SIP_HEADER_VALUE_LEN);
        assert!(!seen.contains(&lower), "duplicate header {name:?}");
        seen.push(lower);
        total += name.len() + value.len();
    }
    assert!(total <= MAX_SIP_HEADERS_BYTES);
    json_round_trip(&headers);
}

/// [`Dtmf`]: only `0-9*#p`, 1 to [`MAX_DTMF_LEN`].
pub fn dtmf(data: &[u8]) {
    let Ok(d) = Dtmf::new(text(data)) else { return };
    let v = d.as_str();
    assert!((1..=MAX_DTMF_LEN).contains(&v.len()));
    assert!(
        v.bytes().all(|b| b.is_ascii_digit() || b"*#p".contains(&b)),
        "{v:?}"
    );
    json_round_trip(&d);
}

/// [`Room`]: 1 to [`MAX_ROOM_LEN`] of `[A-Za-z0-9_.-]`.
pub fn room(data: &[u8]) {
    let Ok(r) = Room::new(text(data)) else { return };
    let v = r.as_str();
    assert!((1..=MAX_ROOM_LEN).contains(&v.len()));
    assert!(
        v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)),
        "{v:?}"
    );
    json_round_trip(&r);
}

/// [`ConnectionData`]: at most [`MAX_CONNECTION_DATA_LEN`] characters, any content
/// (it is JSON- or percent-encoded into tokens, never into SIP).
pub fn connection_data(data: &[u8]) {
    let s = text(data);
    let count = s.chars().count();
    match ConnectionData::new(s) {
        Ok(d) => {
            assert!(count <= MAX_CONNECTION_DATA_LEN);
            json_round_trip(&d);
        }
        Err(_) => assert!(
            count > MAX_CONNECTION_DATA_LEN,
            "refused {count} characters"
        ),
    }
}

/// [`SessionId`] and [`session_format::decode`]: an accepted id is a safe path segment;
/// decoding never panics, and decoding is stable under re-encoding: once decoded,
/// `decode(encode(parts)) == parts`.
pub fn session_id(data: &[u8]) {
    let Ok(id) = SessionId::new(text(data)) else {
        return;
    };
    let v = id.as_str();
    assert!(v.len() <= MAX_SESSION_ID_LEN && !v.is_empty());
    assert!(
        !v.contains(['/', '%', '?', '#']) && v != "." && v != "..",
        "{v:?}"
    );
    json_round_trip(&id);
    if let Some(parts) = session_format::decode(&id) {
        assert_reencodes(&parts);
    }
}

/// `encode` then `decode` gives the fields back (when `encode` accepts them).
pub fn session_format_round_trip(data: &[u8]) {
    let s = text(data);
    let mut fields = s.splitn(4, '\u{1}');
    let parts = SessionIdParts {
        api_key: fields.next().unwrap_or_default().to_owned(),
        location: fields.next().unwrap_or_default().to_owned(),
        create_time: fields.next().unwrap_or_default().to_owned(),
        random: fields.next().unwrap_or_default().to_owned(),
    };
    assert_reencodes(&parts);
}

fn assert_reencodes(parts: &SessionIdParts) {
    let Ok(encoded) = session_format::encode(parts) else {
        return;
    };
    let decoded = session_format::decode(&encoded).expect("an encoded id decodes");
    assert_eq!(
        &decoded, parts,
        "encode/decode round trip changed the fields"
    );
}

/// The `POST /dial` body parser: every refusal is a 400 `invalid_json` or
/// `invalid_field` whose message is short, single-line and quotes only identifiers.
pub fn dial_body(data: &[u8]) {
    let Err(e) = parse_dial_body(data) else {
        // Accepted bodies are JSON objects.
        let v: serde_json::Value = serde_json::from_slice(data).expect("accepted body is JSON");
        assert!(v.is_object(), "accepted a non-object dial body");
        return;
    };
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert!(
        matches!(e.code(), "invalid_json" | "invalid_field"),
        "unexpected code {}",
        e.code()
    );
    assert_message_is_safe(e.message());
}

/// An error message is short, printable ASCII, and any backticked part is a plain
/// field path (so caller-chosen keys and values are never echoed).
///
/// # Panics
/// When it is not.
pub fn assert_message_is_safe(message: &str) {
    if let Some(problem) = message_problem(message) {
        panic!("{problem}");
    }
}

/// What is wrong with an error message, if anything (see [`assert_message_is_safe`]).
pub fn message_problem(message: &str) -> Option<String> {
    if message.is_empty() || message.len() > 200 {
        return Some(format!("message empty or too long: {message:?}"));
    }
    if !message.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Some(format!("message has non-printable bytes: {message:?}"));
    }
    let mut parts = message.split('`');
    parts.next();
    while let Some(quoted) = parts.next() {
        if !quoted
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.[]-=".contains(&b))
        {
            return Some(format!("message quotes a non-identifier: {message:?}"));
        }
        parts.next();
    }
    None
}

/// One API and the session and call it was seeded with, shared by every input of a
/// fuzzing run (the API must keep working whatever came before).
struct ApiUnderFuzz {
    /// Held for a whole request: the "did it reach the dialer" check compares the
    /// dialer's counters before and after, which a request on another test thread
    /// would otherwise move.
    serial: std::sync::Mutex<()>,
    runtime: tokio::runtime::Runtime,
    dialer: Arc<FakeDialer>,
    api: SipDialApi,
    session: String,
    call: String,
}

fn api_under_fuzz() -> &'static ApiUnderFuzz {
    static API: OnceLock<ApiUnderFuzz> = OnceLock::new();
    API.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let dialer = Arc::new(FakeDialer::new());
        let api = SipDialApi::builder(dialer.clone() as Arc<dyn SipDialer>)
            .anonymous()
            .target(sipdial_core::api::SipTarget::new(
                "support",
                SipUri::new("sip:desk@pbx.fuzz.example").expect("valid"),
            ))
            .allow_uri(sipdial_core::api::UriAllowList::new().allow("sip:*@pbx.fuzz.example"))
            .max_active_calls_per_session(usize::MAX / 2)
            .dials_per_minute(u32::MAX)
            .max_active_calls_per_client(usize::MAX / 2)
            .client_dials_per_minute(u32::MAX)
            .client_sessions_per_minute(u32::MAX)
            .max_active_calls_total(usize::MAX / 2)
            .dials_per_minute_total(u32::MAX)
            // Arbitrary callback bodies must reach the parser, not stop at the signature.
            .accept_unsigned_callbacks()
            .build()
            .expect("valid configuration");
        let (session, call) = runtime.block_on(async {
            let res = api
                .handle(json_request(Method::POST, "/sip/session", b"{}".to_vec()))
                .await;
            let session = body_json(res).await["sessionId"]
                .as_str()
                .expect("session")
                .to_owned();
            let body = format!(r#"{{"sessionId":"{session}"}}"#).into_bytes();
            let res = api
                .handle(json_request(Method::POST, "/sip/dial", body))
                .await;
            let call = body_json(res).await["id"]
                .as_str()
                .expect("call")
                .to_owned();
            (session, call)
        });
        ApiUnderFuzz {
            serial: std::sync::Mutex::new(()),
            runtime,
            dialer,
            api,
            session,
            call,
        }
    })
}

fn json_request(method: Method, path: &str, body: Vec<u8>) -> http::Request<Full<Bytes>> {
    let mut req = http::Request::new(Full::new(Bytes::from(body)));
    *req.method_mut() = method;
    *req.uri_mut() = path.parse().expect("valid path");
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    req
}

async fn body_json(res: http::Response<sipdial_core::ResponseBody>) -> serde_json::Value {
    let bytes = collect(res.into_body()).await;
    serde_json::from_slice(&bytes).expect("JSON body")
}

async fn collect(body: sipdial_core::ResponseBody) -> Bytes {
    match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => panic!("response body failed: {e}"),
    }
}

/// Which request an API input becomes: the first byte picks the route and method, the
/// second the content type, the rest is the body (with `{sid}`/`{cid}` replaced by the
/// seeded session and call, so inputs reach past the "unknown session" check).
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/sip/dial"),
    ("POST", "/sip/token"),
    ("POST", "/sip/session"),
    ("POST", "/sip/calls/{cid}/dtmf"),
    ("POST", "/sip/callbacks"),
    ("DELETE", "/sip/calls/{cid}"),
    ("GET", "/sip/calls?sessionId={sid}"),
    ("GET", "/sip/calls/{cid}"),
];

const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    None,
    Some("text/plain"),
    Some("application/problem+json"),
];

/// [`SipDialApi::handle`] on arbitrary bodies: never panics, every answer has a known
/// status, errors have the `{"error":{"code","message"}}` shape with a safe message,
/// and the dialer is asked to dial, hang up or play DTMF only by the route that does so
/// and only when it answers success.
pub fn api_request(data: &[u8]) -> Option<StatusCode> {
    let (&route, rest) = data.split_first()?;
    let (&ct, body) = rest.split_first()?;
    let (method, path) = ROUTES[usize::from(route) % ROUTES.len()];
    let content_type = CONTENT_TYPES[usize::from(ct) % CONTENT_TYPES.len()];
    Some(api_request_to(method, path, content_type, body))
}

/// The callback route (`POST /sip/callbacks`) on arbitrary bodies, with the same
/// properties as [`api_request`]. Until the route exists it answers 404.
pub fn callback_request(data: &[u8]) -> StatusCode {
    api_request_to("POST", "/sip/callbacks", Some("application/json"), data)
}

fn api_request_to(method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> StatusCode {
    let fx = api_under_fuzz();
    let _serial = fx.serial.lock().unwrap_or_else(|e| e.into_inner());
    let body = String::from_utf8(body.to_vec())
        .map(|s| {
            s.replace("{sid}", &fx.session)
                .replace("{cid}", &fx.call)
                .into_bytes()
        })
        .unwrap_or_else(|e| e.into_bytes());
    let path = path
        .replace("{sid}", &fx.session)
        .replace("{cid}", &fx.call);
    let method = Method::from_bytes(method.as_bytes()).expect("known method");
    let mut req = json_request(method.clone(), &path, body);
    match content_type {
        Some(ct) => {
            req.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_str(ct).expect("valid"),
            );
        }
        None => {
            req.headers_mut().remove(header::CONTENT_TYPE);
        }
    }
    let counts = |d: &FakeDialer| {
        [Operation::Dial, Operation::HangUp, Operation::PlayDtmf].map(|op| d.count(op))
    };
    let before = counts(&fx.dialer);
    let (status, bytes) = fx.runtime.block_on(async {
        let res = fx.api.handle(req).await;
        let status = res.status();
        (status, collect(res.into_body()).await)
    });
    let after = counts(&fx.dialer);
    let expected_op = match (method.as_str(), path.as_str()) {
        ("POST", "/sip/dial") => Some(0),
        ("DELETE", p) if p.starts_with("/sip/calls/") => Some(1),
        ("POST", p) if p.ends_with("/dtmf") => Some(2),
        _ => None,
    };
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        if Some(i) == expected_op && status.is_success() {
            assert!(a - b <= 1, "one request reached the dialer {} times", a - b);
        } else {
            assert_eq!(
                b, a,
                "{method} {path} answered {status} yet reached the dialer"
            );
        }
    }
    const KNOWN: &[u16] = &[200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429];
    assert!(
        KNOWN.contains(&status.as_u16()),
        "unexpected status {status}"
    );
    if status.is_client_error() {
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("error body is JSON");
        let err = v
            .get("error")
            .and_then(|e| e.as_object())
            .expect("error object");
        assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{v}");
        let message = err["message"].as_str().expect("message");
        assert!(err["code"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
        assert_message_is_safe(message);
    }
    status
}
