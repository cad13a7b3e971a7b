//! The token-route ceiling's handler (`ceiling-token` serves it; `req-cost` calls it
//! in process): parse `{"sessionId"}`, mint the same HS256 client token with the same
//! code as sipdial, answer `{"token","role","expiresAt"}`. And `GET /`'s page bytes.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use sipdial_core::jwt::Hs256Key;
use sipdial_core::{Role, SessionId};

use crate::{Reply, env_required, error_reply, json_reply, mint_token};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    session_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse<'a> {
    token: &'a str,
    role: &'a str,
    expires_at: u64,
}

/// What the token ceiling reads from the environment.
pub struct Config {
    api_key: String,
    key: Hs256Key,
    page: Option<Bytes>,
}

/// `OPENTOK_API_KEY`, `OPENTOK_API_SECRET`, `PAGE_FILE` (optional).
pub fn config() -> Result<Config, String> {
    let page = match std::env::var("PAGE_FILE") {
        Ok(path) if !path.is_empty() => Some(Bytes::from(
            std::fs::read(&path).map_err(|e| format!("cannot read PAGE_FILE: {e}"))?,
        )),
        _ => None,
    };
    Ok(Config {
        api_key: env_required("OPENTOK_API_KEY")?,
        key: Hs256Key::new(env_required("OPENTOK_API_SECRET")?.as_bytes()),
        page,
    })
}

/// `POST /sip/token`.
pub fn token(config: &Config, body: Option<Bytes>) -> Reply {
    let Some(body) = body else {
        return error_reply(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    };
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return error_reply(StatusCode::BAD_REQUEST, "invalid_json");
    };
    let Ok(session) = SessionId::new(request.session_id) else {
        return error_reply(StatusCode::BAD_REQUEST, "invalid_session");
    };
    let role = Role::Publisher;
    match mint_token(&config.api_key, &config.key, &session, role, None) {
        Ok(token) => match serde_json::to_vec(&TokenResponse {
            token: token.expose_secret(),
            role: role.as_str(),
            expires_at: token.expires_at().saturating_mul(1000),
        }) {
            Ok(json) => json_reply(StatusCode::OK, json),
            Err(_) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        },
        Err(_) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// `GET /`.
pub fn page(config: &Config) -> Reply {
    match &config.page {
        Some(page) => {
            let mut res = json_reply(StatusCode::OK, page.clone());
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        None => error_reply(StatusCode::NOT_FOUND, "not_found"),
    }
}
