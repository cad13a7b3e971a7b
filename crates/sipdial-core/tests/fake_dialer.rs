//! The fake as a downstream crate sees it: only its public surface, shared as
//! `Arc<dyn SipDialer>` while the test keeps a concrete handle.
#![cfg(feature = "fake")]

use std::sync::Arc;
use std::time::Duration;

use sipdial_core::fake::{FakeDialer, Operation, Recorded, Script};
use sipdial_core::{
    DialError, DialRequest, Dtmf, DtmfTarget, SessionOptions, SipDialer, SipUri, TokenOptions,
};

fn assert_shareable<T: Send + Sync + std::fmt::Debug + 'static>() {}

#[test]
fn public_types_are_shareable() {
    assert_shareable::<FakeDialer>();
    assert_shareable::<Operation>();
    assert_shareable::<Script>();
    assert_shareable::<Recorded>();
}

#[tokio::test]
async fn a_whole_call_through_the_plugin_point() {
    let fake = Arc::new(FakeDialer::new());
    let dialer: Arc<dyn SipDialer> = fake.clone();

    let sid = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap();
    let token = dialer.issue_token(&sid, TokenOptions::default()).unwrap();
    let uri = SipUri::new("sip:support@pbx.example.com;transport=tls").unwrap();
    let call = dialer
        .dial(DialRequest::new(sid.clone(), token, uri))
        .await
        .unwrap();
    assert_eq!(fake.active_calls(), vec![call.clone()]);

    let streams = dialer.list_streams(&sid).await.unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].id, call.stream_id);
    assert_eq!(streams[0].video_type, None);

    dialer
        .play_dtmf(
            &DtmfTarget::Connection(sid.clone(), call.connection_id.clone()),
            &Dtmf::new("1234#").unwrap(),
        )
        .await
        .unwrap();
    dialer.force_mute(&sid, &call.stream_id).await.unwrap();
    assert!(fake.is_muted(&call.stream_id));

    dialer.hang_up(&sid, &call.connection_id).await.unwrap();
    assert!(fake.active_calls().is_empty());
    assert_eq!(
        dialer.hang_up(&sid, &call.connection_id).await,
        Err(DialError::not_found("connection"))
    );

    let ops: Vec<Operation> = fake.recorded().iter().map(|r| r.op).collect();
    assert_eq!(
        ops,
        [
            Operation::CreateSession,
            Operation::IssueToken,
            Operation::Dial,
            Operation::ListStreams,
            Operation::PlayDtmf,
            Operation::ForceMute,
            Operation::HangUp,
            Operation::HangUp,
        ]
    );
}

#[tokio::test]
async fn relayed_session_refuses_dial_and_scripts_reach_through_dyn() {
    let fake = Arc::new(FakeDialer::builder().api_key("45328772").build());
    let dialer: Arc<dyn SipDialer> = fake.clone();
    assert_eq!(dialer.platform().api_key, "45328772");

    let relayed = fake.create_relayed_session();
    let token = dialer
        .issue_token(&relayed, TokenOptions::default())
        .unwrap();
    let uri = SipUri::new("sip:a@example.com").unwrap();
    let err = dialer
        .dial(DialRequest::new(relayed, token, uri))
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Conflict { .. }), "{err:?}");

    fake.script_once(
        Operation::CreateSession,
        Script::Fail(DialError::Upstream {
            status: 500,
            code: Some(500),
            message: None,
        }),
    );
    let err = dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_transient());

    fake.script_always(
        Operation::CreateSession,
        Script::Delay(Duration::from_secs(5)),
    );
    let slow = tokio::time::timeout(
        Duration::from_millis(20),
        dialer.create_session(SessionOptions::default()),
    )
    .await;
    assert!(slow.is_err());
    fake.clear_scripts();
    dialer
        .create_session(SessionOptions::default())
        .await
        .unwrap();
    assert_eq!(fake.count(Operation::CreateSession), 3);
}
