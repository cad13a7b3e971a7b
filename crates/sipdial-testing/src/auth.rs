//! Verification of the REST auth JWT, as the cloud does it (docs/platform-api.md §1).
//!
//! Two forms: `X-OPENTOK-AUTH: <HS256 JWT>` signed with the project secret, `iss` = API
//! key and `ist` = `project` (in the claims or, as Ruby sends it, in the header), and
//! `Authorization: Bearer <RS256 JWT>` signed with the application's private key with
//! `application_id` = the application id. `jti` is optional (Node sends none).

use http::HeaderMap;
use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::jwt::{self, secs_claim, string_claim};

/// How far in the future `iat` may be, to allow for a client's clock running ahead.
pub(crate) const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// The longest `exp - iat` accepted. SDKs use 180–900 s; an hour-long REST JWT is a
/// client bug (a token that would still work long after it leaked).
pub const MAX_REST_JWT_LIFETIME_SECS: i64 = 3600;

/// Which kind of credentials a request was signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthKind {
    /// `X-OPENTOK-AUTH`, HS256 with the project's API secret.
    Project,
    /// `Authorization: Bearer`, RS256 with the Vonage application's private key.
    Application,
}

/// A request whose REST JWT checked out.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) kind: AuthKind,
    /// The key the credentials stand for: the API key or the application id. It is what
    /// `{apiKey}` in a `/v2/project/{apiKey}/…` path must be.
    pub(crate) key: String,
    pub(crate) claims: Value,
}

/// Checks the auth header of a request; the error text is safe to send back.
pub(crate) fn verify_rest(
    headers: &HeaderMap,
    creds: &Credentials,
    now: i64,
) -> Result<Verified, &'static str> {
    if let Some(v) = headers.get("x-opentok-auth") {
        let token = v
            .to_str()
            .map_err(|_| "Invalid X-OPENTOK-AUTH header")?
            .trim();
        return verify_project(token, creds, now);
    }
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let value = v.to_str().map_err(|_| "Invalid Authorization header")?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or("Authorization must be a Bearer token")?
            .trim();
        return verify_application(token, creds, now);
    }
    Err("Missing authentication: send X-OPENTOK-AUTH or Authorization: Bearer")
}

fn verify_project(token: &str, creds: &Credentials, now: i64) -> Result<Verified, &'static str> {
    let jwt = jwt::verify(token, Algorithm::HS256, &creds.secret_key())?;
    if string_claim(&jwt.claims, "iss").as_deref() != Some(creds.api_key.as_str()) {
        return Err("Invalid token issuer: iss must be the API key");
    }
    let ist = jwt
        .claims
        .get("ist")
        .or_else(|| jwt.header.get("ist"))
        .and_then(Value::as_str);
    if ist != Some("project") {
        return Err("Invalid token: ist must be \"project\"");
    }
    check_lifetime(&jwt.claims, now)?;
    Ok(Verified {
        kind: AuthKind::Project,
        key: creds.api_key.clone(),
        claims: Value::Object(jwt.claims),
    })
}

fn verify_application(
    token: &str,
    creds: &Credentials,
    now: i64,
) -> Result<Verified, &'static str> {
    let app = creds
        .application
        .as_ref()
        .ok_or("Application credentials are not enabled for this project")?;
    let jwt = jwt::verify(token, Algorithm::RS256, &app.key)?;
    if string_claim(&jwt.claims, "application_id").as_deref() != Some(app.id.as_str()) {
        return Err("Invalid token: application_id does not match");
    }
    if let Some(ist) = jwt.claims.get("ist")
        && ist.as_str() != Some("project")
    {
        return Err("Invalid token: ist must be \"project\"");
    }
    check_lifetime(&jwt.claims, now)?;
    Ok(Verified {
        kind: AuthKind::Application,
        key: app.id.clone(),
        claims: Value::Object(jwt.claims),
    })
}

fn check_lifetime(claims: &serde_json::Map<String, Value>, now: i64) -> Result<(), &'static str> {
    let exp = secs_claim(claims, "exp").ok_or("Invalid token: exp is required")?;
    let iat = secs_claim(claims, "iat").ok_or("Invalid token: iat is required")?;
    if exp <= now {
        return Err("Token expired");
    }
    if iat > now + MAX_CLOCK_SKEW_SECS {
        return Err("Invalid token: iat is in the future");
    }
    if exp <= iat {
        return Err("Invalid token: exp must be after iat");
    }
    if exp - iat > MAX_REST_JWT_LIFETIME_SECS {
        return Err("Invalid token: lifetime (exp - iat) is longer than allowed");
    }
    Ok(())
}
