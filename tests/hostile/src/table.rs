//! The table of bad requests: every row is one request and the exact answer it must
//! get. Rows are grouped by [`Category`]; `docs/reliability-input.md` reports the count
//! of each, taken from [`rows`] by the `table_counts` test.
//!
//! Rows name the seeded session and call ([`Seed`]) wherever an unknown id would be
//! refused before the bad part of the request is looked at.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, ORIGIN};
use http::{HeaderName, HeaderValue, Method};
use serde_json::{Value, json};
use sipdial_core::testing::{TestBody, TestRequest};

use crate::check::Expect;
use crate::fixture::{ALLOWED_ORIGIN, SIP_HOST, Seed, path};

/// What kind of hostility a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// A field of the wrong JSON type.
    WrongType,
    /// A required field left out.
    MissingField,
    /// A field the route does not know (including ones that would set what only the
    /// host may set: `auth`, `from`, `secure`, ...).
    ExtraField,
    /// Numbers beyond any integer or float range.
    HugeNumber,
    /// Deeply nested JSON.
    DeepNesting,
    /// 1 MB strings and values over their field's size limit.
    Oversize,
    /// Bodies that are not UTF-8, or escape lone surrogates.
    InvalidUtf8,
    /// CR, LF, NUL (and other controls) in every string that reaches a SIP header or
    /// URI, or a platform path.
    Injection,
    /// Unicode look-alikes and lookalike hosts.
    LookAlike,
    /// `..`, encoded slashes and NULs, double slashes and overlong ids in call paths.
    PathTrick,
    /// A JSON key given twice.
    DuplicateKey,
    /// Bodies that are not declared as JSON.
    ContentType,
    /// Chunked bodies (no declared length).
    Chunked,
    /// Methods a route does not serve.
    WrongMethod,
    /// Foreign, opaque or malformed `Origin` on state-changing routes.
    Origin,
    /// Bad query strings.
    Query,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 16] = [
        Category::WrongType,
        Category::MissingField,
        Category::ExtraField,
        Category::HugeNumber,
        Category::DeepNesting,
        Category::Oversize,
        Category::InvalidUtf8,
        Category::Injection,
        Category::LookAlike,
        Category::PathTrick,
        Category::DuplicateKey,
        Category::ContentType,
        Category::Chunked,
        Category::WrongMethod,
        Category::Origin,
        Category::Query,
    ];
}

/// One bad request and the answer it must get.
#[derive(Debug, Clone)]
pub struct Row {
    /// A short unique description.
    pub name: String,
    /// Its kind.
    pub category: Category,
    /// The request.
    pub request: TestRequest,
    /// The answer.
    pub expect: Expect,
}

const MB: usize = 1024 * 1024;

fn bad_json() -> Expect {
    Expect::Error(400, "invalid_json")
}
fn bad_field() -> Expect {
    Expect::Error(400, "invalid_field")
}
fn no_call() -> Expect {
    Expect::Error(404, "call_not_found")
}
fn no_route() -> Expect {
    Expect::Error(404, "not_found")
}
fn too_large() -> Expect {
    Expect::Error(413, "payload_too_large")
}
fn not_json() -> Expect {
    Expect::Error(415, "unsupported_media_type")
}
fn not_allowed() -> Expect {
    Expect::Error(405, "method_not_allowed")
}
fn uri_refused() -> Expect {
    Expect::Error(403, "uri_not_allowed")
}
fn origin_refused() -> Expect {
    Expect::Error(403, "origin_not_allowed")
}

/// A POST of `value` as JSON.
fn post(p: &str, value: Value) -> TestRequest {
    TestRequest::new(Method::POST, path(p)).json(&value)
}

/// A POST of raw bytes declared as JSON.
fn post_raw(p: &str, body: impl Into<Bytes>) -> TestRequest {
    TestRequest::new(Method::POST, path(p))
        .content_type("application/json")
        .body(TestBody::Full(body.into()))
}

/// Collects rows with less ceremony.
struct Rows(Vec<Row>);

impl Rows {
    fn add(
        &mut self,
        category: Category,
        name: impl Into<String>,
        request: TestRequest,
        expect: Expect,
    ) {
        self.0.push(Row {
            name: name.into(),
            category,
            request,
            expect,
        });
    }
}

/// The strings that would end a SIP header line or a C string, and other controls.
const BREAKERS: &[(&str, &str)] = &[
    ("CR", "\r"),
    ("LF", "\n"),
    ("NUL", "\0"),
    ("CRLF header", "\r\nVia: SIP/2.0/UDP evil.example"),
    ("NEL", "\u{85}"),
    ("ESC", "\u{1b}"),
];

/// Every row, with `seed`'s session and call filled in.
pub fn rows(seed: &Seed) -> Vec<Row> {
    let s = seed.session.as_str();
    let c = seed.call.as_str();
    let mut r = Rows(Vec::new());
    wrong_types(&mut r, s);
    missing_and_extra(&mut r, s);
    huge_numbers(&mut r, s);
    nesting(&mut r, s);
    oversize(&mut r, s, c);
    invalid_utf8(&mut r, s, c);
    injection(&mut r, s, c);
    look_alikes(&mut r, s, c);
    path_tricks(&mut r, c);
    duplicates(&mut r, s, c);
    content_types(&mut r, s, c);
    chunked(&mut r, s);
    methods(&mut r, c);
    origins(&mut r, s, c);
    queries(&mut r, s);
    r.0
}

fn wrong_types(r: &mut Rows, s: &str) {
    use Category::WrongType as K;
    for (what, v) in [
        ("number", json!(5)),
        ("float", json!(1.5)),
        ("bool", json!(true)),
        ("array", json!(["a"])),
        ("object", json!({"a": "b"})),
    ] {
        r.add(
            K,
            format!("session room {what}"),
            post("/session", json!({ "room": v })),
            bad_field(),
        );
        r.add(
            K,
            format!("token sessionId {what}"),
            post("/token", json!({ "sessionId": v })),
            bad_field(),
        );
        r.add(
            K,
            format!("dial sessionId {what}"),
            post("/dial", json!({ "sessionId": v })),
            bad_field(),
        );
        r.add(
            K,
            format!("dtmf digits {what}"),
            post(&format!("/calls/{}/dtmf", "x"), json!({ "digits": v })),
            bad_field(),
        );
    }
    r.add(
        K,
        "token role number",
        post("/token", json!({ "sessionId": s, "role": 3 })),
        bad_field(),
    );
    r.add(
        K,
        "token data object",
        post("/token", json!({ "sessionId": s, "data": {"sip": true} })),
        bad_field(),
    );
    r.add(
        K,
        "dial target number",
        post("/dial", json!({ "sessionId": s, "target": 1 })),
        bad_field(),
    );
    r.add(
        K,
        "dial uri array",
        post("/dial", json!({ "sessionId": s, "uri": ["sip:a@b.c"] })),
        bad_field(),
    );
    r.add(
        K,
        "dial headers array",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": [["X-A", "1"]] }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "dial headers string",
        post("/dial", json!({ "sessionId": s, "headers": "X-A: 1" })),
        bad_field(),
    );
    r.add(
        K,
        "dial header value number",
        post("/dial", json!({ "sessionId": s, "headers": {"X-A": 1} })),
        bad_field(),
    );
    r.add(
        K,
        "dial header value null",
        post("/dial", json!({ "sessionId": s, "headers": {"X-A": null} })),
        bad_field(),
    );
    r.add(
        K,
        "dial header value array",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": {"X-A": ["1", "2"]} }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "dial streams string",
        post("/dial", json!({ "sessionId": s, "streams": "abc" })),
        bad_field(),
    );
    r.add(
        K,
        "dial streams of numbers",
        post("/dial", json!({ "sessionId": s, "streams": [1, 2] })),
        bad_field(),
    );
    r.add(
        K,
        "dial streams of null",
        post("/dial", json!({ "sessionId": s, "streams": [null] })),
        bad_field(),
    );
    r.add(K, "body is an array", post("/dial", json!([s])), bad_json());
    r.add(
        K,
        "body is an array of every field",
        post("/dial", json!([s, null, null, null, null])),
        bad_json(),
    );
    r.add(K, "body is a string", post("/token", json!(s)), bad_json());
    r.add(K, "body is null", post("/session", json!(null)), bad_json());
    r.add(K, "body is a number", post("/dial", json!(42)), bad_json());
}

fn missing_and_extra(r: &mut Rows, s: &str) {
    use Category::{ExtraField as E, MissingField as M};
    r.add(
        M,
        "token without sessionId",
        post("/token", json!({ "role": "publisher" })),
        bad_field(),
    );
    r.add(
        M,
        "dial without sessionId",
        post("/dial", json!({ "target": "support" })),
        bad_field(),
    );
    r.add(
        M,
        "dial empty object",
        post("/dial", json!({})),
        bad_field(),
    );
    r.add(
        M,
        "dial empty body",
        TestRequest::post(path("/dial")),
        bad_field(),
    );
    r.add(
        M,
        "dtmf without digits",
        post("/calls/x/dtmf", json!({})),
        bad_field(),
    );
    r.add(
        M,
        "token null sessionId",
        post("/token", json!({ "sessionId": null })),
        bad_field(),
    );
    r.add(
        M,
        "dial empty sessionId",
        post("/dial", json!({ "sessionId": "" })),
        bad_field(),
    );
    r.add(
        M,
        "dtmf empty digits",
        post("/calls/x/dtmf", json!({ "digits": "" })),
        bad_field(),
    );
    r.add(
        E,
        "session unknown field",
        post("/session", json!({ "room": "a", "x": 1 })),
        bad_field(),
    );
    r.add(
        E,
        "token sipUri",
        post("/token", json!({ "sessionId": s, "sipUri": "sip:a@b.c" })),
        bad_field(),
    );
    r.add(
        E,
        "token expireTime",
        post("/token", json!({ "sessionId": s, "expireTime": 1 })),
        bad_field(),
    );
    for (field, v) in [
        ("auth", json!({ "username": "u", "password": "p" })),
        ("from", json!("15551234567@evil.example")),
        ("secure", json!(false)),
        ("video", json!(true)),
        ("observeForceMute", json!(true)),
        ("sipUri", json!(format!("sip:a@{SIP_HOST}"))),
        ("token", json!("T1==forged")),
        ("__proto__", json!({ "admin": true })),
    ] {
        r.add(
            E,
            format!("dial with {field}"),
            post("/dial", json!({ "sessionId": s, field: v })),
            bad_field(),
        );
    }
    r.add(
        E,
        "dtmf with target",
        post(
            "/calls/x/dtmf",
            json!({ "digits": "1", "target": "session" }),
        ),
        bad_field(),
    );
    r.add(
        E,
        "dial misspelt target",
        post("/dial", json!({ "sessionId": s, "Target": "sales" })),
        bad_field(),
    );
}

fn huge_numbers(r: &mut Rows, s: &str) {
    use Category::HugeNumber as K;
    for (what, raw) in [
        ("1e999", "1e999"),
        ("u64 max + 1", "18446744073709551616"),
        ("i64 min - 1", "-9223372036854775809"),
        ("1e308", "1e308"),
        ("400 digits", &"9".repeat(400)),
    ] {
        r.add(
            K,
            format!("token sessionId {what}"),
            post_raw("/token", format!(r#"{{"sessionId":{raw}}}"#)),
            bad_field_or_json(raw),
        );
        r.add(
            K,
            format!("dtmf digits {what}"),
            post_raw("/calls/x/dtmf", format!(r#"{{"digits":{raw}}}"#)),
            bad_field_or_json(raw),
        );
    }
    r.add(
        K,
        "dial streams with a huge number",
        post_raw(
            "/dial",
            format!(r#"{{"sessionId":"{s}","streams":[1e999]}}"#),
        ),
        bad_json(),
    );
}

/// serde_json refuses an out-of-range float while parsing (malformed JSON); other
/// numbers parse and are then of the wrong type.
fn bad_field_or_json(raw: &str) -> Expect {
    // Integers beyond u64/i64 are read as floats, and 400 nines overflow one too.
    if raw == "1e999" || raw.len() > 300 {
        bad_json()
    } else {
        bad_field()
    }
}

fn nesting(r: &mut Rows, s: &str) {
    use Category::DeepNesting as K;
    let arrays = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    r.add(
        K,
        "10k nested arrays (over the body limit)",
        post_raw("/dial", format!(r#"{{"sessionId":{}}}"#, arrays(10_000))),
        too_large(),
    );
    // A field of the wrong type is refused at its first token: no recursion at all.
    r.add(
        K,
        "8k unclosed arrays",
        post_raw("/session", format!(r#"{{"room":{}"#, "[".repeat(8_000))),
        bad_field(),
    );
    r.add(
        K,
        "5k nested arrays in a stream list",
        post_raw(
            "/dial",
            format!(r#"{{"sessionId":"{s}","streams":{}}}"#, arrays(5_000)),
        ),
        bad_field(),
    );
    r.add(
        K,
        "200 nested objects in a header",
        post_raw(
            "/dial",
            format!(
                r#"{{"sessionId":"{s}","headers":{{"X-A":{}"1"{}}}}}"#,
                r#"{"a":"#.repeat(200),
                "}".repeat(200)
            ),
        ),
        bad_field(),
    );
    r.add(
        K,
        "129 nested arrays at the top",
        post_raw("/token", arrays(129)),
        bad_json(),
    );
    r.add(
        K,
        "2.5k nested objects at the top",
        post_raw(
            "/token",
            format!("{}{}", r#"{"a":"#.repeat(2_500), "}".repeat(2_500)),
        ),
        bad_field(),
    );
    r.add(
        K,
        "8k unclosed objects in a header value",
        post_raw(
            "/dial",
            format!(
                r#"{{"sessionId":"{s}","headers":{{"X-A":{}"#,
                r#"{"a":"#.repeat(3_000)
            ),
        ),
        bad_field(),
    );
}

fn oversize(r: &mut Rows, s: &str, c: &str) {
    use Category::Oversize as K;
    let mb = "a".repeat(MB);
    r.add(
        K,
        "1 MB room",
        post("/session", json!({ "room": mb })),
        too_large(),
    );
    r.add(
        K,
        "1 MB sessionId",
        post("/token", json!({ "sessionId": mb })),
        too_large(),
    );
    r.add(
        K,
        "1 MB data",
        post("/token", json!({ "sessionId": s, "data": mb })),
        too_large(),
    );
    r.add(
        K,
        "1 MB uri",
        post(
            "/dial",
            json!({ "sessionId": s, "uri": format!("sip:{mb}@{SIP_HOST}") }),
        ),
        too_large(),
    );
    r.add(
        K,
        "1 MB header value",
        post("/dial", json!({ "sessionId": s, "headers": { "X-A": mb } })),
        too_large(),
    );
    r.add(
        K,
        "1 MB header name",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { mb.clone(): "1" } }),
        ),
        too_large(),
    );
    r.add(
        K,
        "1 MB digits",
        post(
            &format!("/calls/{c}/dtmf"),
            json!({ "digits": "1".repeat(MB) }),
        ),
        too_large(),
    );
    r.add(
        K,
        "1 MB whitespace",
        post_raw("/session", " ".repeat(MB)),
        too_large(),
    );
    r.add(
        K,
        "body one byte over the limit",
        post_raw(
            "/session",
            format!(r#"{{"room":"{}"}}"#, "a".repeat(16 * 1024 - 10)),
        ),
        too_large(),
    );
    r.add(
        K,
        "room of 65",
        post("/session", json!({ "room": "r".repeat(65) })),
        bad_field(),
    );
    r.add(
        K,
        "sessionId of 256",
        post("/token", json!({ "sessionId": "s".repeat(256) })),
        bad_field(),
    );
    r.add(
        K,
        "data of 1001",
        post(
            "/token",
            json!({ "sessionId": s, "data": "d".repeat(1001) }),
        ),
        bad_field(),
    );
    r.add(K, "uri of 1025", post("/dial", json!({ "sessionId": s, "uri": format!("sip:{}@{SIP_HOST}", "u".repeat(1025 - 5 - SIP_HOST.len())) })), bad_field());
    r.add(
        K,
        "digits of 65",
        post(
            &format!("/calls/{c}/dtmf"),
            json!({ "digits": "1".repeat(65) }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "header value of 1025",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "X-A": "v".repeat(1025) } }),
        ),
        bad_field(),
    );
    let many: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("X-H{i}"), json!("1"))).collect();
    r.add(
        K,
        "21 headers",
        post("/dial", json!({ "sessionId": s, "headers": many })),
        bad_field(),
    );
    let big: serde_json::Map<String, Value> = (0..5)
        .map(|i| (format!("X-H{i}"), json!("v".repeat(1000))))
        .collect();
    r.add(
        K,
        "headers of 5000 bytes",
        post("/dial", json!({ "sessionId": s, "headers": big })),
        bad_field(),
    );
    r.add(
        K,
        "1000 streams of 129",
        post(
            "/dial",
            json!({ "sessionId": s, "streams": vec!["s".repeat(129); 100] }),
        ),
        bad_field(),
    );
}

fn invalid_utf8(r: &mut Rows, s: &str, c: &str) {
    use Category::InvalidUtf8 as K;
    let bodies: &[(&str, &[u8])] = &[
        ("0xFF", b"\xff"),
        ("lone continuation", b"\x80"),
        ("overlong slash", b"\xc0\xaf"),
        ("UTF-16 surrogate", b"\xed\xa0\x80"),
        ("truncated sequence", b"\xe2\x82"),
        ("above U+10FFFF", b"\xf4\x90\x80\x80"),
    ];
    for (what, bytes) in bodies {
        let wrap = |prefix: &str, suffix: &str| {
            let mut v = prefix.as_bytes().to_vec();
            v.extend_from_slice(bytes);
            v.extend_from_slice(suffix.as_bytes());
            v
        };
        r.add(
            K,
            format!("room {what}"),
            post_raw("/session", wrap(r#"{"room":"a"#, r#""}"#)),
            bad_json(),
        );
        r.add(
            K,
            format!("dial uri {what}"),
            post_raw(
                "/dial",
                wrap(
                    &format!(r#"{{"sessionId":"{s}","uri":"sip:a"#),
                    &format!(r#"@{SIP_HOST}"}}"#),
                ),
            ),
            bad_json(),
        );
    }
    r.add(
        K,
        "header name invalid UTF-8",
        post_raw(
            "/dial",
            [
                format!(r#"{{"sessionId":"{s}","headers":{{"X-"#).as_bytes(),
                b"\xff",
                br#"":"1"}}"#,
            ]
            .concat(),
        ),
        bad_json(),
    );
    r.add(
        K,
        "digits invalid UTF-8",
        post_raw(
            &format!("/calls/{c}/dtmf"),
            [&br#"{"digits":"1"#[..], b"\xfe", br#""}"#].concat(),
        ),
        bad_json(),
    );
    r.add(
        K,
        "escaped lone high surrogate",
        post_raw("/session", r#"{"room":"\ud800"}"#),
        bad_json(),
    );
    r.add(
        K,
        "escaped lone low surrogate",
        post_raw(
            "/token",
            format!(r#"{{"sessionId":"{s}","data":"\udc00"}}"#),
        ),
        bad_json(),
    );
    r.add(
        K,
        "UTF-16 body",
        post_raw("/session", b"\xff\xfe{\0}\0".to_vec()),
        bad_json(),
    );
    r.add(
        K,
        "UTF-8 BOM",
        post_raw("/session", b"\xef\xbb\xbf{}".to_vec()),
        bad_json(),
    );
}

fn injection(r: &mut Rows, s: &str, c: &str) {
    use Category::Injection as K;
    for (what, b) in BREAKERS {
        r.add(
            K,
            format!("target {what}"),
            post(
                "/dial",
                json!({ "sessionId": s, "target": format!("support{b}") }),
            ),
            bad_field(),
        );
        r.add(
            K,
            format!("header name {what}"),
            post(
                "/dial",
                json!({ "sessionId": s, "headers": { format!("X-A{b}"): "1" } }),
            ),
            bad_field(),
        );
        r.add(
            K,
            format!("uri {what}"),
            post(
                "/dial",
                json!({ "sessionId": s, "uri": format!("sip:desk@{SIP_HOST}{b}") }),
            ),
            bad_field(),
        );
        r.add(
            K,
            format!("digits {what}"),
            post(
                &format!("/calls/{c}/dtmf"),
                json!({ "digits": format!("12{b}3") }),
            ),
            bad_field(),
        );
        r.add(
            K,
            format!("room {what}"),
            post("/session", json!({ "room": format!("r{b}") })),
            bad_field(),
        );
        r.add(
            K,
            format!("token sessionId {what}"),
            post("/token", json!({ "sessionId": format!("{s}{b}") })),
            bad_field(),
        );
        r.add(
            K,
            format!("dial sessionId {what}"),
            post("/dial", json!({ "sessionId": format!("{s}{b}") })),
            bad_field(),
        );
        r.add(
            K,
            format!("stream id {what}"),
            post(
                "/dial",
                json!({ "sessionId": s, "streams": [format!("st{b}")] }),
            ),
            bad_field(),
        );
    }
    // Controls in header values (tab aside, which SIP allows as whitespace).
    for (what, b) in BREAKERS.iter().filter(|(w, _)| *w != "CRLF header") {
        r.add(
            K,
            format!("header value {what}"),
            post(
                "/dial",
                json!({ "sessionId": s, "headers": { "X-A": format!("1{b}2") } }),
            ),
            bad_field(),
        );
    }
    r.add(
        K,
        "header value CRLF header",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "X-A": "1\r\nTo: <sip:victim@evil.example>" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "uri with a second header line in the user",
        post(
            "/dial",
            json!({ "sessionId": s, "uri": format!("sip:a\r\nVia: x@{SIP_HOST}") }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "uri with angle brackets",
        post(
            "/dial",
            json!({ "sessionId": s, "uri": format!("<sip:desk@{SIP_HOST}>") }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "uri with a quote",
        post(
            "/dial",
            json!({ "sessionId": s, "uri": format!("sip:de\"sk@{SIP_HOST}") }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "uri with URI headers",
        post(
            "/dial",
            json!({ "sessionId": s, "uri": format!("sip:desk@{SIP_HOST}?Via=x") }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "uri with a space",
        post(
            "/dial",
            json!({ "sessionId": s, "uri": format!("sip:desk @{SIP_HOST}") }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "reserved header Via",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "Via": "SIP/2.0/UDP evil" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "reserved compact header v",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "v": "SIP/2.0/UDP evil" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "reserved header From, odd case",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "fRoM": "<sip:ceo@bank.example>" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "header name with colon",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "X-A: 1\r\nVia": "x" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "header set twice, case apart",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "X-A": "1", "x-a": "2" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "token data reserved sip=",
        post("/token", json!({ "sessionId": s, "data": "sip=true" })),
        bad_field(),
    );
    // Connection data is JSON- or percent-encoded into the token and never reaches SIP:
    // a line break in it is accepted, and nothing is dialed.
    for (what, b) in BREAKERS {
        r.add(
            K,
            format!("token data {what} (harmless)"),
            post(
                "/token",
                json!({ "sessionId": s, "data": format!("name=a{b}role=moderator") }),
            ),
            Expect::Success(200),
        );
    }
    r.add(
        K,
        "token data smuggling a role (harmless)",
        post(
            "/token",
            json!({ "sessionId": s, "data": "x&role=moderator&expire_time=99999999999" }),
        ),
        Expect::Success(200),
    );
}

fn look_alikes(r: &mut Rows, s: &str, c: &str) {
    use Category::LookAlike as K;
    let dial_uri = |uri: String| post("/dial", json!({ "sessionId": s, "uri": uri }));
    r.add(
        K,
        "fullwidth sip:",
        dial_uri(format!("\u{ff53}\u{ff49}\u{ff50}:desk@{SIP_HOST}")),
        bad_field(),
    );
    r.add(
        K,
        "Cyrillic a in host",
        dial_uri("sip:desk@pbx.fixture.ex\u{430}mple".to_owned()),
        bad_field(),
    );
    r.add(
        K,
        "Cyrillic o in user",
        dial_uri(format!("sip:d\u{43e}sk@{SIP_HOST}")),
        bad_field(),
    );
    r.add(
        K,
        "RTL override in host",
        dial_uri(format!("sip:desk@\u{202e}{SIP_HOST}")),
        bad_field(),
    );
    r.add(
        K,
        "zero-width space in host",
        dial_uri("sip:desk@pbx\u{200b}.fixture.example".to_owned()),
        bad_field(),
    );
    r.add(
        K,
        "fullwidth dot in host",
        dial_uri("sip:desk@pbx\u{ff0e}fixture.example".to_owned()),
        bad_field(),
    );
    r.add(
        K,
        "fullwidth at sign",
        dial_uri(format!("sip:desk\u{ff20}{SIP_HOST}")),
        bad_field(),
    );
    r.add(
        K,
        "trailing dot host",
        dial_uri(format!("sip:desk@{SIP_HOST}.")),
        bad_field(),
    );
    r.add(
        K,
        "punycode host",
        dial_uri("sip:desk@xn--pbx-fixture-r7a.example".to_owned()),
        uri_refused(),
    );
    r.add(
        K,
        "allowed host as a subdomain",
        dial_uri(format!("sip:desk@{SIP_HOST}.evil.example")),
        uri_refused(),
    );
    r.add(
        K,
        "allowed host as a user",
        dial_uri(format!("sip:{SIP_HOST}@evil.example")),
        uri_refused(),
    );
    r.add(
        K,
        "maddr redirect",
        dial_uri(format!("sip:desk@{SIP_HOST};maddr=evil.example")),
        uri_refused(),
    );
    r.add(
        K,
        "other port",
        dial_uri(format!("sip:desk@{SIP_HOST}:5070")),
        uri_refused(),
    );
    r.add(
        K,
        "sips instead of sip",
        dial_uri(format!("sips:desk@{SIP_HOST}")),
        uri_refused(),
    );
    r.add(
        K,
        "tel: scheme",
        dial_uri("tel:+15551234567".to_owned()),
        bad_field(),
    );
    r.add(
        K,
        "IP literal host",
        dial_uri("sip:desk@[::1]".to_owned()),
        uri_refused(),
    );
    r.add(
        K,
        "userinfo with password",
        dial_uri(format!("sip:desk:pw@{SIP_HOST}")),
        bad_field(),
    );
    r.add(
        K,
        "two at signs",
        dial_uri(format!("sip:desk@evil.example@{SIP_HOST}")),
        bad_field(),
    );
    r.add(
        K,
        "fullwidth target name",
        post(
            "/dial",
            json!({ "sessionId": s, "target": "\u{ff53}upport" }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "target name, other case",
        post("/dial", json!({ "sessionId": s, "target": "SUPPORT" })),
        // Well-formed but no target's name: a missing resource (docs/http-api.md).
        Expect::Error(404, "target_not_found"),
    );
    r.add(
        K,
        "target name with zero-width joiner",
        post(
            "/dial",
            json!({ "sessionId": s, "target": "supp\u{200d}ort" }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "Cyrillic room",
        post("/session", json!({ "room": "r\u{43e}\u{43e}m" })),
        bad_field(),
    );
    r.add(
        K,
        "fullwidth digits",
        post(
            &format!("/calls/{c}/dtmf"),
            json!({ "digits": "\u{ff11}\u{ff12}" }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "fullwidth header name",
        post(
            "/dial",
            json!({ "sessionId": s, "headers": { "\u{ff38}-A": "1" } }),
        ),
        bad_field(),
    );
    r.add(
        K,
        "Cyrillic session id",
        post("/token", json!({ "sessionId": format!("{s}\u{430}") })),
        bad_field(),
    );
    r.add(
        K,
        "moderator, other case",
        post("/token", json!({ "sessionId": s, "role": "Moderator" })),
        bad_field(),
    );
    r.add(
        K,
        "moderator with a space",
        post("/token", json!({ "sessionId": s, "role": "moderator " })),
        bad_field(),
    );
    r.add(
        K,
        "moderator, fullwidth",
        post(
            "/token",
            json!({ "sessionId": s, "role": "\u{ff4d}oderator" }),
        ),
        bad_field(),
    );
}

fn path_tricks(r: &mut Rows, c: &str) {
    use Category::PathTrick as K;
    let cases: Vec<(String, String, Expect)> = vec![
        ("dot dot".into(), "/calls/..".into(), no_call()),
        ("dot".into(), "/calls/.".into(), no_call()),
        ("three dots".into(), "/calls/...".into(), no_call()),
        ("encoded dot dot".into(), "/calls/%2e%2e".into(), no_call()),
        (
            "encoded dot dot, upper".into(),
            "/calls/%2E%2E".into(),
            no_call(),
        ),
        (
            "encoded slash".into(),
            format!("/calls/..%2F{c}"),
            no_call(),
        ),
        (
            "id then encoded slash".into(),
            format!("/calls/{c}%2F..%2F..%2Fsession"),
            no_call(),
        ),
        ("backslash".into(), format!("/calls/..%5C{c}"), no_call()),
        ("encoded NUL".into(), format!("/calls/{c}%00"), no_call()),
        (
            "encoded CRLF".into(),
            format!("/calls/{c}%0D%0AX-A:%201"),
            no_call(),
        ),
        (
            "semicolon param".into(),
            format!("/calls/{c};jsessionid=1"),
            no_call(),
        ),
        (
            "overlong id".into(),
            format!("/calls/{}", "a".repeat(129)),
            no_call(),
        ),
        (
            "10k id".into(),
            format!("/calls/{}", "a".repeat(10_000)),
            no_call(),
        ),
        (
            "id uppercased".into(),
            format!("/calls/{}", c.to_uppercase()),
            no_call(),
        ),
        ("id with space".into(), format!("/calls/{c}%20"), no_call()),
        ("fullwidth id".into(), "/calls/%EF%BC%A1".into(), no_call()),
        (
            "double slash before id".into(),
            format!("/calls//{c}"),
            no_route(),
        ),
        ("trailing slash".into(), format!("/calls/{c}/"), no_route()),
        (
            "id then dot dot".into(),
            format!("/calls/{c}/.."),
            no_route(),
        ),
        (
            "double slash after prefix".into(),
            format!("//calls/{c}"),
            no_route(),
        ),
        (
            "dot segment after prefix".into(),
            format!("/./calls/{c}"),
            no_route(),
        ),
        (
            "dot dot after prefix".into(),
            format!("/../sip/calls/{c}"),
            no_route(),
        ),
    ];
    for (what, p, expect) in cases {
        r.add(K, format!("GET {what}"), TestRequest::get(path(&p)), expect);
        r.add(
            K,
            format!("DELETE {what}"),
            TestRequest::delete(path(&p)),
            expect,
        );
        let dtmf_expect = if expect == no_call() && !p.ends_with('/') {
            no_call()
        } else {
            no_route()
        };
        r.add(
            K,
            format!("DTMF {what}"),
            post(&format!("{p}/dtmf"), json!({ "digits": "1" })),
            dtmf_expect,
        );
    }
    // Outside the prefix (in its spelling) the host app answers, not the API.
    r.add(
        K,
        "upper-case prefix",
        TestRequest::delete(format!("/SIP/calls/{c}")),
        Expect::Host,
    );
    r.add(
        K,
        "double slash before prefix",
        TestRequest::delete(format!("//sip/calls/{c}")),
        Expect::Host,
    );
    r.add(
        K,
        "prefix as a longer segment",
        TestRequest::delete(format!("/sipx/calls/{c}")),
        Expect::Host,
    );
}

fn duplicates(r: &mut Rows, s: &str, c: &str) {
    use Category::DuplicateKey as K;
    r.add(
        K,
        "dial sessionId twice",
        post_raw(
            "/dial",
            format!(r#"{{"sessionId":"{s}","sessionId":"{s}"}}"#),
        ),
        bad_field(),
    );
    r.add(
        K,
        "dial target twice",
        post_raw(
            "/dial",
            format!(r#"{{"sessionId":"{s}","target":"support","target":"sales"}}"#),
        ),
        bad_field(),
    );
    r.add(
        K,
        "dial uri twice",
        post_raw(
            "/dial",
            format!(r#"{{"sessionId":"{s}","uri":"sip:a@{SIP_HOST}","uri":"sip:a@evil.example"}}"#),
        ),
        bad_field(),
    );
    r.add(
        K,
        "dial header name twice",
        post_raw(
            "/dial",
            format!(r#"{{"sessionId":"{s}","headers":{{"X-A":"1","X-A":"2"}}}}"#),
        ),
        bad_field(),
    );
    r.add(
        K,
        "token role twice",
        post_raw(
            "/token",
            format!(r#"{{"sessionId":"{s}","role":"publisher","role":"moderator"}}"#),
        ),
        bad_field(),
    );
    r.add(
        K,
        "session room twice",
        post_raw("/session", r#"{"room":"a","room":"b"}"#),
        bad_field(),
    );
    r.add(
        K,
        "dtmf digits twice",
        post_raw(
            &format!("/calls/{c}/dtmf"),
            r#"{"digits":"1","digits":"2"}"#,
        ),
        bad_field(),
    );
    r.add(
        K,
        "two JSON documents",
        post_raw("/session", r#"{"room":"a"}{"room":"b"}"#),
        bad_json(),
    );
}

fn content_types(r: &mut Rows, s: &str, c: &str) {
    use Category::ContentType as K;
    let body = |v: Value| TestBody::Full(Bytes::from(v.to_string()));
    let routes: Vec<(&str, String, Value)> = vec![
        ("session", path("/session"), json!({ "room": "a" })),
        ("token", path("/token"), json!({ "sessionId": s })),
        ("dial", path("/dial"), json!({ "sessionId": s })),
        (
            "dtmf",
            path(&format!("/calls/{c}/dtmf")),
            json!({ "digits": "1" }),
        ),
    ];
    for (route, p, v) in routes {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/json",
            "application/jsonx",
            "application/json, text/plain",
            "",
        ] {
            r.add(
                K,
                format!("{route} as {ct:?}"),
                TestRequest::new(Method::POST, p.clone())
                    .header(CONTENT_TYPE, HeaderValue::from_static(ct))
                    .body(body(v.clone())),
                not_json(),
            );
        }
        r.add(
            K,
            format!("{route} without a content type"),
            TestRequest::new(Method::POST, p.clone()).body(body(v.clone())),
            not_json(),
        );
    }
    r.add(
        K,
        "form body to dial",
        TestRequest::post(path("/dial"))
            .content_type("application/x-www-form-urlencoded")
            .body(TestBody::Full(Bytes::from(format!("sessionId={s}")))),
        not_json(),
    );
}

fn chunked(r: &mut Rows, s: &str) {
    use Category::Chunked as K;
    let chunks = |body: Vec<u8>, size: usize| {
        TestBody::Chunked(body.chunks(size).map(Bytes::copy_from_slice).collect())
    };
    let json_chunked = |p: &str, b: TestBody| {
        TestRequest::post(path(p))
            .content_type("application/json")
            .body(b)
    };
    r.add(
        K,
        "1 MB in 1 KiB chunks",
        json_chunked(
            "/session",
            chunks(
                format!(r#"{{"room":"{}"}}"#, "a".repeat(MB)).into_bytes(),
                1024,
            ),
        ),
        too_large(),
    );
    r.add(
        K,
        "limit + 1 in 1-byte chunks",
        json_chunked("/session", chunks(vec![b' '; 16 * 1024 + 1], 1)),
        too_large(),
    );
    r.add(
        K,
        "limit + 1 in one chunk",
        json_chunked("/dial", chunks(vec![b' '; 16 * 1024 + 1], 16 * 1024 + 1)),
        too_large(),
    );
    r.add(
        K,
        "16 MiB of chunks",
        json_chunked("/dial", chunks(vec![b'{'; 16 * MB], 64 * 1024)),
        too_large(),
    );
    r.add(
        K,
        "chunked invalid JSON",
        json_chunked("/dial", chunks(br#"{"sessionId":"#.to_vec(), 3)),
        bad_json(),
    );
    r.add(
        K,
        "chunked split inside a CRLF",
        json_chunked(
            "/dial",
            chunks(
                format!("{{\"sessionId\":\"{s}\",\"uri\":\"sip:a\r\n@{SIP_HOST}\"}}").into_bytes(),
                1,
            ),
        ),
        bad_json(),
    );
    r.add(
        K,
        "chunked without a content type",
        TestRequest::post(path("/dial"))
            .body(chunks(format!(r#"{{"sessionId":"{s}"}}"#).into_bytes(), 4)),
        not_json(),
    );
    r.add(
        K,
        "chunked bad field",
        json_chunked(
            "/dial",
            chunks(
                format!(r#"{{"sessionId":"{s}","uri":"tel:1"}}"#).into_bytes(),
                5,
            ),
        ),
        bad_field(),
    );
}

fn methods(r: &mut Rows, c: &str) {
    use Category::WrongMethod as K;
    let m = |s: &str| Method::from_bytes(s.as_bytes()).expect("method");
    let cases: Vec<(&str, String)> = vec![
        ("GET", "/dial".into()),
        ("PUT", "/dial".into()),
        ("PATCH", "/dial".into()),
        ("DELETE", "/dial".into()),
        ("OPTIONS", "/dial".into()),
        ("TRACE", "/dial".into()),
        ("DIAL", "/dial".into()),
        ("GET", "/session".into()),
        ("PUT", "/token".into()),
        ("POST", "/targets".into()),
        ("POST", "/calls".into()),
        ("DELETE", "/calls".into()),
        ("POST", format!("/calls/{c}")),
        ("PUT", format!("/calls/{c}")),
        ("PATCH", format!("/calls/{c}")),
        ("GET", format!("/calls/{c}/dtmf")),
        ("DELETE", format!("/calls/{c}/dtmf")),
        ("CONNECT", "/dial".into()),
    ];
    for (method, p) in cases {
        r.add(
            K,
            format!("{method} {p}"),
            TestRequest::new(m(method), path(&p)),
            not_allowed(),
        );
    }
    r.add(
        K,
        "lower-case post /dial",
        TestRequest::new(m("post"), path("/dial")).json(&json!({ "sessionId": "x" })),
        not_allowed(),
    );
    r.add(
        K,
        "HEAD /dial",
        TestRequest::new(Method::HEAD, path("/dial")),
        not_allowed(),
    );
}

fn origins(r: &mut Rows, s: &str, c: &str) {
    use Category::Origin as K;
    let with = |req: TestRequest, origin: &'static str| {
        req.header(ORIGIN, HeaderValue::from_static(origin))
    };
    for origin in [
        "null",
        "https://evil.example",
        "https://app.example.evil.example",
        "https://app.example@evil.example",
        "https://app.example:443.evil.example",
        "https://app.example.",
        "http://app.example",
        "https://app.example:8443",
        "file://",
        "",
    ] {
        r.add(
            K,
            format!("dial from {origin:?}"),
            with(post("/dial", json!({ "sessionId": s })), origin),
            origin_refused(),
        );
    }
    r.add(
        K,
        "hang up from null",
        with(TestRequest::delete(path(&format!("/calls/{c}"))), "null"),
        origin_refused(),
    );
    r.add(
        K,
        "dtmf from a foreign origin",
        with(
            post(&format!("/calls/{c}/dtmf"), json!({ "digits": "1" })),
            "https://evil.example",
        ),
        origin_refused(),
    );
    r.add(
        K,
        "moderator token from a foreign origin",
        with(
            post("/token", json!({ "sessionId": s, "role": "moderator" })),
            "https://evil.example",
        ),
        origin_refused(),
    );
    let _ = ALLOWED_ORIGIN;
    r.add(
        K,
        "non-ASCII origin",
        TestRequest::new(Method::POST, path("/dial"))
            .header(
                ORIGIN,
                HeaderValue::from_bytes(b"https://app.ex\xc3\xa4mple").expect("obs-text"),
            )
            .json(&json!({ "sessionId": s })),
        origin_refused(),
    );
    let _ = HeaderName::from_static("origin");
}

fn queries(r: &mut Rows, s: &str) {
    use Category::Query as K;
    let get = |q: String| TestRequest::get(format!("{}?{q}", path("/calls")));
    r.add(
        K,
        "no sessionId",
        TestRequest::get(path("/calls")),
        bad_field(),
    );
    r.add(K, "empty sessionId", get("sessionId=".into()), bad_field());
    r.add(
        K,
        "sessionId with NUL",
        get(format!("sessionId={s}%00")),
        bad_field(),
    );
    r.add(
        K,
        "sessionId with CRLF",
        get(format!("sessionId={s}%0D%0A")),
        bad_field(),
    );
    r.add(
        K,
        "sessionId dot dot",
        get("sessionId=..".into()),
        bad_field(),
    );
    r.add(
        K,
        "sessionId encoded slash",
        get(format!("sessionId={s}%2F..")),
        bad_field(),
    );
    r.add(
        K,
        "sessionId invalid UTF-8",
        get("sessionId=%FF%FE".into()),
        bad_field(),
    );
    r.add(
        K,
        "sessionId of 10k",
        get(format!("sessionId={}", "a".repeat(10_000))),
        bad_field(),
    );
    r.add(
        K,
        "all=maybe",
        get(format!("sessionId={s}&all=maybe")),
        bad_field(),
    );
    r.add(
        K,
        "unknown session",
        get("sessionId=1_unknown".into()),
        Expect::Error(404, "session_not_found"),
    );
}
