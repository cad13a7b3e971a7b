//! The OpenAPI document: the checked-in `docs/openapi.json` is current, and every
//! route, method and status the service actually answered (over a corpus of requests
//! that reaches each route's statuses) is in it, with bodies that fit its schemas.
//!
//! Regenerate the file with `SIPDIAL_BLESS=1 cargo test -p sipdial-core --all-features
//! --test http_openapi`.
#![cfg(feature = "fake")]

mod http_support;

use std::collections::BTreeSet;
use std::time::Duration;

use http::Method;
use http_support::*;
use serde_json::{Value, json};
use sipdial_core::DialError;
use sipdial_core::api::openapi;
use sipdial_core::fake::{Operation, Script};

fn doc_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn checked_in_document_is_current() {
    let generated = openapi::document_string();
    if std::env::var_os("SIPDIAL_BLESS").is_some() {
        std::fs::write(doc_path(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(doc_path()).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is stale: rerun with SIPDIAL_BLESS=1"
    );
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let ptr = r.strip_prefix('#').expect("local ref");
            resolve(
                doc,
                doc.pointer(ptr).unwrap_or_else(|| panic!("dangling {r}")),
            )
        }
        None => schema,
    }
}

/// A small JSON Schema check covering what the document uses: `$ref`, `type`,
/// `properties`, `required`, `additionalProperties`, `items`, `enum`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type at {at}"),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        assert!(types.contains(&actual), "{at}: {actual} is not {types:?}");
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        assert!(options.contains(value), "{at}: {value} not in {options:?}");
    }
    if let (Some(obj), Some(props)) = (value.as_object(), schema.get("properties")) {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(
                obj.contains_key(req.as_str().unwrap()),
                "{at}: missing {req}"
            );
        }
        for (k, v) in obj {
            match props.get(k) {
                Some(p) => check(doc, p, v, &format!("{at}.{k}")),
                None => assert!(
                    schema.get("additionalProperties") != Some(&Value::Bool(false)),
                    "{at}: undocumented property {k}"
                ),
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(doc, schema, v, &format!("{at}[{i}]"));
        }
    }
}

/// Requests that reach every route's statuses.
async fn corpus(f: &Fixture) -> Vec<(Method, String, Res)> {
    let mut out = Vec::new();
    macro_rules! go {
        ($m:expr, $p:expr, $b:expr) => {{
            let path: String = $p;
            let res = f.send($m, &path, $b).await;
            out.push(($m, path, res));
        }};
    }
    go!(
        Method::POST,
        "/sip/session".into(),
        Some(json!({ "room": "r" }))
    );
    let sid = out.last().unwrap().2.json()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    go!(
        Method::POST,
        "/sip/session".into(),
        Some(json!({ "room": "bad room" }))
    );
    go!(
        Method::POST,
        "/sip/session".into(),
        Some(json!({ "room": "x".repeat(20_000) }))
    );
    f.fake
        .script_once(Operation::CreateSession, Script::Fail(DialError::Timeout));
    go!(
        Method::POST,
        "/sip/session".into(),
        Some(json!({ "room": "t" }))
    );
    f.fake.script_once(
        Operation::CreateSession,
        Script::Fail(DialError::RejectedCredentials),
    );
    go!(
        Method::POST,
        "/sip/session".into(),
        Some(json!({ "room": "t" }))
    );
    f.fake.script_once(
        Operation::CreateSession,
        Script::Fail(DialError::RateLimited { retry_after: None }),
    );
    go!(
        Method::POST,
        "/sip/session".into(),
        Some(json!({ "room": "t" }))
    );
    go!(Method::GET, "/sip/targets".into(), None);
    go!(Method::GET, "/sip/openapi.json".into(), None);
    go!(
        Method::POST,
        "/sip/token".into(),
        Some(json!({ "sessionId": sid }))
    );
    go!(
        Method::POST,
        "/sip/token".into(),
        Some(json!({ "sessionId": sid, "role": "moderator" }))
    );
    go!(
        Method::POST,
        "/sip/token".into(),
        Some(json!({ "sessionId": "1_unknown" }))
    );
    go!(Method::POST, "/sip/token".into(), Some(json!({})));
    f.fake.script_once(
        Operation::IssueToken,
        Script::Fail(DialError::Config {
            message: "x".into(),
        }),
    );
    go!(
        Method::POST,
        "/sip/token".into(),
        Some(json!({ "sessionId": sid }))
    );
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": sid }))
    );
    let id = out.last().unwrap().2.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": sid, "uri": "sip:a@evil.example" }))
    );
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": "1_unknown" }))
    );
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": sid, "target": 5 }))
    );
    f.fake.script_once(
        Operation::Dial,
        Script::Fail(DialError::Conflict {
            message: "relayed".into(),
        }),
    );
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": sid }))
    );
    f.fake
        .script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": sid }))
    );
    f.fake.script_once(
        Operation::Dial,
        Script::Fail(DialError::Transport {
            message: "x".into(),
        }),
    );
    go!(
        Method::POST,
        "/sip/dial".into(),
        Some(json!({ "sessionId": sid }))
    );
    for _ in 0..4 {
        go!(
            Method::POST,
            "/sip/dial".into(),
            Some(json!({ "sessionId": sid }))
        );
    }
    go!(Method::GET, format!("/sip/calls?sessionId={sid}"), None);
    go!(
        Method::GET,
        format!("/sip/calls?sessionId={sid}&all=true"),
        None
    );
    go!(Method::GET, "/sip/calls".into(), None);
    go!(Method::GET, "/sip/calls?sessionId=1_unknown".into(), None);
    go!(Method::GET, format!("/sip/calls/{id}"), None);
    go!(Method::GET, "/sip/calls/unknown".into(), None);
    go!(
        Method::POST,
        format!("/sip/calls/{id}/dtmf"),
        Some(json!({ "digits": "1#" }))
    );
    go!(
        Method::POST,
        format!("/sip/calls/{id}/dtmf"),
        Some(json!({ "digits": "x" }))
    );
    go!(
        Method::POST,
        "/sip/calls/unknown/dtmf".into(),
        Some(json!({ "digits": "1" }))
    );
    f.fake.script_once(
        Operation::PlayDtmf,
        Script::Fail(DialError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        }),
    );
    go!(
        Method::POST,
        format!("/sip/calls/{id}/dtmf"),
        Some(json!({ "digits": "1" }))
    );
    go!(Method::POST, format!("/sip/calls/{id}/mute"), None);
    go!(
        Method::POST,
        format!("/sip/calls/{id}/mute"),
        Some(json!({ "active": true }))
    );
    go!(Method::POST, "/sip/calls/unknown/mute".into(), None);
    f.fake
        .script_once(Operation::ForceMute, Script::Fail(DialError::Timeout));
    go!(Method::POST, format!("/sip/calls/{id}/mute"), None);
    f.fake
        .script_once(Operation::HangUp, Script::Fail(DialError::Timeout));
    go!(Method::DELETE, format!("/sip/calls/{id}"), None);
    go!(Method::DELETE, format!("/sip/calls/{id}"), None);
    go!(Method::DELETE, format!("/sip/calls/{id}"), None);
    go!(Method::DELETE, "/sip/calls/unknown".into(), None);
    go!(Method::POST, format!("/sip/calls/{id}/hangup"), None);
    go!(
        Method::POST,
        format!("/sip/calls/{id}/hangup"),
        Some(json!({ "force": true }))
    );
    go!(Method::POST, "/sip/calls/unknown/hangup".into(), None);
    go!(
        Method::POST,
        format!("/sip/calls/{id}/dtmf"),
        Some(json!({ "digits": "1" }))
    );
    go!(Method::POST, format!("/sip/calls/{id}/mute"), None);
    go!(
        Method::POST,
        "/sip/dial?wait=never".into(),
        Some(json!({ "sessionId": sid }))
    );
    // The call lifecycle: callbacks and the event stream.
    let call_json = |state: &str| {
        json!({ "event": "callUpdated", "sessionId": sid, "timestamp": 5, "state": state,
                "call": { "id": id, "connectionId": "x" } })
    };
    go!(
        Method::POST,
        "/sip/callbacks".into(),
        Some(call_json("RINGING"))
    );
    go!(
        Method::POST,
        "/sip/callbacks".into(),
        Some(call_json("RINGING"))
    );
    go!(
        Method::POST,
        "/sip/callbacks".into(),
        Some(json!({ "event": "somethingNew" }))
    );
    go!(Method::POST, "/sip/callbacks".into(), Some(json!([1])));
    go!(Method::GET, format!("/sip/events?sessionId={sid}"), None);
    go!(Method::GET, "/sip/events".into(), None);
    go!(Method::GET, "/sip/events?sessionId=1_unknown".into(), None);
    // Route-level answers, which the document describes once in its description.
    go!(Method::GET, "/sip/nope".into(), None);
    go!(Method::PUT, "/sip/dial".into(), None);
    out
}

/// Signed callbacks answer 401, which only a server with a secret can.
#[tokio::test]
async fn callback_signature_refusal_is_documented() {
    let doc = openapi::document();
    let f = fixture_with(|b| b.callback_secret("s3cret"));
    let res = f
        .send(
            Method::POST,
            "/sip/callbacks",
            Some(json!({ "event": "x" })),
        )
        .await;
    assert_eq!(res.status, 401);
    let response = &doc["paths"]["/callbacks"]["post"]["responses"]["401"];
    check(
        &doc,
        response
            .pointer("/content/application~1json/schema")
            .unwrap(),
        &res.json(),
        "POST /callbacks 401",
    );
}

#[tokio::test]
async fn every_route_method_and_status_served_is_documented() {
    let doc = openapi::document();
    let f = fixture();
    let mut seen = BTreeSet::new();
    for (method, path, res) in corpus(&f).await {
        let status = res.status.as_u16();
        let Some(template) = f.api.route_of(&method, path.split('?').next().unwrap()) else {
            assert!(matches!(status, 404 | 405), "{method} {path} -> {status}");
            continue;
        };
        let op = &doc["paths"][template][method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let response = &op["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {template} {status} is not documented"
        );
        if response.pointer("/content/text~1event-stream").is_some() {
            let ct = res.headers[http::header::CONTENT_TYPE].to_str().unwrap();
            assert!(
                ct.starts_with("text/event-stream"),
                "{method} {template}: {ct}"
            );
            assert!(res.body.starts_with(b"event: snapshot\n"));
        } else if let Some(schema) = response.pointer("/content/application~1json/schema") {
            check(
                &doc,
                schema,
                &res.json(),
                &format!("{method} {template} {status}"),
            );
        } else {
            assert!(
                res.body.is_empty(),
                "{method} {template} {status} has an undocumented body"
            );
        }
        if status == 429 {
            assert!(response["headers"]["Retry-After"].is_object());
            assert!(res.headers.contains_key(http::header::RETRY_AFTER));
        }
        seen.insert((method.to_string(), template.to_owned(), status));
    }
    // The corpus reaches every documented operation's success status.
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let success = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse::<u16>().unwrap())
                .find(|s| *s < 300)
                .unwrap();
            assert!(
                seen.contains(&(method.to_ascii_uppercase(), template.clone(), success)),
                "{method} {template} {success} never answered"
            );
        }
    }
    assert!(
        seen.len() >= 30,
        "corpus reached only {} statuses",
        seen.len()
    );
}

#[test]
fn document_is_openapi_3_1_with_resolvable_refs() {
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    fn walk(doc: &Value, v: &Value) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    assert!(
                        doc.pointer(r.trim_start_matches('#')).is_some(),
                        "dangling {r}"
                    );
                }
                m.values().for_each(|x| walk(doc, x));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(doc, x)),
            _ => {}
        }
    }
    walk(&doc, &doc);
    let ops: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    // Twelve operations of the API plus the served document itself.
    assert_eq!(ops, 13);
}
