use super::*;
use serde_json::{Value, json};

fn parse(v: Value) -> PlatformEvent {
    PlatformEvent::from_callback_json(v.to_string().as_bytes()).unwrap()
}

#[test]
fn reads_every_documented_event() {
    let call = json!({ "id": "c1", "connectionId": "k1", "createdAt": 5 });
    let base = |event: &str| json!({ "sessionId": "1_s", "projectId": "123456", "event": event, "timestamp": 9, "call": call });
    let e = parse(base("callCreated"));
    assert_eq!(e.session_id.as_ref().unwrap().as_str(), "1_s");
    assert_eq!(e.timestamp, Some(Timestamp::from_millis(9)));
    let c = e.call().unwrap();
    assert_eq!(c.id.as_ref().unwrap().as_str(), "c1");
    assert_eq!(c.connection_id.as_ref().unwrap().as_str(), "k1");
    assert_eq!(c.created_at, Some(Timestamp::from_millis(5)));
    let mut u = base("callUpdated");
    u["state"] = json!("ON_HOLD");
    assert!(matches!(
        parse(u).kind,
        PlatformEventKind::CallUpdated {
            state: PlatformCallState::OnHold,
            ..
        }
    ));
    let mut d = base("callDestroyed");
    d["reason_code"] = json!("486");
    d["reason_message"] = json!("Busy Here");
    match parse(d).kind {
        PlatformEventKind::CallDestroyed {
            reason_code,
            reason_message,
            ..
        } => {
            assert_eq!(reason_code.as_deref(), Some("486"));
            assert_eq!(reason_message.as_deref(), Some("Busy Here"));
        }
        k => panic!("{k:?}"),
    }
    assert!(matches!(
        parse(base("muteForced")).kind,
        PlatformEventKind::MuteForced { .. }
    ));
    let conn = json!({ "event": "connectionDestroyed", "reason": "forceDisconnected",
                       "connection": { "id": "k1", "createdAt": 1, "data": "sip=true" } });
    assert!(matches!(
        parse(conn).kind,
        PlatformEventKind::ConnectionDestroyed { reason: Some(ref r), .. } if r == "forceDisconnected"
    ));
    let s =
        json!({ "event": "streamCreated", "stream": { "id": "st", "connection": { "id": "k1" } } });
    assert!(matches!(
        parse(s).kind,
        PlatformEventKind::StreamCreated {
            connection_id: Some(_),
            ..
        }
    ));
}

#[test]
fn unknown_events_fields_and_types_are_tolerated() {
    let e = parse(json!({ "event": "archiveStarted", "extra": [1, 2] }));
    assert_eq!(
        e.kind,
        PlatformEventKind::Other {
            event: "archiveStarted".into()
        }
    );
    // A known event without what identifies its subject reads as Other.
    let e = parse(json!({ "event": "callUpdated", "call": { "id": "c" } }));
    assert!(matches!(e.kind, PlatformEventKind::Other { .. }));
    // Wrong types read as absent; a numeric reason code is accepted.
    let e = parse(
        json!({ "event": "callDestroyed", "timestamp": "soon", "sessionId": 5,
                           "call": { "id": "c", "connectionId": 7 }, "reason_code": 404, "future": true }),
    );
    assert_eq!(e.timestamp, None);
    assert_eq!(e.session_id, None);
    match e.kind {
        PlatformEventKind::CallDestroyed {
            call, reason_code, ..
        } => {
            assert_eq!(call.connection_id, None);
            assert_eq!(reason_code.as_deref(), Some("404"));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(
        PlatformCallState::parse("SOMETHING_NEW"),
        PlatformCallState::Other("SOMETHING_NEW".into())
    );
    assert!(PlatformEvent::from_callback_json(b"[1]").is_err());
    assert!(PlatformEvent::from_callback_json(b"{").is_err());
}

#[test]
fn callback_json_round_trips() {
    let session = SessionId::new("1_s").unwrap();
    let call = CallRef::new(CallId::new("c").unwrap(), ConnectionId::new("k").unwrap());
    let events = [
        PlatformEventKind::CallCreated { call: call.clone() },
        PlatformEventKind::CallUpdated {
            call: call.clone(),
            state: PlatformCallState::Ringing,
        },
        PlatformEventKind::CallDestroyed {
            call: call.clone(),
            reason_code: Some("700".into()),
            reason_message: Some("Normal Clearing".into()),
        },
        PlatformEventKind::MuteForced { call },
        PlatformEventKind::ConnectionCreated {
            connection_id: ConnectionId::new("k").unwrap(),
        },
        PlatformEventKind::ConnectionDestroyed {
            connection_id: ConnectionId::new("k").unwrap(),
            reason: Some("clientDisconnected".into()),
        },
        PlatformEventKind::StreamCreated {
            stream_id: StreamId::new("s").unwrap(),
            connection_id: Some(ConnectionId::new("k").unwrap()),
        },
        PlatformEventKind::StreamDestroyed {
            stream_id: StreamId::new("s").unwrap(),
            connection_id: None,
            reason: Some("mediaStopped".into()),
        },
    ];
    for kind in events {
        let e = PlatformEvent::new(session.clone(), kind).at(Timestamp::from_millis(42));
        let back = parse(e.to_callback_json());
        assert_eq!(back, e);
    }
}

/// Reasons from a callback are kept clamped and cleaned, whatever arrives: they travel
/// into the call record, the event stream, the shared store and webhooks.
#[test]
fn reasons_are_clamped_and_cleaned() {
    let huge = format!("Busy\r\nHere\u{0}{}", "x".repeat(15_000));
    let e = parse(json!({
        "event": "callDestroyed", "sessionId": "s", "timestamp": 1,
        "call": { "id": "c", "connectionId": "k" },
        "reason_code": "4".repeat(5_000), "reason_message": huge,
    }));
    let PlatformEventKind::CallDestroyed {
        reason_code,
        reason_message,
        ..
    } = &e.kind
    else {
        panic!("{e:?}");
    };
    let message = reason_message.as_deref().unwrap();
    assert!(message.starts_with("Busy Here x"), "{message}");
    assert_eq!(message.chars().count(), callback_json::MAX_REASON_LEN);
    assert!(!message.chars().any(char::is_control));
    assert_eq!(
        reason_code.as_deref().unwrap().len(),
        callback_json::MAX_REASON_CODE_LEN
    );

    let e = parse(json!({
        "event": "connectionDestroyed", "sessionId": "s", "timestamp": 1,
        "connection": { "id": "k" }, "reason": format!("  \t{}\n", "y".repeat(900)),
    }));
    let PlatformEventKind::ConnectionDestroyed { reason, .. } = &e.kind else {
        panic!("{e:?}");
    };
    assert_eq!(
        reason.as_deref().unwrap(),
        "y".repeat(callback_json::MAX_REASON_LEN)
    );
    // Nothing but controls and spaces is no reason at all; short ones stay as they are.
    assert_eq!(callback_json::clean_text("\r\n\t ", 10), None);
    assert_eq!(
        callback_json::clean_text(" Busy  Here ", 200).as_deref(),
        Some("Busy Here")
    );
}

#[test]
fn odd_shapes_read_as_before() {
    // An array where an object belongs is no object, even though serde could read a
    // struct from it by position.
    let e = parse(json!({ "event": "callCreated", "call": ["c1", "k1"] }));
    assert!(matches!(e.kind, PlatformEventKind::Other { .. }));
    // A repeated key keeps its last value rather than refusing the delivery.
    let body = br#"{"event":"x","event":"muteForced","call":{"id":"c"}}"#;
    let e = PlatformEvent::from_callback_json(body).unwrap();
    assert!(matches!(e.kind, PlatformEventKind::MuteForced { .. }));
    // `reasonCode` is read only when `reason_code` is absent; `reasonMessage` also
    // when `reason_message` is unreadable.
    let destroyed = |extra: Value| {
        let mut v = json!({ "event": "callDestroyed", "call": { "id": "c" } });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        match parse(v).kind {
            PlatformEventKind::CallDestroyed {
                reason_code,
                reason_message,
                ..
            } => (reason_code, reason_message),
            k => panic!("{k:?}"),
        }
    };
    assert_eq!(
        destroyed(json!({ "reason_code": " ", "reasonCode": "486" })).0,
        None
    );
    assert_eq!(
        destroyed(json!({ "reasonCode": " 486 " })).0.as_deref(),
        Some("486")
    );
    assert_eq!(
        destroyed(json!({ "reason_message": 5, "reasonMessage": "Busy" }))
            .1
            .as_deref(),
        Some("Busy")
    );
}
