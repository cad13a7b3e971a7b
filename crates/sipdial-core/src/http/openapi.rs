//! The OpenAPI 3.1 document of the API, assembled from the route table (paths,
//! methods, statuses) plus the JSON schemas below.
//!
//! Hand-assembled with `serde_json` rather than derived with utoipa: the route table is
//! already the single source of what is served, the schemas are few, and it keeps a
//! proc-macro stack out of every build of the core. `docs/openapi.json` is this
//! document, checked by a test to be current and to cover every route, method and
//! status the service answers.

use serde_json::{Map, Value, json};

use super::{DEFAULT_BODY_LIMIT, DEFAULT_PREFIX};
use crate::http::routes::{ROUTES, RouteId, RouteSpec, statuses};
use crate::policy::targets::MAX_TARGET_NAME_LEN;
use crate::{
    MAX_CONNECTION_DATA_LEN, MAX_DTMF_LEN, MAX_IDEMPOTENCY_KEY_LEN, MAX_RESOURCE_ID_LEN,
    MAX_ROOM_LEN, MAX_SESSION_ID_LEN, MAX_SIP_HEADER_VALUE_LEN, MAX_SIP_HEADERS,
    MAX_SIP_HEADERS_BYTES, MAX_SIP_URI_LEN,
};

/// The character set of platform ids (`crate::ids`): what needs no escaping in a REST
/// path, and never only dots (a `..` segment).
const ID_PATTERN: &str = "^(?!\\.+$)[A-Za-z0-9._~-]+$";

/// A session id as the server accepts it (`SessionId`).
fn session_id_schema() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": MAX_SESSION_ID_LEN, "pattern": ID_PATTERN })
}

/// A connection, stream or call id as the server accepts it.
fn resource_id_schema() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": MAX_RESOURCE_ID_LEN, "pattern": ID_PATTERN })
}

/// `SipUri`'s grammar (`crate::sip::uri`) as a caller may send it: `sip:`/`sips:` (any
/// case), a user part without the characters a caller may not use
/// (`policy::allow_list::CALLER_USER_FORBIDDEN`), `@`, a
/// host name (labels of letters, digits and inner `-`), an optional port from 1 to
/// 65535 and `;name[=value]` parameters. IPv6 hosts are accepted by the server too but
/// left out here: their full grammar is no regular expression worth reading.
const SIP_URI_PATTERN: &str = concat!(
    "^[Ss][Ii][Pp][Ss]?:",
    "[A-Za-z0-9_.!~*'()+$-]+",
    "@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
    "(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    "(?:;[A-Za-z0-9_.!~*'()%\\[\\]/:&+$-]+(?:=[A-Za-z0-9_.!~*'()%\\[\\]/:&+$=-]*)?)*$"
);

/// A header name a caller may set by default: `X-` and an RFC 3261 token
/// (`crate::policy::targets::check_caller_headers`). A host may let callers set more on a
/// target (`SipTarget::caller_headers`); the document states the default, which holds
/// for every target (no `X-` name is one the SIP stack owns or one of identity).
fn sip_header_name_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 3,
        "pattern": "^[Xx]-[A-Za-z0-9.!%*_+`'~-]+$",
    })
}

/// The OpenAPI 3.1 document, with paths relative to the server URL (the default
/// prefix, `/sip`): the checked-in `docs/openapi.json`.
pub fn document() -> Value {
    document_for(DEFAULT_PREFIX)
}

/// The document as served at `{base}/openapi.json`: the same paths, relative to the
/// server URL `base` (the host's mount followed by the prefix, as the client reached
/// the API), so generated clients call the API where it really is.
pub fn document_for(base: &str) -> Value {
    let server = if base.is_empty() { "/" } else { base };
    let mut paths = Map::new();
    for spec in ROUTES {
        let path = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ops) = path {
            ops.insert(spec.method.to_ascii_lowercase(), operation(spec));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sipdial HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Dial SIP calls into Vonage Video (OpenTok) sessions. Paths are relative to \
                 the server URL: the host's mount path followed by the API's prefix \
                 (default `{DEFAULT_PREFIX}`); `GET {{base}}/openapi.json` serves this \
                 document with the server URL the client used. Every error body is \
                 `{{\"error\":{{\"code\":\"...\",\"message\":\"...\"}}}}`. Besides the \
                 statuses listed per operation, a path no route serves answers 404 and a \
                 known path with another method answers 405 with `Allow`. Request bodies \
                 are limited to {DEFAULT_BODY_LIMIT} bytes by default. State-changing \
                 requests carrying a foreign `Origin` answer 403."
            ),
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" }
        },
        "servers": [{ "url": server, "description": "where the API is mounted" }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "callbackSignature": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "HS256 JWT signed with the callback signature secret; required when the server configured one. `exp` (or a recent `iat`) and, when present, `payload_hash` (lowercase hex SHA-256 of the body) are checked."
                }
            },
            "headers": {
                "RetryAfter": {
                    "description": "Seconds to wait before retrying.",
                    "schema": { "type": "integer", "minimum": 1 }
                }
            }
        }
    })
}

/// The document as pretty-printed JSON with a trailing newline (the checked-in form).
pub fn document_string() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: &str) -> Value {
    json!({ "application/json": { "schema": schema_ref(schema) } })
}

fn request_schema(id: RouteId) -> Option<(&'static str, bool)> {
    match id {
        RouteId::CreateSession => Some(("SessionRequest", false)),
        RouteId::IssueToken => Some(("TokenRequest", true)),
        RouteId::Dial => Some(("DialRequest", true)),
        RouteId::PlayDtmf => Some(("DtmfRequest", true)),
        RouteId::Mute => Some(("MuteRequest", false)),
        RouteId::HangUpAction => Some(("HangUpRequest", false)),
        RouteId::Callbacks => Some(("PlatformCallback", true)),
        _ => None,
    }
}

fn success_schema(id: RouteId) -> Option<&'static str> {
    match id {
        RouteId::CreateSession => Some("Session"),
        RouteId::ListTargets => Some("Targets"),
        RouteId::IssueToken => Some("Token"),
        RouteId::Dial | RouteId::GetCall => Some("Call"),
        RouteId::ListCalls => Some("Calls"),
        RouteId::Callbacks => Some("CallbackAck"),
        RouteId::HangUp
        | RouteId::HangUpAction
        | RouteId::PlayDtmf
        | RouteId::Mute
        | RouteId::Events
        | RouteId::OpenApi => None,
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Invalid JSON or an invalid field (the message names it).",
        401 => {
            "The callback signature is missing, invalid, of another algorithm, expired, or its payload_hash does not match the body."
        }
        403 => "Denied by the authorizer, the origin check or the URI allow-list.",
        404 => "Unknown session or call (or the platform no longer knows it).",
        409 => {
            "Conflict: the session is not routed, the call has ended, (mute) its stream is not known yet, or (dial) a request with the same Idempotency-Key is still in progress (`idempotency_key_in_use`, with Retry-After)."
        }
        413 => "The body is larger than the limit.",
        415 => "The body is not JSON.",
        422 => {
            "The Idempotency-Key was used with another request (another body or `wait`): `idempotency_key_reused`."
        }
        429 => {
            "A limit of the session, the client, the target, the server, a call's DTMF or its open event streams, or the platform's rate limit; see Retry-After."
        }
        500 => "The answer could not be encoded.",
        503 => {
            "The shared state (call store, limits, event log) did not answer in time; see Retry-After."
        }
        502 => "The platform answered with an error or rejected the server's credentials.",
        504 => "The platform did not answer in time.",
        _ => "Error.",
    }
}

fn operation(spec: &RouteSpec) -> Value {
    let mut responses = Map::new();
    for status in statuses(spec) {
        let response = if status == spec.success {
            let mut r = json!({ "description": "Success." });
            if let Some(schema) = success_schema(spec.id) {
                r["content"] = json_content(schema);
            }
            if spec.id == RouteId::Events {
                r["content"] = json!({ "text/event-stream": { "schema": sse_event_schema() } });
            }
            if spec.id == RouteId::OpenApi {
                r["content"] = json!({ "application/json": { "schema": {
                    "type": "object",
                    "description": "An OpenAPI 3.1 document."
                } } });
            }
            if spec.id == RouteId::Dial {
                r["headers"] = json!({
                    "Location": {
                        "description": "The call's URL below the server URL the client used: `{mount}{prefix}/calls/{id}`.",
                        "schema": { "type": "string" }
                    },
                    "Idempotent-Replayed": {
                        "description": "`true` when this is the stored answer of an earlier request with the same Idempotency-Key (no call was placed by this one).",
                        "schema": { "type": "string", "enum": ["true"] }
                    }
                });
            }
            r
        } else {
            let mut r = json!({
                "description": error_description(status),
                "content": json_content("Error"),
            });
            if status == 429 || (status == 409 && spec.id == RouteId::Dial) {
                r["headers"] =
                    json!({ "Retry-After": { "$ref": "#/components/headers/RetryAfter" } });
            }
            r
        };
        responses.insert(status.to_string(), response);
    }
    let mut op = json!({
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "responses": responses,
    });
    if let Some((schema, required)) = request_schema(spec.id) {
        op["requestBody"] = json!({ "required": required, "content": json_content(schema) });
    }
    if spec.path.contains("{id}") {
        op["parameters"] = json!([{
            "name": "id", "in": "path", "required": true,
            "description": "The call id.",
            "schema": resource_id_schema()
        }]);
    }
    if spec.id == RouteId::Events {
        op["parameters"] = json!([
            { "name": "sessionId", "in": "query", "required": true, "schema": session_id_schema() },
            { "name": "Last-Event-ID", "in": "header", "required": false,
              "description": "Resume after this event id (sent by EventSource on reconnect).",
              "schema": { "type": "string" } }
        ]);
    }
    if spec.id == RouteId::Dial {
        op["parameters"] = json!([
            { "name": "wait", "in": "query", "required": false,
              "description": "`answered`: hold the response until the call is answered or has ended, at most the call policy's ring timeout plus one timer poll and 0.5 s (so a call it ends comes back ended, outcome `no_answer`), or 60 s when none is set; the call's `state` and `outcome` tell which. A client that leaves does not cancel the call.",
              "schema": { "type": "string", "enum": ["answered"] } },
            { "name": "Idempotency-Key", "in": "header", "required": false,
              "description": format!("Makes a retried dial safe: the same key with the same request within 24 hours answers the first request's call again (same status, Location and body, with `Idempotent-Replayed: true`) and places nothing; while the first is in progress it answers 409 `idempotency_key_in_use`; with another body or `wait` 422 `idempotency_key_reused`. Scoped to the caller (its principal, or its address when anonymous). A dial that failed frees its key. The draft's quoted form (`\"key\"`) is accepted. At most {MAX_IDEMPOTENCY_KEY_LEN} characters."),
              "schema": { "type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LEN + 2,
                          "pattern": format!("^(?:[A-Za-z0-9_.~:+/=-]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}|\"[A-Za-z0-9_.~:+/=-]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}\")$") } }
        ]);
    }
    if spec.id == RouteId::HangUp {
        // Hanging up ends a call; it does not delete its record, which `GET` keeps
        // answering as `ended` (docs/http-api.md, "Hanging up"). DELETE stays for the
        // clients written against it.
        op["deprecated"] = json!(true);
        op["description"] = json!(
            "Deprecated: use `POST /calls/{id}/hangup`, which does the same. Hanging up ends the call but does not delete its record: `GET /calls/{id}` keeps answering it, `ended`."
        );
    }
    if spec.id == RouteId::Callbacks {
        op["security"] = json!([{}, { "callbackSignature": [] }]);
    }
    if spec.id == RouteId::ListCalls {
        op["parameters"] = json!([
            { "name": "sessionId", "in": "query", "required": true, "schema": session_id_schema() },
            { "name": "all", "in": "query", "required": false,
              "description": "Include ended calls (`true` or `1`).",
              "schema": { "type": "string", "enum": ["true", "false", "1", "0"], "default": "false" } }
        ]);
    }
    op
}

/// One Server-Sent Event of `GET /events` (OpenAPI 3.1: the `schema` of an event
/// stream describes each event, read as `{id, event, data}`): a `snapshot` first (or,
/// on a resume the server can still serve, the missed `call` events instead), then one
/// `call` per change. `data` is JSON text: the `Calls` or `Call` object. Heartbeats are
/// comments, not events.
fn sse_event_schema() -> Value {
    let event = |name: &str, data: &str, description: &str| {
        json!({
            "type": "object",
            "required": ["event", "id", "data"],
            "properties": {
                "event": { "const": name },
                "id": { "type": "string", "pattern": "^[0-9]+$" },
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": schema_ref(data)
                },
                "retry": { "type": "integer" }
            },
            "description": description
        })
    };
    json!({
        "description": "`event: snapshot` with `data: {\"calls\":[Call...]}` first (or, on a resume with `Last-Event-ID` the server can still serve, the missed `call` events instead), then one `event: call` with `data: <Call>` per change; each with an `id:`. A `: heartbeat` comment after each interval of silence (15 s by default).",
        "oneOf": [
            event("snapshot", "Calls", "The session's calls when the stream starts."),
            event("call", "Call", "One call as it is after a change.")
        ]
    })
}

fn schemas() -> Value {
    let id = resource_id_schema();
    let session_id = session_id_schema();
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "additionalProperties": false,
                    "properties": {
                        "code": { "type": "string" },
                        "message": { "type": "string" }
                    }
                }
            }
        },
        "SessionRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "room": { "type": "string", "pattern": format!("^[A-Za-z0-9_.-]{{1,{MAX_ROOM_LEN}}}$"), "default": "default" }
            }
        },
        "Session": {
            "type": "object",
            "required": ["room", "apiKey", "sessionId"],
            "additionalProperties": false,
            "properties": {
                "room": { "type": "string" },
                "apiKey": { "type": "string" },
                "sessionId": session_id
            }
        },
        "Targets": {
            "type": "object",
            "required": ["targets", "defaultTarget", "customUriAllowed"],
            "additionalProperties": false,
            "properties": {
                "targets": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "label"],
                        "additionalProperties": false,
                        "properties": { "name": { "type": "string" }, "label": { "type": "string" } }
                    }
                },
                "defaultTarget": { "type": ["string", "null"] },
                "customUriAllowed": { "type": "boolean" }
            }
        },
        "Role": { "type": "string", "enum": ["publisher", "subscriber", "publisheronly", "moderator"] },
        "TokenRequest": {
            "type": "object",
            "required": ["sessionId"],
            "additionalProperties": false,
            "properties": {
                "sessionId": session_id,
                "role": { "$ref": "#/components/schemas/Role" },
                "data": {
                    "type": "string",
                    "maxLength": MAX_CONNECTION_DATA_LEN,
                    "pattern": "^(?!sip=)",
                    "description": "Connection data other clients see; `sip=` is reserved for SIP legs."
                }
            }
        },
        "Token": {
            "type": "object",
            "required": ["token", "role", "expiresAt"],
            "additionalProperties": false,
            "properties": {
                "token": { "type": "string" },
                "role": { "$ref": "#/components/schemas/Role" },
                "expiresAt": { "type": "integer", "description": "Milliseconds since the Unix epoch." }
            }
        },
        "DialRequest": {
            "type": "object",
            "required": ["sessionId"],
            "additionalProperties": false,
            "not": { "required": ["target", "uri"] },
            "description": "A dial to a configured `target` or to a caller's own `uri`, never both: a caller's URI never borrows a target's credentials, headers or digits.",
            "properties": {
                "sessionId": session_id,
                "target": {
                    "type": "string",
                    "pattern": format!("^[A-Za-z0-9_.-]{{1,{MAX_TARGET_NAME_LEN}}}$"),
                    "description": "A configured target's name (`GET /targets`; another name answers 404 `target_not_found`); optional with one target or a default."
                },
                "uri": {
                    "type": "string",
                    "maxLength": MAX_SIP_URI_LEN,
                    "pattern": SIP_URI_PATTERN,
                    "description": "A SIP URI to dial instead of the target's; answered 403 `uri_not_allowed` unless the server's allow-list matches it."
                },
                "headers": {
                    "type": "object",
                    "maxProperties": MAX_SIP_HEADERS,
                    "propertyNames": sip_header_name_schema(),
                    "additionalProperties": {
                        "type": "string",
                        "maxLength": MAX_SIP_HEADER_VALUE_LEN,
                        "pattern": "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f]*$"
                    },
                    "description": format!("Custom INVITE headers under the target's own. Names are `X-` headers (a host may let callers set more on a target, `SipTarget::caller_headers`); compared without regard to case, so two names differing only in case are refused; values without control characters, at most {MAX_SIP_HEADER_VALUE_LEN} bytes each and {MAX_SIP_HEADERS_BYTES} bytes in all.")
                },
                "streams": { "type": "array", "items": id },
                "dtmfAfterAnswer": {
                    "type": "string",
                    "pattern": format!("^[0-9*#p]{{1,{MAX_DTMF_LEN}}}$"),
                    "description": "Digits played once the call is answered. Allowed with a caller-supplied `uri` (the target's own digits never go there), and with a target that has no digits of its own (else 403 `dtmf_not_allowed`)."
                }
            }
        },
        "CallState": { "type": "string", "enum": ["dialing", "ringing", "active", "on_hold", "ended"] },
        "CallOutcome": { "type": "string", "enum": ["completed", "busy", "no_answer", "rejected", "failed", "canceled", "max_duration", "expired"], "description": "How an ended call ended (docs/call-lifecycle.md has the mapping from the platform's codes)." },
        "Call": {
            "type": "object",
            "required": ["id", "sessionId", "target", "connectionId", "state", "createdAt", "updatedAt"],
            "additionalProperties": false,
            "properties": {
                "id": id,
                "sessionId": session_id,
                "target": { "type": ["string", "null"] },
                "connectionId": id,
                "streamId": { "type": "string", "pattern": "^[A-Za-z0-9._~-]+$", "description": "Absent only for a call this server did not place, until the platform reports its stream." },
                "state": { "$ref": "#/components/schemas/CallState" },
                "createdAt": { "type": "integer", "description": "Milliseconds since the Unix epoch." },
                "updatedAt": { "type": "integer", "description": "When the current state was reached (ms)." },
                "endedAt": { "type": "integer", "description": "Milliseconds since the Unix epoch." },
                "endReason": { "type": "string", "description": "Why the call ended (the platform's reason, or `Hung up` until it says more)." },
                "sipCode": { "type": "integer", "description": "The SIP response code, or the platform's own 700-706, the call ended with." },
                "outcome": { "$ref": "#/components/schemas/CallOutcome" },
                "answeredAt": { "type": "integer", "description": "When the far end answered (the call first became active), ms since the Unix epoch." },
                "durationMs": { "type": "integer", "minimum": 0, "description": "Milliseconds from the answer to the end (answered calls that ended)." }
            }
        },
        "PlatformCallback": {
            "type": "object",
            "description": "A platform callback as POSTed by the SIP and session monitoring of the project (callCreated, callUpdated, callDestroyed, muteForced, connectionCreated/Destroyed, streamCreated/Destroyed, ...), with fields such as `event`, `sessionId`, `projectId`, `timestamp`, `state`, `reason`, `call`, `connection` and `stream`. Any JSON object is answered 200: one the server cannot use (no `event`, an unknown event, fields of other types) is `ignored`, because the platform retries anything else and such an event never becomes usable."
        },
        "CallbackAck": {
            "type": "object",
            "required": ["status"],
            "additionalProperties": false,
            "properties": {
                "status": { "type": "string", "enum": ["applied", "unchanged", "duplicate", "ignored"] }
            }
        },
        "Calls": {
            "type": "object",
            "required": ["calls"],
            "additionalProperties": false,
            "properties": { "calls": { "type": "array", "items": { "$ref": "#/components/schemas/Call" } } }
        },
        "HangUpRequest": {
            "type": "object",
            "description": "No fields: an empty body or `{}`.",
            "additionalProperties": false,
            "properties": {}
        },
        "MuteRequest": {
            "type": "object",
            "description": "No fields: an empty body or `{}`.",
            "additionalProperties": false,
            "properties": {}
        },
        "DtmfRequest": {
            "type": "object",
            "required": ["digits"],
            "additionalProperties": false,
            "properties": {
                "digits": { "type": "string", "pattern": format!("^[0-9*#p]{{1,{MAX_DTMF_LEN}}}$") }
            }
        }
    })
}
