//! A full run of every operation, both credential kinds, successes and failures, with all
//! tracing output captured: no secret, private key, token, REST JWT or SIP password may
//! appear in it, nor in any error or `Debug` string.
//!
//! One test in this binary, because it installs the global subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{KINDS, fake};
use sipdial_core::{
    ConnectionData, DialRequest, Dtmf, DtmfTarget, SessionOptions, SipAuth, SipDialer, SipUri,
    TokenOptions,
};
use sipdial_testing::{Fault, FaultRule, TEST_API_SECRET, TEST_PRIVATE_KEY_PEM};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

const SIP_PASSWORD: &str = "sip-password-7f3a9c";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    let logs = Buffer::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .finish(),
    )
    .unwrap();

    let fake = fake().await;
    let mut outputs: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();

    for kind in KINDS {
        let dialer = kind
            .builder(&fake)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        outputs.push(format!("{dialer:?} {:?}", dialer.credentials()));
        let sid = dialer
            .create_session(SessionOptions::default())
            .await
            .unwrap();
        fake.add_client(sid.as_str(), None).unwrap();
        let token = dialer
            .issue_token(
                &sid,
                TokenOptions {
                    data: Some(ConnectionData::new("sip=true").unwrap()),
                    ..TokenOptions::default()
                },
            )
            .unwrap();
        tokens.push(token.expose_secret().to_owned());
        outputs.push(format!("{token:?}"));
        let mut request = DialRequest::new(
            sid.clone(),
            token.clone(),
            SipUri::new("sip:user@sip.example.com;transport=tls").unwrap(),
        );
        request.auth = Some(SipAuth::new("alice", SIP_PASSWORD));
        outputs.push(format!("{request:?}"));
        let call = dialer.dial(request.clone()).await.unwrap();
        outputs.push(format!("{call:?}"));
        dialer
            .play_dtmf(&DtmfTarget::Session(sid.clone()), &Dtmf::new("1#").unwrap())
            .await
            .unwrap();
        dialer
            .play_dtmf(
                &DtmfTarget::Connection(sid.clone(), call.connection_id.clone()),
                &Dtmf::new("2").unwrap(),
            )
            .await
            .unwrap();
        dialer.force_mute(&sid, &call.stream_id).await.unwrap();
        outputs.push(format!("{:?}", dialer.list_streams(&sid).await.unwrap()));
        dialer.hang_up(&sid, &call.connection_id).await.unwrap();
        outputs.push(format!(
            "{:?}",
            dialer.hang_up(&sid, &call.connection_id).await
        ));

        // Failures, including a platform that echoes the token and password back.
        let echo = format!(
            r#"{{"code":500,"message":"refused token {} with password {SIP_PASSWORD}"}}"#,
            token.expose_secret()
        );
        for fault in [
            Fault::Status {
                status: 500,
                body: Some(echo.clone()),
                retry_after: None,
            },
            Fault::Status {
                status: 400,
                body: Some(echo),
                retry_after: None,
            },
            Fault::status(403),
            Fault::status(409),
            Fault::Status {
                status: 429,
                body: None,
                retry_after: Some(3),
            },
            Fault::Delay(Duration::from_secs(2)),
            Fault::DropConnection,
            Fault::MalformedJson,
        ] {
            fake.inject(FaultRule::new(fault).once());
            let err = dialer.dial(request.clone()).await.unwrap_err();
            outputs.push(format!("{err} {err:?}"));
            let api_err: sipdial_core::DialError = err;
            outputs.push(api_err.to_string());
        }
        // A token for another project's session: an error about the session, not the token.
        let foreign = sipdial_core::SessionId::new("2_MX40NTMyODc3Mn5-fg").unwrap();
        if let Err(e) = dialer.issue_token(&foreign, TokenOptions::default()) {
            outputs.push(format!("{e} {e:?}"));
        }
    }
    // Let the fake's delayed handler finish before reading what it recorded.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut rest_jwts: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| {
            r.header("x-opentok-auth")
                .or_else(|| r.header("authorization"))
                .map(str::to_owned)
        })
        .collect();
    rest_jwts.dedup();
    assert!(rest_jwts.len() > 20, "{}", rest_jwts.len());

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The capture works and carries what operators need.
    for expected in [
        "opentok.request",
        "operation=\"dial\"",
        "operation=\"hang_up\"",
        "method=POST",
        "method=DELETE",
        "status=200",
        "status=204",
        "status=404",
        "status=429",
        "latency_ms=",
        "platform request failed",
        "/dial",
    ] {
        assert!(
            logs.contains(expected),
            "missing {expected} in logs:\n{logs}"
        );
    }

    let mut secrets: Vec<String> = vec![TEST_API_SECRET.to_owned(), SIP_PASSWORD.to_owned()];
    secrets.extend(
        TEST_PRIVATE_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
            .map(str::to_owned),
    );
    secrets.extend(tokens);
    for jwt in &rest_jwts {
        secrets.push(jwt.trim_start_matches("Bearer ").to_owned());
        // The signature alone must not leak either.
        secrets.push(jwt.rsplit('.').next().unwrap().to_owned());
    }
    let everything = format!("{logs}\n{}", outputs.join("\n"));
    for s in &secrets {
        assert!(
            !everything.contains(s.as_str()),
            "a secret leaked ({} chars starting {:?})",
            s.len(),
            &s[..4]
        );
    }
    assert!(everything.contains("[REDACTED]"));
}
