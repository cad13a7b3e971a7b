//! Every type that holds a secret prints without it, in both `Debug` forms.

use sipdial_core::{ClientToken, DialRequest, SessionId, SipAuth, SipUri};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.secret-token-body.secret-signature";
const PASSWORD: &str = "correct-horse-battery-staple";

fn assert_redacted(value: &impl std::fmt::Debug, secrets: &[&str]) {
    for out in [format!("{value:?}"), format!("{value:#?}")] {
        for secret in secrets {
            assert!(!out.contains(secret), "secret leaked in {out}");
        }
        assert!(out.contains("REDACTED"), "no redaction marker in {out}");
    }
}

#[test]
fn client_token_debug_redacts() {
    let t = ClientToken::new(TOKEN, 1_700_000_000);
    assert_redacted(&t, &[TOKEN, "secret-token-body", "secret-signature"]);
    // still usable where it must be sent
    assert_eq!(t.expose_secret(), TOKEN);
    assert!(
        format!("{t:?}").contains("1700000000"),
        "expiry is not secret"
    );
}

#[test]
fn sip_auth_debug_redacts_password_only() {
    let a = SipAuth::new("alice", PASSWORD);
    assert_redacted(&a, &[PASSWORD]);
    assert!(format!("{a:?}").contains("alice"));
    assert_eq!(a.expose_password(), PASSWORD);
}

#[test]
fn dial_request_debug_redacts_token_and_password() {
    let mut req = DialRequest::new(
        SessionId::new("1_abc").unwrap(),
        ClientToken::new(TOKEN, 1),
        SipUri::new("sip:bob@example.com").unwrap(),
    );
    req.auth = Some(SipAuth::new("alice", PASSWORD));
    assert_redacted(&req, &[TOKEN, PASSWORD]);
    let out = format!("{req:#?}");
    assert!(out.contains("sip:bob@example.com") && out.contains("alice"));
    // a clone is no leakier
    assert_redacted(&req.clone(), &[TOKEN, PASSWORD]);
}

#[test]
fn secrets_in_collections_stay_redacted() {
    let v = vec![Some(SipAuth::new("a", PASSWORD))];
    assert!(!format!("{v:?}").contains(PASSWORD));
    let r: Result<ClientToken, ()> = Ok(ClientToken::new(TOKEN, 1));
    assert!(!format!("{r:#?}").contains(TOKEN));
}

#[cfg(feature = "fake")]
mod fake {
    use super::*;
    use sipdial_core::fake::{FakeDialer, Operation};
    use sipdial_core::{SessionOptions, SipDialer, TokenOptions};

    const API_SECRET: &str = "fake-project-secret-fake-project-secret";

    #[tokio::test]
    async fn fake_dialer_and_its_records_redact() {
        let f = FakeDialer::builder().api_secret(API_SECRET).build();
        assert_redacted(&f, &[API_SECRET]);
        assert_redacted(&FakeDialer::builder().api_secret(API_SECRET), &[API_SECRET]);
        assert_redacted(
            &FakeDialer::new(),
            &["1234567890abcdef1234567890abcdef1234567890"],
        );

        let sid = f.create_session(SessionOptions::default()).await.unwrap();
        let token = f.issue_token(&sid, TokenOptions::default()).unwrap();
        let jwt = token.expose_secret().to_owned();
        assert_redacted(&token, &[&jwt]);
        let mut req = DialRequest::new(sid, token, SipUri::new("sip:bob@example.com").unwrap());
        req.auth = Some(SipAuth::new("alice", PASSWORD));
        let call = f.dial(req).await.unwrap();
        assert_redacted(&f, &[API_SECRET, &jwt, PASSWORD]);
        let recorded = f.recorded();
        assert_eq!(f.count(Operation::Dial), 1);
        for out in [format!("{recorded:?}"), format!("{recorded:#?}")] {
            for secret in [API_SECRET, jwt.as_str(), PASSWORD] {
                assert!(!out.contains(secret), "secret leaked in {out}");
            }
        }
        assert!(!format!("{call:?}").contains(&jwt));
    }
}
