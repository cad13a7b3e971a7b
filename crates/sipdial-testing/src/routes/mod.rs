//! The REST routes the fake serves and what each does to the state (docs/platform-api.md
//! §2, §4, §5): matching a request to its route, and the context its handler gets.
//! Every refusal is the platform's `{code, message}`.

mod dial;
mod moderation;
mod session;
mod streams;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value};

use crate::auth::Verified;
use crate::body::Body;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::state::Store;

/// A request matched to one of the platform's routes. `key` is the `{apiKey}` path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    CreateSession,
    Dial {
        key: String,
    },
    HangUp {
        key: String,
        session: String,
        connection: String,
    },
    DtmfSession {
        key: String,
        session: String,
    },
    DtmfConnection {
        key: String,
        session: String,
        connection: String,
    },
    MuteStream {
        key: String,
        session: String,
        stream: String,
    },
    MuteAll {
        key: String,
        session: String,
    },
    ListStreams {
        key: String,
        session: String,
    },
    ListConnections {
        key: String,
        session: String,
    },
    GetStream {
        key: String,
        session: String,
        stream: String,
    },
}

impl Route {
    /// Matches `method` and `path`: 404 for an unknown path, 405 for a known path with
    /// the wrong method.
    pub(crate) fn parse(method: &Method, path: &str) -> Result<Self, ApiError> {
        let segs: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return Err(ApiError::not_found("Resource not found"));
        }
        let s = |x: &str| x.to_owned();
        let (route, allowed) = match segs.as_slice() {
            ["session", "create"] => (Route::CreateSession, Method::POST),
            // PHP posts to `/call`; the cloud evidently answers it like `/dial`.
            ["v2", "project", k, "dial" | "call"] => (Route::Dial { key: s(k) }, Method::POST),
            ["v2", "project", k, "session", sid, "connection", cid] => (
                Route::HangUp {
                    key: s(k),
                    session: s(sid),
                    connection: s(cid),
                },
                Method::DELETE,
            ),
            ["v2", "project", k, "session", sid, "play-dtmf"] => (
                Route::DtmfSession {
                    key: s(k),
                    session: s(sid),
                },
                Method::POST,
            ),
            [
                "v2",
                "project",
                k,
                "session",
                sid,
                "connection",
                cid,
                "play-dtmf",
            ] => (
                Route::DtmfConnection {
                    key: s(k),
                    session: s(sid),
                    connection: s(cid),
                },
                Method::POST,
            ),
            ["v2", "project", k, "session", sid, "stream", st, "mute"] => (
                Route::MuteStream {
                    key: s(k),
                    session: s(sid),
                    stream: s(st),
                },
                Method::POST,
            ),
            ["v2", "project", k, "session", sid, "mute"] => (
                Route::MuteAll {
                    key: s(k),
                    session: s(sid),
                },
                Method::POST,
            ),
            ["v2", "project", k, "session", sid, "connection"] => (
                Route::ListConnections {
                    key: s(k),
                    session: s(sid),
                },
                Method::GET,
            ),
            ["v2", "project", k, "session", sid, "stream"] => (
                Route::ListStreams {
                    key: s(k),
                    session: s(sid),
                },
                Method::GET,
            ),
            ["v2", "project", k, "session", sid, "stream", st] => (
                Route::GetStream {
                    key: s(k),
                    session: s(sid),
                    stream: s(st),
                },
                Method::GET,
            ),
            _ => return Err(ApiError::not_found("Resource not found")),
        };
        if *method != allowed {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
            ));
        }
        Ok(route)
    }

    /// The `{apiKey}` of the path, when it has one.
    pub(crate) fn key(&self) -> Option<&str> {
        match self {
            Route::CreateSession => None,
            Route::Dial { key }
            | Route::HangUp { key, .. }
            | Route::DtmfSession { key, .. }
            | Route::DtmfConnection { key, .. }
            | Route::MuteStream { key, .. }
            | Route::MuteAll { key, .. }
            | Route::ListStreams { key, .. }
            | Route::ListConnections { key, .. }
            | Route::GetStream { key, .. } => Some(key),
        }
    }
}

/// Everything a handler needs about one request.
pub(crate) struct Ctx<'a> {
    pub(crate) creds: &'a Credentials,
    pub(crate) store: &'a std::sync::Mutex<Store>,
    pub(crate) lifecycle: &'a crate::callbacks::Lifecycle,
    pub(crate) sip: Option<&'a dyn crate::sip_legs::SipLegs>,
    pub(crate) verified: &'a Verified,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    pub(crate) now_secs: i64,
}

impl Ctx<'_> {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The body as a JSON object; an empty body counts as `{}` only when `empty_ok`.
    fn json_object(&self, empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return if empty_ok {
                Ok(Map::new())
            } else {
                Err(ApiError::bad_request("A JSON body is required"))
            };
        }
        if self.content_type() != "application/json" {
            return Err(ApiError::bad_request(
                "Content-Type must be application/json",
            ));
        }
        match serde_json::from_slice(self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request("The body must be a JSON object")),
            Err(_) => Err(ApiError::bad_request("The body is not valid JSON")),
        }
    }
}

pub(crate) fn handle(route: Route, ctx: &Ctx<'_>) -> Result<http::Response<Body>, ApiError> {
    match route {
        Route::CreateSession => session::create_session(ctx),
        Route::Dial { key } => dial::dial(ctx, &key),
        Route::HangUp {
            session,
            connection,
            ..
        } => moderation::hang_up(ctx, &session, &connection),
        Route::DtmfSession { session, .. } => moderation::play_dtmf(ctx, &session, None),
        Route::DtmfConnection {
            session,
            connection,
            ..
        } => moderation::play_dtmf(ctx, &session, Some(&connection)),
        Route::MuteStream {
            key,
            session,
            stream,
        } => moderation::mute_stream(ctx, &key, &session, &stream),
        Route::MuteAll { key, session } => moderation::mute_all(ctx, &key, &session),
        Route::ListStreams { session, .. } => streams::list_streams(ctx, &session),
        Route::ListConnections { session, .. } => streams::list_connections(ctx, &session),
        Route::GetStream {
            session, stream, ..
        } => streams::get_stream(ctx, &session, &stream),
    }
}

/// A field of a JSON object; `null` counts as absent.
pub(super) fn opt_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

pub(super) fn session_not_found() -> ApiError {
    ApiError::not_found("Session not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_route() {
        let p = |m: Method, path: &str| Route::parse(&m, path);
        assert_eq!(
            p(Method::POST, "/session/create").unwrap(),
            Route::CreateSession
        );
        assert_eq!(
            p(Method::POST, "/v2/project/k/dial").unwrap(),
            Route::Dial { key: "k".into() }
        );
        assert!(matches!(
            p(Method::DELETE, "/v2/project/k/session/s/connection/c").unwrap(),
            Route::HangUp { .. }
        ));
        assert!(matches!(
            p(
                Method::POST,
                "/v2/project/k/session/s/connection/c/play-dtmf"
            )
            .unwrap(),
            Route::DtmfConnection { .. }
        ));
        assert!(matches!(
            p(Method::GET, "/v2/project/k/session/s/stream/x").unwrap(),
            Route::GetStream { .. }
        ));
        assert_eq!(
            p(Method::GET, "/nope").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            p(Method::GET, "/v2/project/k/dial").unwrap_err().status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            p(Method::POST, "/v2/project/k//dial").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }
}
