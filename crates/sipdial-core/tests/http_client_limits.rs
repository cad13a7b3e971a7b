//! Limits that new rooms cannot dodge: per client (principal or address), per target
//! and in total, through the Tower service.

mod http_support;

use http::{Method, header};
use http_support::*;
use serde_json::{Value, json};
use sipdial_core::api::{ClientAddr, Principal, TrustedProxies};
use sipdial_core::fake::Operation;

/// Who a request comes from: a peer address, and optionally a forwarded-for header and
/// a principal.
#[derive(Clone, Copy)]
struct From<'a> {
    peer: &'a str,
    xff: Option<&'a str>,
    principal: Option<&'a str>,
}

const ANON: From<'static> = From {
    peer: "192.0.2.1",
    xff: None,
    principal: None,
};

fn from(peer: &str) -> From<'_> {
    From {
        peer,
        xff: None,
        principal: None,
    }
}

async fn send_from(
    f: &Fixture,
    who: From<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Res {
    let mut req = request(method, path, body);
    req.extensions_mut()
        .insert(ClientAddr(format!("{}:40000", who.peer).parse().unwrap()));
    if let Some(xff) = who.xff {
        req.headers_mut()
            .insert("x-forwarded-for", xff.parse().unwrap());
    }
    if let Some(p) = who.principal {
        req.extensions_mut().insert(Principal::new(p).unwrap());
    }
    send_req(&f.api, req).await
}

async fn session_from(f: &Fixture, who: From<'_>, room: &str) -> String {
    let res = send_from(
        f,
        who,
        Method::POST,
        "/sip/session",
        Some(json!({ "room": room })),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()["sessionId"].as_str().unwrap().to_owned()
}

async fn dial_from(f: &Fixture, who: From<'_>, session: &str) -> Res {
    send_from(
        f,
        who,
        Method::POST,
        "/sip/dial",
        Some(json!({ "sessionId": session })),
    )
    .await
}

/// Dials `rooms` × `per_room` from `who`; the calls placed and the first refusal's code
/// that is not the session's own.
async fn spread(
    f: &Fixture,
    who: From<'_>,
    rooms: usize,
    per_room: usize,
) -> (Vec<String>, Option<Res>) {
    let mut placed = Vec::new();
    let mut refused = None;
    for r in 0..rooms {
        let s = session_from(f, who, &format!("{}-{r}", who.peer)).await;
        for _ in 0..per_room {
            let res = dial_from(f, who, &s).await;
            if res.status == 201 {
                placed.push(res.json()["id"].as_str().unwrap().to_owned());
            } else if refused.is_none() && res.code() != "too_many_calls" {
                refused = Some(res);
            }
        }
    }
    (placed, refused)
}

#[tokio::test]
async fn the_total_limit_alone_bounds_ten_rooms_of_three_dials() {
    let f = fixture_with(|b| {
        b.max_active_calls_per_client(1000)
            .client_dials_per_minute(1000)
            .client_sessions_per_minute(100)
    });
    let (placed, refused) = spread(&f, ANON, 10, 3).await;
    assert_eq!(placed.len(), 20, "the default total of live calls");
    let res = refused.expect("the total limit refused");
    assert_eq!(res.assert_error(429), "total_too_many_calls");
    assert_eq!(res.headers[header::RETRY_AFTER], "30");
    assert_eq!(f.fake.count(Operation::Dial), 20);
    // An ended call frees its slot in the total.
    let id = &placed[0];
    let res = send_from(&f, ANON, Method::DELETE, &format!("/sip/calls/{id}"), None).await;
    assert_eq!(res.status, 204);
    let s = session_from(&f, ANON, "after").await;
    assert_eq!(dial_from(&f, ANON, &s).await.status, 201);
    assert_eq!(
        dial_from(&f, ANON, &s).await.assert_error(429),
        "total_too_many_calls"
    );
}

#[tokio::test]
async fn the_client_limit_alone_bounds_ten_rooms_of_three_dials() {
    let f = fixture_with(|b| {
        b.max_active_calls_total(1000)
            .dials_per_minute_total(1000)
            .client_sessions_per_minute(100)
    });
    let (placed, refused) = spread(&f, ANON, 10, 3).await;
    assert_eq!(placed.len(), 5, "the default live calls per client");
    assert_eq!(refused.unwrap().assert_error(429), "client_too_many_calls");
    // Another address has its own allowance; the first one gets a slot back when a
    // call ends.
    let (other, _) = spread(&f, from("192.0.2.2"), 1, 2).await;
    assert_eq!(other.len(), 2);
    let id = &placed[0];
    assert_eq!(
        send_from(&f, ANON, Method::DELETE, &format!("/sip/calls/{id}"), None)
            .await
            .status,
        204
    );
    let s = session_from(&f, ANON, "again").await;
    assert_eq!(dial_from(&f, ANON, &s).await.status, 201);
}

#[tokio::test]
async fn the_client_dial_rate_counts_every_room() {
    let f = fixture_with(|b| {
        b.max_active_calls_total(1000)
            .dials_per_minute_total(1000)
            .client_sessions_per_minute(100)
    });
    for r in 0..5 {
        let s = session_from(&f, ANON, &format!("rate-{r}")).await;
        for _ in 0..2 {
            let res = dial_from(&f, ANON, &s).await;
            assert_eq!(res.status, 201);
            let id = res.json()["id"].as_str().unwrap().to_owned();
            let res = send_from(&f, ANON, Method::DELETE, &format!("/sip/calls/{id}"), None).await;
            assert_eq!(res.status, 204);
        }
    }
    let s = session_from(&f, ANON, "rate-last").await;
    let res = dial_from(&f, ANON, &s).await;
    assert_eq!(res.assert_error(429), "client_dial_rate_limited");
    let after: u64 = res.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&after), "{after}");
}

#[tokio::test]
async fn a_session_flood_is_429_and_joining_a_known_room_is_not_counted() {
    let f = fixture_with(|b| b.client_sessions_per_minute(3));
    for r in 0..3 {
        session_from(&f, ANON, &format!("flood-{r}")).await;
    }
    let res = send_from(
        &f,
        ANON,
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "flood-x" })),
    )
    .await;
    assert_eq!(res.assert_error(429), "client_session_rate_limited");
    assert!(res.headers.contains_key(header::RETRY_AFTER));
    session_from(&f, ANON, "flood-0").await;
    session_from(&f, from("192.0.2.9"), "flood-x").await;
    assert_eq!(f.fake.count(Operation::CreateSession), 4);
}

#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let untrusted = fixture_with(|b| b.client_sessions_per_minute(1));
    let spoof = |xff| From {
        peer: "192.0.2.1",
        xff: Some(xff),
        principal: None,
    };
    session_from(&untrusted, spoof("203.0.113.1"), "a").await;
    // A fresh forwarded address from an untrusted peer is the same client.
    let res = send_from(
        &untrusted,
        spoof("203.0.113.2"),
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "b" })),
    )
    .await;
    assert_eq!(res.assert_error(429), "client_session_rate_limited");

    let proxied = fixture_with(|b| {
        b.client_sessions_per_minute(1)
            .trusted_proxies(TrustedProxies::parse(["192.0.2.0/24"]).unwrap())
    });
    session_from(&proxied, spoof("203.0.113.1"), "a").await;
    session_from(&proxied, spoof("203.0.113.2"), "b").await;
    let res = send_from(
        &proxied,
        spoof("203.0.113.2"),
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "c" })),
    )
    .await;
    assert_eq!(res.assert_error(429), "client_session_rate_limited");
}

#[tokio::test]
async fn principals_are_counted_apart_from_their_address() {
    let f = fixture_with(|b| b.client_sessions_per_minute(1));
    let user = |p| From {
        peer: "192.0.2.1",
        xff: None,
        principal: Some(p),
    };
    session_from(&f, user("alice"), "a").await;
    session_from(&f, user("bob"), "b").await;
    session_from(&f, ANON, "c").await;
    let res = send_from(
        &f,
        user("alice"),
        Method::POST,
        "/sip/session",
        Some(json!({ "room": "d" })),
    )
    .await;
    assert_eq!(res.assert_error(429), "client_session_rate_limited");
}

#[tokio::test]
async fn a_targets_live_calls_are_limited_across_clients() {
    use sipdial_core::SipUri;
    use sipdial_core::api::SipTarget;
    let f = fixture_with(|b| {
        b.target(
            SipTarget::new("line", SipUri::new("sip:line@pbx.example.com").unwrap())
                .max_active_calls(2),
        )
    });
    let mut ids = Vec::new();
    for peer in ["192.0.2.1", "192.0.2.2"] {
        let s = session_from(&f, from(peer), peer).await;
        let res = send_from(
            &f,
            from(peer),
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": s, "target": "line" })),
        )
        .await;
        assert_eq!(res.status, 201);
        ids.push(res.json()["id"].as_str().unwrap().to_owned());
    }
    let s = session_from(&f, from("192.0.2.3"), "third").await;
    let to_line = json!({ "sessionId": s, "target": "line" });
    let res = send_from(
        &f,
        from("192.0.2.3"),
        Method::POST,
        "/sip/dial",
        Some(to_line.clone()),
    )
    .await;
    assert_eq!(res.assert_error(429), "target_too_many_calls");
    assert_eq!(dial_from(&f, from("192.0.2.3"), &s).await.status, 201);
    let id = &ids[0];
    assert_eq!(
        send_from(
            &f,
            from("192.0.2.1"),
            Method::DELETE,
            &format!("/sip/calls/{id}"),
            None
        )
        .await
        .status,
        204
    );
    let res = send_from(
        &f,
        from("192.0.2.3"),
        Method::POST,
        "/sip/dial",
        Some(to_line),
    )
    .await;
    assert_eq!(res.status, 201);
}

#[test]
fn zero_limits_are_refused() {
    for (name, b) in [
        (
            "max_active_calls_per_client",
            builder(&fake()).max_active_calls_per_client(0),
        ),
        (
            "client_dials_per_minute",
            builder(&fake()).client_dials_per_minute(0),
        ),
        (
            "client_sessions_per_minute",
            builder(&fake()).client_sessions_per_minute(0),
        ),
        (
            "max_active_calls_total",
            builder(&fake()).max_active_calls_total(0),
        ),
        (
            "dials_per_minute_total",
            builder(&fake()).dials_per_minute_total(0),
        ),
    ] {
        let e = b.build().unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
    }
}
