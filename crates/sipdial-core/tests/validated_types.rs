//! Every validated type at its boundaries: the longest accepted value and one more, the
//! character set, injection attempts, and serde going through the same check as `new`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sipdial_core::{
    CallId, ConnectionData, ConnectionId, Dtmf, LayoutClasses, MAX_CONNECTION_DATA_LEN,
    MAX_DTMF_LEN, MAX_LAYOUT_CLASSES_LEN, MAX_RESOURCE_ID_LEN, MAX_ROOM_LEN, MAX_SESSION_ID_LEN,
    MAX_SIP_FROM_LEN, MAX_SIP_HEADER_VALUE_LEN, MAX_SIP_HEADERS, MAX_SIP_HEADERS_BYTES,
    MAX_SIP_URI_LEN, MAX_TOKEN_TTL, Role, Room, SessionId, SipFrom, SipHeaders, SipUri, StreamId,
    TokenExpiry, ValidationError,
};

/// Inputs that try to break out of a header line or a path segment.
const INJECTIONS: &[&str] = &["\r", "\n", "\r\n", "\0", "\u{7f}", "\u{85}"];

/// A rejected value's message must not echo a line break back into a log line.
fn assert_clean_message(e: &ValidationError) {
    let msg = e.to_string();
    assert!(
        !msg.contains('\r') && !msg.contains('\n') && !msg.contains('\0'),
        "{msg:?}"
    );
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Checks that `T` accepts `good` and refuses `bad` through `new`, `FromStr`,
/// `TryFrom` and serde alike, and that a good value round-trips through JSON.
macro_rules! same_check_everywhere {
    ($t:ty, good: [$($good:expr),* $(,)?], bad: [$($bad:expr),* $(,)?]) => {{
        for good in [$(String::from($good)),*] {
            let v = <$t>::new(good.clone()).unwrap_or_else(|e| panic!("{good:?}: {e}"));
            assert_eq!(v.as_str(), good);
            assert_eq!(v.to_string(), good);
            assert_eq!(good.parse::<$t>().unwrap(), v);
            assert_eq!(<$t>::try_from(good.as_str()).unwrap(), v);
            let back: $t = serde_json::from_str(&json(&good)).unwrap();
            assert_eq!(back, v);
            assert_eq!(serde_json::to_string(&v).unwrap(), json(&good));
        }
        for bad in [$(String::from($bad)),*] {
            let e = <$t>::new(bad.clone()).expect_err(&format!("{bad:?} must be refused"));
            assert_clean_message(&e);
            assert!(bad.parse::<$t>().is_err(), "{bad:?}");
            assert!(<$t>::try_from(bad.clone()).is_err(), "{bad:?}");
            assert!(
                serde_json::from_str::<$t>(&json(&bad)).is_err(),
                "serde must refuse {bad:?}"
            );
        }
    }};
}

// ---------------------------------------------------------------- ids

#[test]
fn session_id_boundaries() {
    same_check_everywhere!(
        SessionId,
        good: [
            "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
            "a",
            "a.b",
            "A-Z_a~z.0",
            "x".repeat(MAX_SESSION_ID_LEN),
        ],
        bad: [
            "",
            "x".repeat(MAX_SESSION_ID_LEN + 1),
            ".",
            "..",
            "...",
            "a/b",
            "../x",
            "a%2Fb",
            "a?b",
            "a#b",
            "a b",
            "a+b",
            "sessión",
            "a\r\nb",
            "a\0",
        ]
    );
    assert_eq!(MAX_SESSION_ID_LEN, 255);
}

#[test]
fn resource_id_boundaries() {
    assert_eq!(MAX_RESOURCE_ID_LEN, 128);
    same_check_everywhere!(
        ConnectionId,
        good: ["4072fe0f-d499-4f2f-8237-64f5a9d936f5", "c".repeat(MAX_RESOURCE_ID_LEN)],
        bad: ["", "c".repeat(MAX_RESOURCE_ID_LEN + 1), "a/b", "..", "a b", "a\nb"]
    );
    same_check_everywhere!(
        StreamId,
        good: ["STREAMID", "s".repeat(MAX_RESOURCE_ID_LEN)],
        bad: ["", "s".repeat(MAX_RESOURCE_ID_LEN + 1), "s/..", ".", "a;b", "a\rb"]
    );
    same_check_everywhere!(
        CallId,
        good: ["CONFERENCEID", "k".repeat(MAX_RESOURCE_ID_LEN)],
        bad: ["", "k".repeat(MAX_RESOURCE_ID_LEN + 1), "a?b", "a:b", "a\0"]
    );
}

#[test]
fn ids_refuse_every_injection_character() {
    for inj in INJECTIONS {
        let v = format!("abc{inj}def");
        assert!(SessionId::new(v.clone()).is_err(), "{v:?}");
        assert!(ConnectionId::new(v.clone()).is_err(), "{v:?}");
        assert!(StreamId::new(v.clone()).is_err(), "{v:?}");
        assert!(CallId::new(v).is_err());
    }
}

// ---------------------------------------------------------------- SIP URI

/// A `sip:` URI of exactly `len` bytes.
fn uri_of_len(len: usize) -> String {
    let fixed = "sip:".len() + "@example.com".len();
    format!("sip:{}@example.com", "u".repeat(len - fixed))
}

#[test]
fn sip_uri_boundaries() {
    assert_eq!(MAX_SIP_URI_LEN, 1024);
    assert_eq!(uri_of_len(MAX_SIP_URI_LEN).len(), 1024);
    same_check_everywhere!(
        SipUri,
        good: [
            "sip:alice@example.com",
            "sips:alice@example.com",
            "SIP:alice@example.com",
            "sip:+14155550101@sip.example.com:5061;transport=tls",
            "sip:alice@10.0.0.1:5060",
            "sip:alice@[2001:db8::1]:5060",
            "sip:alice@[::1]",
            "sip:siptesturl@tokbox.com",
            "sip:a.b-c_d!~*'()%20&=+$,?/@x.example.com;transport=tcp;lr",
            "sip:alice@example.com;maddr=10.0.0.1;user=phone",
            format!("sip:a@{}.com", "h".repeat(63)),
            uri_of_len(MAX_SIP_URI_LEN),
        ],
        bad: [
            "",
            uri_of_len(MAX_SIP_URI_LEN + 1),
            "alice@example.com",
            "tel:+14155550101",
            "http://example.com",
            "sip:",
            "sip:example.com",
            "sip:@example.com",
            "sip:alice@",
            "sip:alice@:5060",
            "sip:alice@example.com:0",
            "sip:alice@example.com:65536",
            "sip:alice@example.com:+80",
            "sip:alice@example.com:",
            "sip:alice@exa_mple.com",
            "sip:alice@-example.com",
            "sip:alice@example-.com",
            "sip:alice@example..com",
            format!("sip:a@{}.com", "h".repeat(64)),
            "sip:alice@[::1",
            "sip:alice@[::1]x",
            "sip:alice@[::1]]:5060",
            "sip:alice@[::1]:",
            "sip:alice@[not-v6]",
            "sip:alice@example.com;",
            "sip:alice@example.com;=x",
            "sip:alice@example.com?X-Foo=bar",
            "sip:alice@example.com;transport=tls?Route=x",
            "sip:al ice@example.com",
            "sip:alice@example.com\tx",
            "sip:alice@example.com ",
            " sip:alice@example.com",
            "sip:<alice>@example.com",
            "<sip:alice@example.com>",
            "sip:\"alice\"@example.com",
            "sip:al\\ice@example.com",
            "sip:alice;x@example.com",
            "sip:alicé@example.com",
        ]
    );
}

#[test]
fn sip_uri_refuses_crlf_and_nul_anywhere() {
    let base = "sip:alice@example.com;transport=tls";
    for inj in INJECTIONS {
        for at in [4, 9, 10, 21, base.len()] {
            let mut v = base.to_owned();
            v.insert_str(at, inj);
            let e = SipUri::new(v.clone()).expect_err(&format!("{v:?}"));
            assert_clean_message(&e);
            assert!(serde_json::from_str::<SipUri>(&json(&v)).is_err(), "{v:?}");
        }
    }
    // the classic header injection
    assert!(SipUri::new("sip:alice@example.com\r\nVia: SIP/2.0/UDP evil").is_err());
}

#[test]
fn sip_uri_tls_detection() {
    assert!(SipUri::new("sips:a@example.com").unwrap().is_tls());
    assert!(
        SipUri::new("sip:a@example.com;transport=tls")
            .unwrap()
            .is_tls()
    );
    assert!(
        SipUri::new("sip:a@example.com;TRANSPORT=TLS")
            .unwrap()
            .is_tls()
    );
    assert!(!SipUri::new("sip:a@example.com").unwrap().is_tls());
    assert!(
        !SipUri::new("sip:a@example.com;transport=tcp")
            .unwrap()
            .is_tls()
    );
}

// ---------------------------------------------------------------- SIP from

fn from_of_len(len: usize) -> String {
    format!("{}@example.com", "1".repeat(len - "@example.com".len()))
}

#[test]
fn sip_from_boundaries() {
    assert_eq!(MAX_SIP_FROM_LEN, 256);
    same_check_everywhere!(
        SipFrom,
        good: [
            "14155550101@example.com",
            "from@example.com",
            "+14155550101@10.0.0.1",
            "alice@example.com:5060",
            from_of_len(MAX_SIP_FROM_LEN),
        ],
        bad: [
            "",
            from_of_len(MAX_SIP_FROM_LEN + 1),
            "14155550101",
            "@example.com",
            "alice@",
            "alice@example.com;tag=1",
            "sip:alice@example.com",
            "\"Alice\" <alice@example.com>",
            "<alice@example.com>",
            "alice @example.com",
            "alice@exa mple.com",
        ]
    );
    for inj in INJECTIONS {
        let v = format!("14155550101@example.com{inj}To: x");
        assert!(SipFrom::new(v.clone()).is_err(), "{v:?}");
        assert!(serde_json::from_str::<SipFrom>(&json(&v)).is_err());
        let v = format!("1415{inj}5550101@example.com");
        assert!(SipFrom::new(v).is_err());
    }
}

// ---------------------------------------------------------------- SIP headers

#[test]
fn sip_header_names_are_rfc3261_tokens() {
    for good in [
        "X-Customer-Id",
        "X-A",
        "x",
        "Subject",
        "P-Asserted-Identity",
        "X.Y!%*_+`'~",
    ] {
        let mut h = SipHeaders::new();
        h.insert(good, "v")
            .unwrap_or_else(|e| panic!("{good:?}: {e}"));
        assert_eq!(h.get(good), Some("v"));
    }
    for bad in [
        "",
        "X Foo",
        "X-Foo:",
        "X:Foo",
        "X-Foo\r\nVia",
        "X-Foo\n",
        "X\0",
        "X-(a)",
        "X-<a>",
        "X-\"a\"",
        "X/a",
        "X@a",
        "X=a",
        "X;a",
        "Ẍ-a",
        "\t",
    ] {
        let e = SipHeaders::new()
            .insert(bad, "v")
            .expect_err(&format!("{bad:?}"));
        assert_clean_message(&e);
    }
}

/// A refusal names a header only when its name is plain (letters, digits, `-`, `_`,
/// `.`): RFC 3261 tokens also allow a backtick, which would end the message's quote
/// and let the caller's text shape it (found by the fuzzer's `api_request` target).
#[test]
fn a_refusal_quotes_a_header_name_only_when_it_is_plain() {
    let odd = "X-`odd'name";
    let mut long = SipHeaders::new();
    let refusals = [
        SipHeaders::new().insert(odd, "a\0b").unwrap_err(),
        long.insert(odd, "v".repeat(100_000)).unwrap_err(),
        {
            let mut twice = SipHeaders::new();
            twice.insert(odd, "v").unwrap();
            twice.insert(odd.to_ascii_uppercase(), "v").unwrap_err()
        },
    ];
    for e in refusals {
        let msg = e.to_string();
        assert!(!msg.contains("odd") && !msg.contains("ODD"), "{msg}");
        assert!(msg.contains("a header "), "{msg}");
    }
    let plain = SipHeaders::new().insert("X-Plain", "a\0b").unwrap_err();
    assert!(plain.to_string().contains("`X-Plain`"), "{plain}");
    // A plain but long name would swell the message (found by the fuzzer too).
    let long_name = format!("X-{}", "o".repeat(200));
    let e = SipHeaders::new().insert(long_name, "a\0b").unwrap_err();
    assert!(e.to_string().contains("a header "), "{e}");
}

#[test]
fn reserved_sip_headers_are_refused_in_any_case_and_compact_form() {
    let reserved = [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "Route",
        "Record-Route",
        "Authorization",
        "Proxy-Authorization",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Expires",
        "Allow",
        "Supported",
        "Require",
        "Proxy-Require",
        "Content-Encoding",
    ];
    // RFC 3261 §7.3.3 compact forms of reserved headers.
    let compact = ["v", "f", "t", "i", "m", "l", "c", "k", "e"];
    for name in reserved.iter().chain(compact.iter()) {
        for variant in [
            name.to_string(),
            name.to_ascii_lowercase(),
            name.to_ascii_uppercase(),
        ] {
            let e = SipHeaders::new()
                .insert(variant.clone(), "x")
                .expect_err(&format!("{variant} must be refused"));
            assert!(e.to_string().contains("SIP stack"), "{e}");
            let body = format!("{{{}:\"x\"}}", json(&variant));
            assert!(
                serde_json::from_str::<SipHeaders>(&body).is_err(),
                "serde must refuse {variant}"
            );
        }
    }
    // Look-alikes are ordinary custom headers.
    let mut h = SipHeaders::new();
    for ok in ["X-Via", "Via-X", "X-From", "Tos", "Contacts", "s"] {
        h.insert(ok, "x").unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn sip_header_values_refuse_line_breaks_and_nul() {
    for inj in INJECTIONS {
        for v in [
            format!("a{inj}b"),
            inj.to_string(),
            format!("ok{inj}Via: SIP/2.0/UDP evil"),
        ] {
            let e = SipHeaders::new()
                .insert("X-A", v.clone())
                .expect_err(&format!("{v:?}"));
            assert_clean_message(&e);
            let body = format!("{{\"X-A\":{}}}", json(&v));
            assert!(serde_json::from_str::<SipHeaders>(&body).is_err(), "{v:?}");
        }
    }
    let mut h = SipHeaders::new();
    h.insert("X-Tab", "a\tb").unwrap();
    h.insert("X-Empty", "").unwrap();
    h.insert("X-Utf8", "Zoë; q=\"1\" <x>").unwrap();
    assert_eq!(h.len(), 3);
}

#[test]
fn sip_header_value_length_boundary() {
    assert_eq!(MAX_SIP_HEADER_VALUE_LEN, 1024);
    let mut h = SipHeaders::new();
    h.insert("X-A", "v".repeat(MAX_SIP_HEADER_VALUE_LEN))
        .unwrap();
    assert!(
        SipHeaders::new()
            .insert("X-A", "v".repeat(MAX_SIP_HEADER_VALUE_LEN + 1))
            .is_err()
    );
}

#[test]
fn sip_header_count_boundary() {
    assert_eq!(MAX_SIP_HEADERS, 20);
    let mut h = SipHeaders::new();
    for i in 0..MAX_SIP_HEADERS {
        h.insert(format!("X-{i}"), "v").unwrap();
    }
    assert_eq!(h.len(), MAX_SIP_HEADERS);
    assert!(h.insert("X-one-more", "v").is_err());
    assert_eq!(h.len(), MAX_SIP_HEADERS, "a refused insert changes nothing");

    let map = |n: usize| {
        let entries: Vec<String> = (0..n).map(|i| format!("\"X-{i}\":\"v\"")).collect();
        format!("{{{}}}", entries.join(","))
    };
    assert_eq!(
        serde_json::from_str::<SipHeaders>(&map(MAX_SIP_HEADERS))
            .unwrap()
            .len(),
        MAX_SIP_HEADERS
    );
    assert!(serde_json::from_str::<SipHeaders>(&map(MAX_SIP_HEADERS + 1)).is_err());
}

#[test]
fn sip_header_total_size_boundary() {
    assert_eq!(MAX_SIP_HEADERS_BYTES, 4096);
    // Four headers, names "X-0".."X-3" (3 bytes each), values filling up to the limit.
    let fill = |total: usize| -> Result<SipHeaders, ValidationError> {
        let mut h = SipHeaders::new();
        let values = total - 4 * 3;
        for i in 0..4 {
            let len = values / 4 + usize::from(i < values % 4);
            h.insert(format!("X-{i}"), "v".repeat(len))?;
        }
        Ok(h)
    };
    let h = fill(MAX_SIP_HEADERS_BYTES).unwrap();
    let total: usize = h.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert_eq!(total, MAX_SIP_HEADERS_BYTES);
    assert!(fill(MAX_SIP_HEADERS_BYTES + 1).is_err());

    let json_of = |h: &SipHeaders| serde_json::to_string(h).unwrap();
    let good = json_of(&h);
    assert_eq!(serde_json::from_str::<SipHeaders>(&good).unwrap(), h);
    let over = good.replacen("\"v", "\"vv", 1);
    assert!(serde_json::from_str::<SipHeaders>(&over).is_err());
}

#[test]
fn sip_header_names_are_unique_case_insensitively() {
    let mut h = SipHeaders::new();
    h.insert("X-A", "1").unwrap();
    assert!(h.insert("x-a", "2").is_err());
    assert!(h.insert("X-A", "3").is_err());
    assert_eq!(h.get("X-a"), Some("1"));
    assert!(serde_json::from_str::<SipHeaders>(r#"{"X-A":"1","x-a":"2"}"#).is_err());
}

#[test]
fn sip_headers_merge_keeps_own_values() {
    let mut host = SipHeaders::new();
    host.insert("X-Tenant", "acme").unwrap();
    let mut caller = SipHeaders::new();
    caller.insert("x-tenant", "evil").unwrap();
    caller.insert("X-Ticket", "42").unwrap();
    host.merge_missing(&caller).unwrap();
    assert_eq!(host.get("X-Tenant"), Some("acme"));
    assert_eq!(host.get("X-Ticket"), Some("42"));
    assert_eq!(host.len(), 2);
}

// ---------------------------------------------------------------- DTMF

#[test]
fn dtmf_boundaries() {
    assert_eq!(MAX_DTMF_LEN, 64);
    same_check_everywhere!(
        Dtmf,
        good: ["0123456789*#p", "6", "1713", "p", "#", "1".repeat(MAX_DTMF_LEN)],
        bad: [
            "",
            "1".repeat(MAX_DTMF_LEN + 1),
            "12a",
            "P",
            "w",
            "A",
            "1 2",
            "1,2",
            "+1",
            "1-2",
            "١",
            "1\r\n",
            "1\0",
        ]
    );
}

// ---------------------------------------------------------------- Role

#[test]
fn role_parses_and_serialises_the_platform_spelling() {
    let all = [
        (Role::Publisher, "publisher"),
        (Role::Subscriber, "subscriber"),
        (Role::Moderator, "moderator"),
        (Role::PublisherOnly, "publisheronly"),
    ];
    for (role, s) in all {
        assert_eq!(role.as_str(), s);
        assert_eq!(role.to_string(), s);
        assert_eq!(s.parse::<Role>().unwrap(), role);
        assert_eq!(serde_json::to_string(&role).unwrap(), json(s));
        assert_eq!(serde_json::from_str::<Role>(&json(s)).unwrap(), role);
    }
    assert_eq!(Role::default(), Role::Publisher);
    for bad in [
        "",
        "Publisher",
        "PUBLISHER",
        "publisher_only",
        "publisherOnly",
        "PublisherOnly",
        "admin",
        " publisher",
        "publisher\n",
    ] {
        let e = bad.parse::<Role>().expect_err(bad);
        assert_clean_message(&e);
        assert!(serde_json::from_str::<Role>(&json(bad)).is_err(), "{bad:?}");
    }
    assert!(serde_json::from_str::<Role>("1").is_err());
}

// ---------------------------------------------------------------- connection data

#[test]
fn connection_data_boundaries() {
    assert_eq!(MAX_CONNECTION_DATA_LEN, 1000);
    same_check_everywhere!(
        ConnectionData,
        good: [
            "",
            "sip=true",
            r#"{"name":"value"}"#,
            "d".repeat(MAX_CONNECTION_DATA_LEN),
            // counted in characters: 1000 two-byte characters are 2000 bytes
            "é".repeat(MAX_CONNECTION_DATA_LEN),
        ],
        bad: [
            "d".repeat(MAX_CONNECTION_DATA_LEN + 1),
            "é".repeat(MAX_CONNECTION_DATA_LEN + 1),
        ]
    );
}

// ---------------------------------------------------------------- token expiry

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn token_expiry_boundaries() {
    let now = 1_700_000_000;
    let max = MAX_TOKEN_TTL.as_secs();
    assert_eq!(max, 30 * 24 * 3600);

    assert!(TokenExpiry::at_from(now - 1, at(now)).is_err(), "past");
    assert!(TokenExpiry::at_from(now, at(now)).is_err(), "now");
    assert!(TokenExpiry::at_from(0, at(now)).is_err());
    assert_eq!(
        TokenExpiry::at_from(now + 1, at(now)).unwrap().unix_secs(),
        now + 1
    );
    assert_eq!(
        TokenExpiry::at_from(now + max, at(now))
            .unwrap()
            .unix_secs(),
        now + max,
        "exactly 30 days"
    );
    let e = TokenExpiry::at_from(now + max + 1, at(now)).expect_err("30 days + 1s");
    assert_clean_message(&e);
    assert!(TokenExpiry::at_from(u64::MAX, at(now)).is_err());

    assert!(TokenExpiry::after_from(Duration::ZERO, at(now)).is_err());
    assert!(TokenExpiry::after_from(Duration::from_millis(999), at(now)).is_err());
    assert!(TokenExpiry::after_from(Duration::from_secs(1), at(now)).is_ok());
    assert!(TokenExpiry::after_from(MAX_TOKEN_TTL, at(now)).is_ok());
    assert!(TokenExpiry::after_from(MAX_TOKEN_TTL + Duration::from_secs(1), at(now)).is_err());
    assert!(TokenExpiry::after_from(Duration::MAX, at(now)).is_err());
}

#[test]
fn token_expiry_against_the_clock() {
    assert!(TokenExpiry::after(Duration::from_secs(60)).is_ok());
    assert!(TokenExpiry::after(MAX_TOKEN_TTL + Duration::from_secs(1)).is_err());
    assert!(TokenExpiry::at(1).is_err());
}

// ---------------------------------------------------------------- room

#[test]
fn room_boundaries() {
    assert_eq!(MAX_ROOM_LEN, 64);
    same_check_everywhere!(
        Room,
        good: ["default", "a", "Team-42_b.c", "r".repeat(MAX_ROOM_LEN)],
        bad: [
            "",
            "r".repeat(MAX_ROOM_LEN + 1),
            "a b",
            "a/b",
            "a~b",
            "a%20",
            "räum",
            "a\r\nb",
            "a\0",
        ]
    );
    assert_eq!(Room::default().as_str(), "default");
}

// ---------------------------------------------------------------- layout classes

#[test]
fn layout_classes_boundaries() {
    assert_eq!(MAX_LAYOUT_CLASSES_LEN, 1000);
    let ok = |v: Vec<String>| LayoutClasses::new(v).unwrap();
    assert_eq!(ok(vec![]).joined(), "");
    assert_eq!(
        ok(vec!["full".into(), "focus".into()]).joined(),
        "full focus"
    );
    ok(vec!["l".repeat(MAX_LAYOUT_CLASSES_LEN)]);
    assert!(LayoutClasses::new(vec!["l".repeat(MAX_LAYOUT_CLASSES_LEN + 1)]).is_err());
    // the joining space counts: 500 + 1 + 499 = 1000, 500 + 1 + 500 = 1001
    ok(vec!["a".repeat(500), "b".repeat(499)]);
    assert!(LayoutClasses::new(vec!["a".repeat(500), "b".repeat(500)]).is_err());

    for bad in ["", "a b", "a\tb", "a\r\nb", "a\0", " "] {
        let e = LayoutClasses::new(vec!["ok".into(), bad.into()]).expect_err(bad);
        assert_clean_message(&e);
        let body = format!("[\"ok\",{}]", json(bad));
        assert!(
            serde_json::from_str::<LayoutClasses>(&body).is_err(),
            "{bad:?}"
        );
    }

    let l: LayoutClasses = serde_json::from_str(r#"["full","focus"]"#).unwrap();
    assert_eq!(l.as_slice(), ["full", "focus"]);
    assert_eq!(serde_json::to_string(&l).unwrap(), r#"["full","focus"]"#);
    let long = serde_json::to_string(&vec!["l".repeat(MAX_LAYOUT_CLASSES_LEN + 1)]).unwrap();
    assert!(serde_json::from_str::<LayoutClasses>(&long).is_err());
}

// ---------------------------------------------------------------- serde in context

#[test]
fn a_request_body_cannot_smuggle_an_invalid_field() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        session: SessionId,
        uri: SipUri,
        #[serde(default)]
        headers: SipHeaders,
        digits: Option<Dtmf>,
        role: Option<Role>,
    }
    let good = r#"{"session":"1_abc","uri":"sip:a@example.com","headers":{"X-A":"1"},"digits":"12#","role":"subscriber"}"#;
    serde_json::from_str::<Body>(good).unwrap();
    for bad in [
        r#"{"session":"1_a/b","uri":"sip:a@example.com"}"#,
        r#"{"session":"1_abc","uri":"sip:a@example.com\r\nVia: x"}"#,
        r#"{"session":"1_abc","uri":"sip:a@example.com","headers":{"Call-ID":"x"}}"#,
        r#"{"session":"1_abc","uri":"sip:a@example.com","headers":{"X-A":"a\nb"}}"#,
        r#"{"session":"1_abc","uri":"sip:a@example.com","digits":"12a"}"#,
        r#"{"session":"1_abc","uri":"sip:a@example.com","role":"owner"}"#,
    ] {
        assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad}");
    }
}

#[test]
fn identity_headers_are_found_whatever_their_case() {
    let mut h = SipHeaders::new();
    h.insert("X-Customer", "42").unwrap();
    assert_eq!(h.identity_header(), None);
    h.insert("remote-party-id", "<sip:1@a.example>").unwrap();
    assert_eq!(h.identity_header(), Some("Remote-Party-ID"));
}
