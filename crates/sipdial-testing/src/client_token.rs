//! Verification of the client token carried in a dial body (docs/platform-api.md §3): a JWT
//! signed with the project secret (HS256) or the application key (RS256), or a legacy
//! `T1==` token whose HMAC-SHA1 signature covers its URL-encoded fields.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::jwt::{self, secs_claim, string_claim};

const ROLES: &[&str] = &["publisher", "subscriber", "moderator", "publisheronly"];

/// The token formats the fake accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFormat {
    /// A JWT signed with the project's API secret.
    ProjectJwt,
    /// A JWT signed with the Vonage application's private key.
    ApplicationJwt,
    /// The legacy `T1==` format.
    T1,
}

/// What a verified client token says.
#[derive(Debug, Clone)]
pub(crate) struct ClientTokenInfo {
    pub(crate) format: TokenFormat,
    pub(crate) role: String,
    pub(crate) connection_data: Option<String>,
}

fn invalid() -> ApiError {
    ApiError::forbidden("Invalid token")
}

/// Verifies `token` for `session_id`; errors are 400 (unreadable) or 403 (refused).
pub(crate) fn verify_client_token(
    token: &str,
    session_id: &str,
    creds: &Credentials,
    now: i64,
) -> Result<ClientTokenInfo, ApiError> {
    if let Some(rest) = token.strip_prefix("T1==") {
        return verify_t1(rest, session_id, creds, now);
    }
    let (format, claims) = match jwt::peek_alg(token).as_deref() {
        Some("HS256") => {
            let jwt =
                jwt::verify(token, Algorithm::HS256, &creds.secret_key()).map_err(|_| invalid())?;
            if string_claim(&jwt.claims, "iss").as_deref() != Some(creds.api_key.as_str()) {
                return Err(ApiError::forbidden(
                    "Invalid token: issued for another project",
                ));
            }
            (TokenFormat::ProjectJwt, jwt.claims)
        }
        Some("RS256") => {
            let app = creds.application.as_ref().ok_or_else(invalid)?;
            let jwt = jwt::verify(token, Algorithm::RS256, &app.key).map_err(|_| invalid())?;
            if string_claim(&jwt.claims, "application_id").as_deref() != Some(app.id.as_str()) {
                return Err(ApiError::forbidden(
                    "Invalid token: issued for another application",
                ));
            }
            (TokenFormat::ApplicationJwt, jwt.claims)
        }
        Some(_) => return Err(invalid()),
        None => return Err(ApiError::bad_request("Invalid token format")),
    };
    if claims.get("scope").and_then(Value::as_str) != Some("session.connect") {
        return Err(ApiError::forbidden(
            "Invalid token: scope must be session.connect",
        ));
    }
    if claims.get("session_id").and_then(Value::as_str) != Some(session_id) {
        return Err(ApiError::forbidden(
            "Invalid token: issued for another session",
        ));
    }
    // Ruby and PHP may omit `exp`; the platform then applies its own default.
    if let Some(exp) = secs_claim(&claims, "exp")
        && exp <= now
    {
        return Err(ApiError::forbidden("Token expired"));
    }
    let role = checked_role(claims.get("role").and_then(Value::as_str))?;
    Ok(ClientTokenInfo {
        format,
        role,
        connection_data: claims
            .get("connection_data")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn checked_role(role: Option<&str>) -> Result<String, ApiError> {
    let role = role.unwrap_or("publisher");
    if ROLES.contains(&role) {
        Ok(role.to_owned())
    } else {
        Err(ApiError::forbidden("Invalid token: unknown role"))
    }
}

/// `T1==` + base64(`partner_id=KEY&sig=HEX:DATA`), `HEX` = HMAC-SHA1(secret, DATA).
fn verify_t1(
    encoded: &str,
    session_id: &str,
    creds: &Credentials,
    now: i64,
) -> Result<ClientTokenInfo, ApiError> {
    let unreadable = || ApiError::bad_request("Invalid token format");
    // Java emits the URL-safe alphabet; everything else the standard one.
    let bytes = STANDARD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .map_err(|_| unreadable())?;
    let text = String::from_utf8(bytes).map_err(|_| unreadable())?;
    let (prefix, data) = text.split_once(':').ok_or_else(unreadable)?;
    let prefix: Vec<(String, String)> =
        serde_urlencoded::from_str(prefix).map_err(|_| unreadable())?;
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if field(&prefix, "partner_id").as_deref() != Some(creds.api_key.as_str()) {
        return Err(ApiError::forbidden(
            "Invalid token: issued for another project",
        ));
    }
    let sig = field(&prefix, "sig").ok_or_else(unreadable)?;
    let sig = decode_hex(&sig).ok_or_else(unreadable)?;
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        creds.api_secret.as_bytes(),
    );
    hmac::verify(&key, data.as_bytes(), &sig).map_err(|_| invalid())?;
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_str(data).map_err(|_| unreadable())?;
    if field(&fields, "session_id").as_deref() != Some(session_id) {
        return Err(ApiError::forbidden(
            "Invalid token: issued for another session",
        ));
    }
    if let Some(exp) = field(&fields, "expire_time") {
        let exp: i64 = exp.parse().map_err(|_| unreadable())?;
        if exp <= now {
            return Err(ApiError::forbidden("Token expired"));
        }
    }
    let role = checked_role(field(&fields, "role").as_deref())?;
    Ok(ClientTokenInfo {
        format: TokenFormat::T1,
        role,
        connection_data: field(&fields, "connection_data"),
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            api_key: "123456".into(),
            api_secret: crate::TEST_API_SECRET.into(),
            application: None,
        }
    }

    const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
    /// docs/platform-api.md §9.2.
    const T1: &str = "T1==cGFydG5lcl9pZD0xMjM0NTYmc2lnPWRmOTRhNjQ1NTlhY2MwNjFkN2EzNzUyYTZmYzY5NDkzZTkzOGMxOTE6c2Vzc2lvbl9pZD0xX01YNHhNak0wTlRaLWZsTmhkQ0JOWVhJZ01UVWdNVFE2TkRJNk1qTWdVRVJVSURJd01UUi1NQzQwT1RBeE16QXlOWDQmY3JlYXRlX3RpbWU9MTQyNDIyMTAxMyZub25jZT0wLjM5NDI2MDk4ODEwNTA4ODUmcm9sZT1tb2RlcmF0b3ImZXhwaXJlX3RpbWU9MTQyNDMwNzQxMyZjb25uZWN0aW9uX2RhdGE9JTdCJTIybmFtZSUyMiUzQSUyMnZhbHVlJTIyJTdE";

    #[test]
    fn accepts_the_t1_vector_before_it_expires() {
        let info = verify_client_token(T1, SID, &creds(), 1_424_221_100).unwrap();
        assert_eq!(info.format, TokenFormat::T1);
        assert_eq!(info.role, "moderator");
        assert_eq!(
            info.connection_data.as_deref(),
            Some("{\"name\":\"value\"}")
        );
    }

    #[test]
    fn refuses_the_t1_vector_after_expiry_or_for_another_session() {
        let e = verify_client_token(T1, SID, &creds(), 1_424_307_413).unwrap_err();
        assert_eq!(e.message, "Token expired");
        let e = verify_client_token(T1, "1_other", &creds(), 1_424_221_100).unwrap_err();
        assert_eq!(e.status, http::StatusCode::FORBIDDEN);
    }

    #[test]
    fn refuses_a_t1_token_under_another_secret() {
        let mut c = creds();
        c.api_secret.push('x');
        let e = verify_client_token(T1, SID, &c, 1_424_221_100).unwrap_err();
        assert_eq!(e.message, "Invalid token");
    }

    #[test]
    fn refuses_garbage() {
        for t in ["", "abc", "T1==!!!", "a.b.c"] {
            assert!(verify_client_token(t, SID, &creds(), 0).is_err(), "{t}");
        }
    }
}
