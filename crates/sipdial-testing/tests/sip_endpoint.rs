//! The SIP gateway emulation against the bundled answering endpoint, both on loopback:
//! a dial's call rings, is answered, hears DTMF and ends, all over real SIP.

mod common;
mod sip;

use std::time::Duration;

use serde_json::json;
use sip::{dial, fake_with_sip, hang_up, play_dtmf, progress, wait_for};
use sipdial_testing::SipConfig;
use sipdial_testing::sip::endpoint::{EndpointConfig, EndpointEvent, SipEndpoint};

const WITHIN: Duration = Duration::from_secs(5);

/// What the platform reports of a call that was answered and then hung up normally.
const ANSWERED_THEN_HUNG_UP: [&str; 5] = [
    "DIALING",
    "RINGING",
    "ACTIVE",
    "HANGUP",
    "destroyed:700:Normal Clearing",
];

fn quick() -> EndpointConfig {
    EndpointConfig::timing(Duration::from_millis(100), Duration::from_millis(300))
}

/// Waits until the endpoint reports `event`.
async fn wait_for_phone(phone: &SipEndpoint, event: EndpointEvent) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !phone.events().contains(&event) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {event:?} within {WITHIN:?}: {:?}",
            phone.events()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_call_rings_is_answered_hears_dtmf_and_our_hang_up_sends_bye() {
    let phone = SipEndpoint::start(quick()).await.unwrap();
    let fake = fake_with_sip(SipConfig::new()).await;
    let (session, connection, call) = dial(
        &fake,
        json!({"uri": phone.uri("alice"), "from": "15551230000@example.com"}),
    )
    .await;
    wait_for(&fake, &call, "ACTIVE", WITHIN).await;
    assert_eq!(fake.streams(&session).len(), 1);
    assert_eq!(play_dtmf(&fake, &session, &connection, "1#").await, 200);
    wait_for_phone(&phone, EndpointEvent::Dtmf('#')).await;
    assert_eq!(hang_up(&fake, &session, &connection).await, 204);
    wait_for_phone(&phone, EndpointEvent::Ended).await;
    let events = phone.events();
    assert_eq!(
        events[0],
        EndpointEvent::Invited {
            user: "alice".into(),
            from: "sip:15551230000@example.com".into()
        }
    );
    assert!(events.contains(&EndpointEvent::Dtmf('1')), "{events:?}");
    assert_eq!(progress(&fake, &call), ANSWERED_THEN_HUNG_UP);
}

#[tokio::test]
async fn a_busy_endpoint_ends_the_call_with_486() {
    let phone = SipEndpoint::start(quick()).await.unwrap();
    let fake = fake_with_sip(SipConfig::new()).await;
    let (session, _, call) = dial(&fake, json!({"uri": phone.uri("busy")})).await;
    wait_for(&fake, &call, "destroyed", WITHIN).await;
    assert_eq!(
        progress(&fake, &call),
        ["DIALING", "destroyed:486:Busy Here"]
    );
    assert!(fake.connections(&session).is_empty());
}

#[tokio::test]
async fn hanging_up_while_ringing_cancels_the_invite() {
    let phone = SipEndpoint::start(EndpointConfig::timing(
        Duration::from_millis(50),
        Duration::from_secs(30),
    ))
    .await
    .unwrap();
    let fake = fake_with_sip(SipConfig::new()).await;
    let (session, connection, call) = dial(&fake, json!({"uri": phone.uri("bob")})).await;
    wait_for(&fake, &call, "RINGING", WITHIN).await;
    assert_eq!(hang_up(&fake, &session, &connection).await, 204);
    wait_for_phone(&phone, EndpointEvent::Ended).await;
    assert!(!phone.events().contains(&EndpointEvent::Answered));
    assert_eq!(
        progress(&fake, &call),
        ["DIALING", "RINGING", "destroyed:487:Request Terminated"]
    );
}

#[tokio::test]
async fn an_unanswered_call_is_cancelled_at_the_ring_limit() {
    let phone = SipEndpoint::start(EndpointConfig::timing(
        Duration::from_millis(50),
        Duration::from_secs(30),
    ))
    .await
    .unwrap();
    let fake = fake_with_sip(SipConfig::new().ring_timeout(Duration::from_millis(400))).await;
    let (_, _, call) = dial(&fake, json!({"uri": phone.uri("carol")})).await;
    wait_for(&fake, &call, "destroyed", WITHIN).await;
    assert_eq!(
        progress(&fake, &call),
        ["DIALING", "RINGING", "destroyed:408:Request Timeout"]
    );
}

#[tokio::test]
async fn an_unemulated_transport_fails_the_call_with_a_clear_reason() {
    let fake = fake_with_sip(SipConfig::new()).await;
    let (_, _, call) = dial(&fake, json!({"uri": "sip:x@127.0.0.1:9;transport=ws"})).await;
    wait_for(&fake, &call, "destroyed", WITHIN).await;
    let p = progress(&fake, &call);
    assert!(
        p[1].starts_with("destroyed:503:transport WS is not emulated"),
        "{p:?}"
    );
}

#[tokio::test]
async fn a_tls_uri_is_placed_over_tcp_through_the_route() {
    let phone = SipEndpoint::start(quick()).await.unwrap();
    let fake = fake_with_sip(SipConfig::new().route(phone.local_addr())).await;
    let (_, _, call) = dial(
        &fake,
        json!({"uri": "sip:agent@pbx.example.com;transport=tls"}),
    )
    .await;
    wait_for(&fake, &call, "ACTIVE", WITHIN).await;
    assert!(matches!(&phone.events()[0], EndpointEvent::Invited { user, .. } if user == "agent"));
}

#[tokio::test]
async fn ending_the_connection_by_hand_also_ends_the_sip_call() {
    let phone = SipEndpoint::start(quick()).await.unwrap();
    let fake = fake_with_sip(SipConfig::new()).await;
    let (session, connection, call) = dial(&fake, json!({"uri": phone.uri("frank")})).await;
    wait_for(&fake, &call, "ACTIVE", WITHIN).await;
    assert!(fake.end_connection(&session, &connection));
    wait_for_phone(&phone, EndpointEvent::Ended).await;
    assert_eq!(progress(&fake, &call), ANSWERED_THEN_HUNG_UP);
}

#[tokio::test]
async fn a_noanswer_endpoint_rings_past_its_answer_time_until_cancelled() {
    let phone = SipEndpoint::start(quick()).await.unwrap();
    let fake = fake_with_sip(SipConfig::new()).await;
    let (session, connection, call) = dial(&fake, json!({"uri": phone.uri("noanswer")})).await;
    wait_for(&fake, &call, "RINGING", WITHIN).await;
    // Well past the 300 ms at which any other user is answered.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        !phone.events().contains(&EndpointEvent::Answered),
        "{:?}",
        phone.events()
    );
    assert_eq!(hang_up(&fake, &session, &connection).await, 204);
    wait_for(&fake, &call, "destroyed", WITHIN).await;
    assert_eq!(
        progress(&fake, &call),
        ["DIALING", "RINGING", "destroyed:487:Request Terminated"]
    );
}
