//! The test vectors of docs/platform-api.md §9, byte for byte where the reference gives bytes.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sipdial_core::jwt::ClientTokenClaims;
use sipdial_core::{
    ConnectionData, DialError, Role, SessionId, SipDialer, TokenExpiry, TokenOptions,
    session_format,
};
use sipdial_opentok::legacy::T1Fields;
use sipdial_opentok::{Credentials, OpenTokDialer, RestClaims};

const KEY: &str = "123456";
const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";
const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";

fn sid(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}

fn project_dialer() -> OpenTokDialer {
    OpenTokDialer::builder(Credentials::project(KEY, SECRET))
        .build()
        .unwrap()
}

/// §9.1: session ids decode to the key the dialer checks tokens against.
#[test]
fn session_id_vectors_decode() {
    let p = session_format::decode(&sid(SID)).unwrap();
    assert_eq!((p.api_key.as_str(), p.location.as_str()), ("123456", ""));
    let p = session_format::decode(&sid(
        "1_MX4xMjM0NTZ-MTIuMzQuNTYuNzh-TW9uIE1hciAxNyAwMTo0ODo1NSBQRFQgMjAxNH4wLjM0MTM0MzE0MDIyOTU4Mjh-",
    ))
    .unwrap();
    assert_eq!(
        (p.api_key.as_str(), p.location.as_str()),
        ("123456", "12.34.56.78")
    );
    let p = session_format::decode(&sid("2_MX40NTMyODc3Mn5-fg")).unwrap();
    assert_eq!(p.api_key, "45328772");

    // The dialer signs for its own sessions and refuses another project's.
    let dialer = project_dialer();
    assert!(
        dialer
            .issue_token(&sid(SID), TokenOptions::default())
            .is_ok()
    );
    let err = dialer
        .issue_token(&sid("2_MX40NTMyODc3Mn5-fg"), TokenOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, DialError::InvalidInput { field: Some(f), .. } if f == "session_id"),
        "{err:?}"
    );
    assert!(
        dialer
            .legacy_t1_token(&sid("2_MX40NTMyODc3Mn5-fg"), TokenOptions::default())
            .is_err()
    );
    // Ids that do not decode are accepted (best effort, as in the SDKs).
    assert!(
        dialer
            .issue_token(&sid("opaque-session"), TokenOptions::default())
            .is_ok()
    );
}

/// §9.2: the T1 token, data string, signature and token byte for byte.
#[test]
fn t1_token_vector() {
    let session = sid(SID);
    let options = TokenOptions {
        role: Role::Moderator,
        data: Some(ConnectionData::new(r#"{"name":"value"}"#).unwrap()),
        ..TokenOptions::default()
    };
    let fields = T1Fields {
        session: &session,
        options: &options,
        create_time: 1_424_221_013,
        nonce: 0.394_260_988_105_088_5,
        expire_time: 1_424_307_413,
    };
    assert_eq!(
        fields.data_string(),
        "session_id=1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4&create_time=1424221013&nonce=0.3942609881050885&role=moderator&expire_time=1424307413&connection_data=%7B%22name%22%3A%22value%22%7D"
    );
    let token = fields.sign(KEY, SECRET.as_bytes());
    assert_eq!(
        token.expose_secret(),
        "T1==cGFydG5lcl9pZD0xMjM0NTYmc2lnPWRmOTRhNjQ1NTlhY2MwNjFkN2EzNzUyYTZmYzY5NDkzZTkzOGMxOTE6c2Vzc2lvbl9pZD0xX01YNHhNak0wTlRaLWZsTmhkQ0JOWVhJZ01UVWdNVFE2TkRJNk1qTWdVRVJVSURJd01UUi1NQzQwT1RBeE16QXlOWDQmY3JlYXRlX3RpbWU9MTQyNDIyMTAxMyZub25jZT0wLjM5NDI2MDk4ODEwNTA4ODUmcm9sZT1tb2RlcmF0b3ImZXhwaXJlX3RpbWU9MTQyNDMwNzQxMyZjb25uZWN0aW9uX2RhdGE9JTdCJTIybmFtZSUyMiUzQSUyMnZhbHVlJTIyJTdE"
    );
    let inner = String::from_utf8(STANDARD.decode(&token.expose_secret()[4..]).unwrap()).unwrap();
    assert!(inner.starts_with("partner_id=123456&sig=df94a64559acc061d7a3752a6fc69493e938c191:"));
    assert_eq!(token.expires_at(), 1_424_307_413);
}

/// The dialer's own T1 tokens verify the way the SDK helpers verify them: split on the
/// first `:` and recompute the HMAC over the data string.
#[test]
fn legacy_t1_token_from_dialer_verifies() {
    let dialer = project_dialer();
    let options = TokenOptions {
        data: Some(ConnectionData::new("sip=true name=A&B").unwrap()),
        ..TokenOptions::default()
    };
    let token = dialer.legacy_t1_token(&sid(SID), options).unwrap();
    let inner = String::from_utf8(STANDARD.decode(&token.expose_secret()[4..]).unwrap()).unwrap();
    let (head, data) = inner.split_once(':').unwrap();
    assert!(
        data.contains("connection_data=sip%3Dtrue%20name%3DA%26B"),
        "{data}"
    );
    assert!(data.contains("role=publisher"));
    let sig = head.strip_prefix("partner_id=123456&sig=").unwrap();
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        SECRET.as_bytes(),
    );
    let expected: String = aws_lc_rs::hmac::sign(&key, data.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig, expected);
    let now = UNIX_EPOCH.elapsed().unwrap().as_secs();
    assert!((now + 86_300..=now + 86_500).contains(&token.expires_at()));

    // A T1 token is refused for application credentials.
    let app = OpenTokDialer::builder(
        Credentials::application(
            sipdial_testing::TEST_APPLICATION_ID,
            sipdial_testing::TEST_PRIVATE_KEY_PEM,
        )
        .unwrap(),
    )
    .build()
    .unwrap();
    assert!(matches!(
        app.legacy_t1_token(&sid("opaque"), TokenOptions::default()),
        Err(DialError::Config { .. })
    ));
}

/// §9.4: the REST JWT in sipdial's layout, byte for byte.
#[test]
fn rest_jwt_vector() {
    let creds = Credentials::project(KEY, SECRET);
    let claims = RestClaims {
        iss: KEY,
        ist: "project",
        iat: 1_700_000_000,
        exp: 1_700_000_300,
        jti: "00000000-0000-4000-8000-000000000000".to_owned(),
        application_id: None,
    };
    assert_eq!(
        creds.sign_rest_jwt(&claims).unwrap(),
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxMjM0NTYiLCJpc3QiOiJwcm9qZWN0IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDAsImp0aSI6IjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMCJ9.4IY4SUvzRfMM40ffXUqi9WbI6YXHr001jNJ028WLdFA"
    );
    // RestClaims::new back-dates iat by 60 s and expires 300 s after now.
    let c = RestClaims::new(&creds, 1_700_000_060, "j".into());
    assert_eq!(
        (c.iat, c.exp, c.iss, c.ist),
        (1_700_000_000, 1_700_000_360, KEY, "project")
    );
    assert_eq!(c.application_id, None);
}

/// §9.3: the production-cassette REST JWT verifies with the same secret (its header
/// layout differs from sipdial's, so it is checked by signature, not by bytes).
#[test]
fn cassette_rest_jwt_verifies() {
    let token = "eyJpc3QiOiJwcm9qZWN0IiwiYWxnIjoiSFMyNTYifQ.eyJpc3MiOiIxMjM0NTYiLCJpYXQiOjE0OTI1MTA2NjAsImV4cCI6MTQ5MjUxMDk2MH0.BplMVhJWx4ld7KLKXqEmow6MjNPPFw9W8IHCMfeb120";
    let (message, sig) = token.rsplit_once('.').unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.encode(tag.as_ref()), sig);
}

/// §9.5: the client JWT signature segment, through the claims the dialer uses; and the
/// dialer's own tokens carry those claims, HS256-signed with the secret.
#[test]
fn client_jwt_vector_and_dialer_tokens() {
    let session = sid(SID);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let options = TokenOptions {
        expiry: Some(TokenExpiry::at_from(1_700_086_400, now).unwrap()),
        ..TokenOptions::default()
    };
    let claims = ClientTokenClaims::new(KEY, &session, &options, 1_700_000_000, 0.5);
    let token = claims.sign_hs256(SECRET.as_bytes()).unwrap();
    assert_eq!(
        token.expose_secret().rsplit('.').next().unwrap(),
        "gZ7sFfqW-FKimDd_rlEb6iBEix9h6RL5yROvljYBBN8"
    );

    let dialer = project_dialer();
    let issued = dialer
        .issue_token(&session, TokenOptions::default())
        .unwrap();
    let payload = issued.expose_secret().split('.').nth(1).unwrap();
    let decoded: ClientTokenClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(decoded.iss, KEY);
    assert_eq!(decoded.scope, "session.connect");
    assert_eq!(decoded.exp, decoded.iat + 86_400);
    assert_eq!(decoded.role, "publisher");
    assert_eq!(decoded.initial_layout_class_list, "");
    assert_eq!(issued.expires_at(), decoded.exp);
    let (message, sig) = issued.expose_secret().rsplit_once('.').unwrap();
    assert!(message.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.encode(tag.as_ref()), sig);
}
