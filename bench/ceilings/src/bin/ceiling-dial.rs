//! The dial-route ceiling: a bare hyper + reqwest handler for `POST /sip/dial` that
//! forwards the same dial body sipdial's dialer sends (a fresh `sip=true` client token,
//! the configured SIP URI, headers and digest credentials) to the same platform with a
//! fresh REST JWT, and answers 201 with the call as JSON.
//!
//! Environment: `OPENTOK_API_KEY`, `OPENTOK_API_SECRET`, `OPENTOK_API_URL` (the fake
//! platform), `SIP_URI`, `SIP_HEADERS` (JSON object, optional), `SIP_USERNAME` and
//! `SIP_PASSWORD` (optional), `HOST` (default 127.0.0.1), `PORT` (default 0). Prints
//! `ceiling-dial listening on URL`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use sipdial_bench_ceilings::{
    Reply, env_or, env_required, error_reply, json_reply, mint_token, now_millis, now_secs,
    read_body, serve,
};
use sipdial_core::{ConnectionData, Role, SessionId};

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

struct Config {
    api_key: String,
    api_secret: String,
    dial_url: String,
    sip_uri: String,
    sip_headers: BTreeMap<String, String>,
    sip_auth: Option<(String, String)>,
    client: reqwest::Client,
}

fn main() -> ExitCode {
    let config = match config() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("ceiling-dial: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = serve("ceiling-dial", move |req| {
        let config = Arc::clone(&config);
        async move {
            if req.method() == Method::POST && req.uri().path() == "/sip/dial" {
                dial(&config, read_body(req).await).await
            } else {
                error_reply(StatusCode::NOT_FOUND, "not_found")
            }
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling-dial: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config() -> Result<Config, String> {
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
        dial_url: format!("{}/v2/project/{api_key}/dial", base.trim_end_matches('/')),
        api_key,
        api_secret: env_required("OPENTOK_API_SECRET")?,
        sip_uri: env_or("SIP_URI", "sip:bench@127.0.0.1;transport=tls"),
        sip_headers,
        sip_auth,
        client,
    })
}

async fn dial(config: &Config, body: Option<Bytes>) -> Reply {
    let Some(body) = body else {
        return error_reply(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    };
    let Ok(request) = serde_json::from_slice::<DialRequest>(&body) else {
        return error_reply(StatusCode::BAD_REQUEST, "invalid_json");
    };
    let Ok(session) = SessionId::new(request.session_id) else {
        return error_reply(StatusCode::BAD_REQUEST, "invalid_session");
    };
    let secret = config.api_secret.as_bytes();
    let Ok(data) = ConnectionData::new("sip=true") else {
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let Ok(token) = mint_token(
        &config.api_key,
        secret,
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
        sipdial_core::jwt::sign_hs256(&claims, secret),
    ) else {
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    };
    let sent = config
        .client
        .post(&config.dial_url)
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
