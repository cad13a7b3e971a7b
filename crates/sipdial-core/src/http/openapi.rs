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
use crate::{MAX_CONNECTION_DATA_LEN, MAX_DTMF_LEN, MAX_ROOM_LEN};

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
            "Conflict: the session is not routed, the call has ended, or (mute) its stream is not known yet."
        }
        413 => "The body is larger than the limit.",
        415 => "The body is not JSON.",
        429 => {
            "A per-session or per-call (DTMF) limit, or the platform's rate limit; see Retry-After."
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
                r["content"] = json!({ "text/event-stream": { "schema": {
                    "type": "string",
                    "description": "`event: snapshot` with `data: {\"calls\":[Call...]}` first (or, on a resume with `Last-Event-ID` the server can still serve, the missed `call` events instead), then one `event: call` with `data: <Call>` per change; each with an `id:`. A `: heartbeat` comment after each interval of silence (15 s by default)."
                } } });
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
                    }
                });
            }
            r
        } else {
            let mut r = json!({
                "description": error_description(status),
                "content": json_content("Error"),
            });
            if status == 429 {
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
            "schema": { "type": "string" }
        }]);
    }
    if spec.id == RouteId::Events {
        op["parameters"] = json!([
            { "name": "sessionId", "in": "query", "required": true, "schema": { "type": "string" } },
            { "name": "Last-Event-ID", "in": "header", "required": false,
              "description": "Resume after this event id (sent by EventSource on reconnect).",
              "schema": { "type": "string" } }
        ]);
    }
    if spec.id == RouteId::Dial {
        op["parameters"] = json!([
            { "name": "wait", "in": "query", "required": false,
              "description": "`answered`: hold the response until the call is answered or has ended, at most the call policy's ring timeout plus one timer poll and 0.5 s (so a call it ends comes back ended, outcome `no_answer`), or 60 s when none is set; the call's `state` and `outcome` tell which. A client that leaves does not cancel the call.",
              "schema": { "type": "string", "enum": ["answered"] } }
        ]);
    }
    if spec.id == RouteId::Callbacks {
        op["security"] = json!([{}, { "callbackSignature": [] }]);
    }
    if spec.id == RouteId::ListCalls {
        op["parameters"] = json!([
            { "name": "sessionId", "in": "query", "required": true, "schema": { "type": "string" } },
            { "name": "all", "in": "query", "required": false,
              "description": "Include ended calls.", "schema": { "type": "boolean", "default": false } }
        ]);
    }
    op
}

fn schemas() -> Value {
    let id = json!({ "type": "string", "pattern": "^[A-Za-z0-9._~-]+$" });
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
                "sessionId": id
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
                "sessionId": id,
                "role": { "$ref": "#/components/schemas/Role" },
                "data": { "type": "string", "maxLength": MAX_CONNECTION_DATA_LEN }
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
            "properties": {
                "sessionId": id,
                "target": { "type": "string", "description": "A configured target's name; optional with one target or a default." },
                "uri": { "type": "string", "description": "Only when the server's allow-list matches it." },
                "headers": { "type": "object", "additionalProperties": { "type": "string" } },
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
                "sessionId": id,
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
            "description": "A platform callback as POSTed by the SIP and session monitoring of the project (callCreated, callUpdated, callDestroyed, muteForced, connectionCreated/Destroyed, streamCreated/Destroyed, ...). Unknown events and fields are accepted and ignored.",
            "required": ["event"],
            "properties": {
                "event": { "type": "string" },
                "sessionId": { "type": "string" },
                "projectId": { "type": "string" },
                "timestamp": { "type": "integer" },
                "state": { "type": "string", "enum": ["DIALING", "RINGING", "ON_HOLD", "ACTIVE", "HANGUP"] },
                "reason_code": { "type": "string" },
                "reason_message": { "type": "string" },
                "reason": { "type": "string" },
                "call": { "type": "object", "properties": {
                    "id": { "type": "string" }, "connectionId": { "type": "string" }, "createdAt": { "type": "integer" } } },
                "connection": { "type": "object" },
                "stream": { "type": "object" }
            }
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
