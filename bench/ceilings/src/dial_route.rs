//! The dial-route ceiling's handler (`ceiling-dial` serves it; `req-cost` calls it in
//! process): parse `{"sessionId"}`, mint the `sip=true` token, write the platform dial
//! body, sign a fresh REST JWT, POST it over reqwest, parse the answer, reply 201.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use sipdial_core::jwt::Hs256Key;
use sipdial_core::{ConnectionData, Role, SessionId};

use crate::{
    Reply, env_or, env_required, error_reply, json_reply, mint_token, now_millis, now_secs,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DialRequest {
    session_id: String,
}

/// What the platform receives, as sipdial-opentok writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlatformDial<'a> {
    session_id: &'a str,
    token: &'a str,
    sip: PlatformSip<'a>,
}

#[derive(Serialize)]
struct PlatformSip<'a> {
    uri: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<Auth<'a>>,
}

#[derive(Serialize)]
struct Auth<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct RestClaims<'a> {
    iss: &'a str,
    ist: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlatformAnswer {
    id: String,
    connection_id: String,
    stream_id: String,
    #[serde(default)]
    created_at: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallJson<'a> {
    id: &'a str,
    session_id: &'a str,
    target: &'a str,
    connection_id: &'a str,
    stream_id: &'a str,
    state: &'a str,
    created_at: u64,
}

/// What the dial ceiling reads from the environment.
pub struct Config {
    api_key: String,
    key: Hs256Key,
    /// Parsed once, as sipdial-opentok does: only the request's own work is per request.
    dial_url: reqwest::Url,
    sip_uri: String,
    sip_headers: BTreeMap<String, String>,
    sip_auth: Option<(String, String)>,
    client: reqwest::Client,
}

/// `OPENTOK_API_KEY`, `OPENTOK_API_SECRET`, `OPENTOK_API_URL`, `SIP_URI`, `SIP_HEADERS`,
/// `SIP_USERNAME`, `SIP_PASSWORD`.
pub fn config() -> Result<Config, String> {
    let api_key = env_required("OPENTOK_API_KEY")?;
    let base = env_required("OPENTOK_API_URL")?;
    let sip_headers = match std::env::var("SIP_HEADERS") {
        Ok(h) if !h.is_empty() => serde_json::from_str(&h)
            .map_err(|_| "SIP_HEADERS must be a JSON object of strings".to_owned())?,
        _ => BTreeMap::new(),
    };
    let sip_auth = match (std::env::var("SIP_USERNAME"), std::env::var("SIP_PASSWORD")) {
        (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
        _ => None,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(Config {
        dial_url: reqwest::Url::parse(&format!(
            "{}/v2/project/{api_key}/dial",
            base.trim_end_matches('/')
        ))
        .map_err(|_| "OPENTOK_API_URL must be a URL".to_owned())?,
        api_key,
        key: Hs256Key::new(env_required("OPENTOK_API_SECRET")?.as_bytes()),
        sip_uri: env_or("SIP_URI", "sip:bench@127.0.0.1;transport=tls"),
        sip_headers,
        sip_auth,
        client,
    })
}

/// `POST /sip/dial`.
pub async fn dial(config: &Config, body: Option<Bytes>) -> Reply {
    let Some(body) = body else {
        return error_reply(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    };
    let Ok(request) = serde_json::from_slice::<DialRequest>(&body) else {
        return error_reply(StatusCode::BAD_REQUEST, "invalid_json");
    };
    let Ok(session) = SessionId::new(request.session_id) else {
        return error_reply(StatusCode::BAD_REQUEST, "invalid_session");
    };
    let Ok(data) = ConnectionData::new("sip=true") else {
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let Ok(token) = mint_token(
        &config.api_key,
        &config.key,
        &session,
        Role::Publisher,
        Some(data),
    ) else {
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let platform_body = PlatformDial {
        session_id: session.as_str(),
        token: token.expose_secret(),
        sip: PlatformSip {
            uri: &config.sip_uri,
            headers: &config.sip_headers,
            auth: config.sip_auth.as_ref().map(|(u, p)| Auth {
                username: u,
                password: p,
            }),
        },
    };
    let now = now_secs();
    let claims = RestClaims {
        iss: &config.api_key,
        ist: "project",
        iat: now.saturating_sub(60),
        exp: now + 300,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let (Ok(json), Ok(jwt)) = (
        serde_json::to_vec(&platform_body),
        sipdial_core::jwt::sign_hs256_with(&claims, &config.key),
    ) else {
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let sent = config
        .client
        .post(config.dial_url.clone())
        .header("X-OPENTOK-AUTH", jwt)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(json)
        .send()
        .await;
    let response = match sent {
        Ok(r) if r.status().is_success() => r,
        Ok(_) | Err(_) => return error_reply(StatusCode::BAD_GATEWAY, "upstream"),
    };
    let Ok(answer) = response.bytes().await else {
        return error_reply(StatusCode::BAD_GATEWAY, "upstream");
    };
    let Ok(call) = serde_json::from_slice::<PlatformAnswer>(&answer) else {
        return error_reply(StatusCode::BAD_GATEWAY, "upstream");
    };
    let json = serde_json::to_vec(&CallJson {
        id: &call.id,
        session_id: session.as_str(),
        target: "default",
        connection_id: &call.connection_id,
        stream_id: &call.stream_id,
        state: "dialing",
        created_at: call.created_at.unwrap_or_else(now_millis),
    });
    match json {
        Ok(json) => {
            let mut res = json_reply(StatusCode::CREATED, json);
            if let Ok(v) = HeaderValue::from_str(&format!("/sip/calls/{}", call.id)) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(_) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}
