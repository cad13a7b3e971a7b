use crate::config::tests::config_from;

fn refused(pairs: &[(&'static str, &str)]) -> (Option<&'static str>, String) {
    let err = config_from(pairs, None).expect_err("should be refused");
    (err.variable(), err.to_string())
}

#[test]
fn demo_mode_has_a_dialable_target() {
    let c = config_from(&[], None).unwrap();
    let t = &c.targets[0];
    assert_eq!(
        (t.name(), t.sip_uri().unwrap().as_str()),
        ("demo", super::DEMO_TARGET_URI)
    );
    assert!(t.credentials().is_none());
}

#[test]
fn the_demo_policy_targets_parse_with_their_labels_and_policies() {
    let c = config_from(&[("SIP_TARGETS", super::DEMO_POLICY_TARGETS)], None).unwrap();
    assert_eq!(c.target_names(), ["demo", "no-answer", "time-limit"]);
    assert_eq!(c.targets[1].display_label(), super::DEMO_RING_TIMEOUT_LABEL);
    assert_eq!(c.targets[2].display_label(), super::DEMO_TIME_LIMIT_LABEL);
    let secs = std::time::Duration::from_secs;
    assert_eq!(c.policy_of("no-answer").ring_timeout, Some(secs(3)));
    assert_eq!(c.policy_of("time-limit").max_duration, Some(secs(3)));
    assert!(c.policy_of("demo").is_empty());
    let readme = include_str!("../../../../README.md");
    assert!(
        readme.contains(&format!("SIP_TARGETS='{}'", super::DEMO_POLICY_TARGETS)),
        "the README's demo recipe is this very value"
    );
}

#[test]
fn sip_variables_make_the_default_target() {
    let c = config_from(
        &[
            ("SIP_URI", "sips:desk@pbx.example.com;transport=tls"),
            ("SIP_LABEL", "Front desk"),
            ("SIP_FROM", "15551230000@pbx.example.com"),
            ("SIP_USERNAME", "alice"),
            ("SIP_PASSWORD", "hunter2"),
            ("SIP_HEADERS", r#"{"X-Customer-Id":"42"}"#),
            ("SIP_SECURE", "true"),
            ("SIP_VIDEO", "yes"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(c.target_names(), ["default"]);
    let t = &c.targets[0];
    assert_eq!(t.display_label(), "Front desk");
    assert_eq!(t.caller().unwrap().as_str(), "15551230000@pbx.example.com");
    assert_eq!(t.credentials().unwrap().expose_password(), "hunter2");
    assert_eq!(t.sip_headers().get("X-Customer-Id"), Some("42"));
    assert!(t.is_secure() && t.sends_video());
    assert!(
        !format!("{t:?}").contains("hunter2"),
        "Debug must redact the password"
    );
}

#[test]
fn sip_targets_adds_named_targets() {
    let c = config_from(
        &[(
            "SIP_TARGETS",
            r#"{"support": {"uri": "sip:support@pbx.example.com", "label": "Support desk",
                "username": "u", "password": "p", "headers": {"X-Queue": "vip"}, "secure": true},
               "sales": {"uri": "sip:sales@pbx.example.com"}}"#,
        )],
        None,
    )
    .unwrap();
    // demo target first, then SIP_TARGETS in name order
    assert_eq!(c.target_names(), ["demo", "sales", "support"]);
    assert_eq!(c.targets[1].display_label(), "sales");
    assert_eq!(c.targets[2].display_label(), "Support desk");
    assert!(c.targets[2].is_secure() && c.targets[2].credentials().is_some());
    let c = config_from(
        &[
            ("SIP_TARGETS", r#"{"a": {"uri": "sip:a@h.example"}}"#),
            ("SIP_DEFAULT_TARGET", "a"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(c.default_target.as_deref(), Some("a"));
}

#[test]
fn malformed_sip_variables_name_their_variable() {
    let cases: &[(&[(&'static str, &str)], &str)] = &[
        (&[("SIP_URI", "tel:+15551234")], "SIP_URI"),
        (&[("SIP_URI", "sip:a@b.example\r\nVia: x")], "SIP_URI"),
        (&[("SIP_FROM", "not an address")], "SIP_FROM"),
        (&[("SIP_HEADERS", "[1,2]")], "SIP_HEADERS"),
        (&[("SIP_HEADERS", "{\"X-A\": 1}")], "SIP_HEADERS"),
        (&[("SIP_HEADERS", "{\"Via\": \"x\"}")], "SIP_HEADERS"),
        (&[("SIP_HEADERS", "{nope")], "SIP_HEADERS"),
        (&[("SIP_SECURE", "perhaps")], "SIP_SECURE"),
        (&[("SIP_VIDEO", "2")], "SIP_VIDEO"),
        (&[("SIP_USERNAME", "alice")], "SIP_PASSWORD"),
        (&[("SIP_PASSWORD", "secret")], "SIP_USERNAME"),
        (&[("SIP_TARGETS", "[]")], "SIP_TARGETS"),
        (
            &[("SIP_TARGETS", "{\"a b\": {\"uri\": \"sip:a@b.example\"}}")],
            "SIP_TARGETS",
        ),
        (&[("SIP_TARGETS", "{\"a\": {}}")], "SIP_TARGETS"),
        (
            &[(
                "SIP_TARGETS",
                "{\"a\": {\"uri\": \"sip:a@b.example\", \"secure\": \"yes\"}}",
            )],
            "SIP_TARGETS",
        ),
        (
            &[(
                "SIP_TARGETS",
                "{\"a\": {\"uri\": \"sip:a@b.example\", \"pasword\": \"x\"}}",
            )],
            "SIP_TARGETS",
        ),
        (
            &[("SIP_TARGETS", "{\"demo\": {\"uri\": \"sip:a@b.example\"}}")],
            "SIP_TARGETS",
        ),
    ];
    for (pairs, var) in cases {
        let (got, message) = refused(pairs);
        assert_eq!(got, Some(*var), "{pairs:?} -> {message}");
        assert!(message.contains(var), "{message}");
    }
}

#[test]
fn cloud_mode_without_sip_uri_refuses_orphan_settings() {
    let creds = sipdial_opentok::Credentials::project("123456", "secret-secret-secret");
    let err = config_from(
        &[("SIP_USERNAME", "alice"), ("SIP_PASSWORD", "pw")],
        Some(creds),
    )
    .unwrap_err();
    assert_eq!(err.variable(), Some("SIP_URI"));
    let creds = sipdial_opentok::Credentials::project("123456", "secret-secret-secret");
    let c = config_from(&[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "1")], Some(creds)).unwrap();
    assert!(c.target_names().is_empty());
}

#[test]
fn messages_never_quote_secrets() {
    let cases: &[&[(&'static str, &str)]] = &[
        &[(
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "secure": "TOPSECRET"}}"#,
        )],
        &[(
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "password": 1, "username": "TOPSECRET"}}"#,
        )],
        &[("SIP_TARGETS", r#"{"a": {"uri": "TOPSECRET"}}"#)],
        &[(
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "TOPSECRET x": 1}}"#,
        )],
        &[("SIP_HEADERS", r#"{"X-A": ["TOPSECRET"]}"#)],
        &[(
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "password": "TOPSECRET"#,
        )],
    ];
    for pairs in cases {
        let (_, message) = refused(pairs);
        assert!(!message.contains("TOPSECRET"), "{message}");
    }
}

#[test]
fn refusals_say_which_field_is_wrong() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "secure": "x"}}"#,
            "target `a`: `secure` must be true or false",
        ),
        (
            "SIP_TARGETS",
            r#"{"a": {"uri": 7}}"#,
            "target `a`: `uri` must be a string",
        ),
        (
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "headers": {"X-A": 1}}}"#,
            "target `a`: `headers`: every header value must be a JSON string",
        ),
        (
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "headers": [1]}}"#,
            "target `a`: `headers`: must be a JSON object of header names",
        ),
        (
            "SIP_TARGETS",
            r#"{"a": 5}"#,
            "target `a` must be a JSON object",
        ),
        ("SIP_TARGETS", r#"{"a b": 5}"#, "a target name must be 1 to"),
        (
            "SIP_TARGETS",
            r#"{"a": {"uri": "sip:a@b.example", "pasword": "x"}}"#,
            "target `a`: unknown field `pasword`",
        ),
        (
            "SIP_TARGETS",
            "{\"a\": {\n\"uri\"",
            "is not valid JSON (line 2, column 5)",
        ),
        (
            "SIP_HEADERS",
            r#"{"X-A": 1}"#,
            "every header value must be a JSON string",
        ),
        ("SIP_HEADERS", "[]", "must be a JSON object of header names"),
    ];
    for (var, value, want) in cases {
        let (_, message) = refused(&[(var, value)]);
        assert!(message.contains(want), "{value}: {message}");
    }
}
