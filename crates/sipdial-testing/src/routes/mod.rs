//! The REST routes the fake serves and what each does to the state (docs/platform-api.md
//! §2, §4, §5): the router that lists them, and the context each handler gets.
//! Every refusal is the platform's `{code, message}`.

mod dial;
mod moderation;
mod session;
mod streams;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, delete, get, post};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, header};
use serde_json::{Map, Value};

use crate::auth::Verified;
use crate::error::ApiError;
use crate::server::Inner;
use crate::state::Store;

/// Every route of the platform the fake serves. A known path with another method is a
/// 405, anything else a 404, both before any credentials are looked at.
pub(crate) fn router() -> Router<Arc<Inner>> {
    Router::new()
        .route("/session/create", post(session::create_session))
        .route("/v2/project/{key}/dial", post(dial::dial))
        // PHP posts to `/call`; the cloud evidently answers it like `/dial`.
        .route("/v2/project/{key}/call", post(dial::dial))
        .route(
            "/v2/project/{key}/session/{session}/connection/{connection}",
            delete(moderation::hang_up),
        )
        .route(
            "/v2/project/{key}/session/{session}/play-dtmf",
            post(moderation::play_dtmf_session),
        )
        .route(
            "/v2/project/{key}/session/{session}/connection/{connection}/play-dtmf",
            post(moderation::play_dtmf_connection),
        )
        .route(
            "/v2/project/{key}/session/{session}/stream/{stream}/mute",
            post(moderation::mute_stream),
        )
        .route(
            "/v2/project/{key}/session/{session}/mute",
            post(moderation::mute_all),
        )
        .route(
            "/v2/project/{key}/session/{session}/connection",
            get_only(streams::list_connections),
        )
        .route(
            "/v2/project/{key}/session/{session}/stream",
            get_only(streams::list_streams),
        )
        .route(
            "/v2/project/{key}/session/{session}/stream/{stream}",
            get_only(streams::get_stream),
        )
        // Both only after the routes: axum gives the 405 handler to the routes it has.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn(refuse_empty_segments))
}

/// A `{param}` also matches an empty segment (`/v2/project//dial`), which names nothing
/// on the platform: such a path is a 404 whatever the method or credentials.
async fn refuse_empty_segments(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .any(str::is_empty)
    {
        return not_found().await.into_response();
    }
    next.run(req).await
}

/// A GET route. axum would answer HEAD with the GET handler; the fake has always refused
/// it like any other method not listed.
fn get_only<H, T>(handler: H) -> MethodRouter<Arc<Inner>>
where
    H: axum::handler::Handler<T, Arc<Inner>>,
    T: 'static,
{
    get(handler).head(method_not_allowed)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(http::StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

async fn not_found() -> ApiError {
    ApiError::not_found("Resource not found")
}

/// What the server learnt of a request before routing it. The body is read (under the
/// size limit) and the credentials checked once, by the server, because every request is
/// recorded with both, including those no route takes.
#[derive(Clone)]
pub(crate) struct Arrived {
    pub(crate) body: Bytes,
    pub(crate) auth: Result<Verified, &'static str>,
    pub(crate) now_secs: i64,
}

/// Everything a handler needs about one request. Taking it is what makes a handler
/// authenticated: it is refused (403) unless the credentials verified and stand for the
/// `{key}` of the path.
pub(crate) struct Ctx {
    inner: Arc<Inner>,
    verified: Verified,
    headers: HeaderMap,
    body: Bytes,
    now_secs: i64,
}

impl FromRequestParts<Arc<Inner>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        inner: &Arc<Inner>,
    ) -> Result<Self, Self::Rejection> {
        let Some(arrived) = parts.extensions.get::<Arrived>().cloned() else {
            return Err(ApiError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "The request was not read",
            ));
        };
        // The ids are percent-decoded; one that is not UTF-8 names nothing there is.
        let params = RawPathParams::from_request_parts(parts, inner)
            .await
            .map_err(|_| ApiError::not_found("Resource not found"))?;
        let verified = arrived.auth.map_err(ApiError::forbidden)?;
        if params
            .iter()
            .any(|(name, value)| name == "key" && value != verified.key)
        {
            return Err(ApiError::forbidden(
                "The project key in the path does not match the credentials",
            ));
        }
        Ok(Ctx {
            inner: Arc::clone(inner),
            verified,
            headers: parts.headers.clone(),
            body: arrived.body,
            now_secs: arrived.now_secs,
        })
    }
}

impl Ctx {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        crate::sync::lock(&self.inner.store)
    }

    /// The emulated SIP gateway, when SIP is on.
    fn sip(&self) -> Option<&dyn crate::sip_legs::SipLegs> {
        self.inner.sip.as_deref()
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
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request("The body must be a JSON object")),
            Err(_) => Err(ApiError::bad_request("The body is not valid JSON")),
        }
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
    use http::{Method, StatusCode};

    /// Without credentials a route that matches answers 403, so the status tells which
    /// requests found a route.
    #[tokio::test]
    async fn matches_every_route() {
        let fake = crate::FakePlatform::start().await.unwrap();
        let client = reqwest::Client::new();
        let status = |method: Method, path: &str| {
            let req = client.request(method, format!("{}{path}", fake.url()));
            async move { req.send().await.unwrap().status() }
        };
        let s = "/v2/project/k/session/s";
        for (method, path) in [
            (Method::POST, "/session/create".to_owned()),
            (Method::POST, "/v2/project/k/dial".to_owned()),
            (Method::POST, "/v2/project/k/call".to_owned()),
            (Method::DELETE, format!("{s}/connection/c")),
            (Method::POST, format!("{s}/play-dtmf")),
            (Method::POST, format!("{s}/connection/c/play-dtmf")),
            (Method::POST, format!("{s}/stream/x/mute")),
            (Method::POST, format!("{s}/mute")),
            (Method::GET, format!("{s}/connection")),
            (Method::GET, format!("{s}/stream")),
            (Method::GET, format!("{s}/stream/x")),
        ] {
            assert_eq!(status(method, &path).await, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(status(Method::GET, "/nope").await, StatusCode::NOT_FOUND);
        assert_eq!(
            status(Method::GET, "/v2/project/k/dial").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(Method::HEAD, &format!("{s}/stream")).await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(Method::POST, "/v2/project/k//dial").await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(Method::GET, &format!("{s}/stream/")).await,
            StatusCode::NOT_FOUND
        );
    }
}
