use std::collections::HashMap;

use super::*;

/// Runs `from_lookup` over a map of variables.
pub(crate) fn config_from(
    pairs: &[(&'static str, &str)],
    credentials: Option<Credentials>,
) -> Result<DemoConfig, ConfigError> {
    let map: HashMap<&'static str, String> =
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let lookup = move |k: &'static str| Ok(map.get(k).filter(|v| !v.is_empty()).cloned());
    DemoConfig::from_lookup(&lookup, credentials)
}

fn var_of(result: Result<DemoConfig, ConfigError>) -> &'static str {
    result
        .expect_err("should be refused")
        .variable()
        .expect("names a variable")
}

#[test]
fn defaults_are_demo_mode_on_localhost_3000() {
    let c = config_from(&[], None).unwrap();
    assert!(c.is_demo());
    assert_eq!(c.listen_addr().to_string(), "127.0.0.1:3000");
    assert_eq!(c.opentok_js_url(), DEFAULT_OPENTOK_JS_URL);
    assert_eq!(c.target_names(), ["demo"]);
    assert_eq!(c.default_target.as_deref(), Some("demo"));
    assert!(c.allowed_origins.is_empty());
    assert_eq!((c.max_active_calls, c.dials_per_minute), (None, None));
    assert_eq!(c.client_sessions_per_minute, None, "the API's safe default");
    assert_eq!(c.trusted_proxies, sipdial_core::api::TrustedProxies::none());
}

#[test]
fn host_and_port_are_parsed() {
    let c = config_from(&[("HOST", "0.0.0.0"), ("PORT", "0")], None).unwrap();
    assert_eq!(c.listen_addr().to_string(), "0.0.0.0:0");
    let c = config_from(&[("HOST", "::1"), ("PORT", "8080")], None).unwrap();
    assert_eq!(c.listen_addr().to_string(), "[::1]:8080");
    let c = config_from(&[("HOST", "localhost")], None).unwrap();
    assert_eq!(c.listen_addr().to_string(), "127.0.0.1:3000");
}

#[test]
fn malformed_basics_name_their_variable() {
    assert_eq!(var_of(config_from(&[("PORT", "http")], None)), "PORT");
    assert_eq!(var_of(config_from(&[("PORT", "65536")], None)), "PORT");
    assert_eq!(var_of(config_from(&[("PORT", "-1")], None)), "PORT");
    assert_eq!(
        var_of(config_from(&[("HOST", "example.com")], None)),
        "HOST"
    );
    assert_eq!(
        var_of(config_from(
            &[("OPENTOK_JS_URL", "javascript:alert(1)")],
            None
        )),
        "OPENTOK_JS_URL"
    );
    assert_eq!(
        var_of(config_from(&[("OPENTOK_JS_URL", "https://x/a\"b")], None)),
        "OPENTOK_JS_URL"
    );
    assert_eq!(
        var_of(config_from(
            &[("OPENTOK_JS_URL", "//cdn.example/ot.js")],
            None
        )),
        "OPENTOK_JS_URL"
    );
    assert_eq!(
        var_of(config_from(&[("OPENTOK_API_URL", "ftp://x")], None)),
        "OPENTOK_API_URL"
    );
    assert_eq!(
        var_of(config_from(&[("OPENTOK_API_URL", "https://")], None)),
        "OPENTOK_API_URL"
    );
    assert_eq!(
        var_of(config_from(&[("SIPDIAL_MAX_ACTIVE_CALLS", "0")], None)),
        "SIPDIAL_MAX_ACTIVE_CALLS"
    );
    assert_eq!(
        var_of(config_from(&[("SIPDIAL_HEADER_TIMEOUT_SECS", "0")], None)),
        "SIPDIAL_HEADER_TIMEOUT_SECS"
    );
    assert_eq!(
        var_of(config_from(&[("SIPDIAL_MAX_CONNECTIONS", "lots")], None)),
        "SIPDIAL_MAX_CONNECTIONS"
    );
    assert_eq!(
        var_of(config_from(&[("SIPDIAL_DIALS_PER_MINUTE", "many")], None)),
        "SIPDIAL_DIALS_PER_MINUTE"
    );
    assert_eq!(
        var_of(config_from(
            &[("SIPDIAL_ALLOWED_ORIGINS", "example.com")],
            None
        )),
        "SIPDIAL_ALLOWED_ORIGINS"
    );
    assert_eq!(
        var_of(config_from(
            &[("SIPDIAL_ALLOWED_ORIGINS", "https://a.example/path")],
            None
        )),
        "SIPDIAL_ALLOWED_ORIGINS"
    );
    assert_eq!(
        var_of(config_from(&[("SIP_DEFAULT_TARGET", "nope")], None)),
        "SIP_DEFAULT_TARGET"
    );
}

#[test]
fn optional_knobs_are_read() {
    let c = config_from(
        &[
            ("OPENTOK_JS_URL", "/static/opentok.min.js"),
            ("OPENTOK_API_URL", "http://127.0.0.1:9000"),
            ("SIPDIAL_MAX_ACTIVE_CALLS", "2"),
            ("SIPDIAL_DIALS_PER_MINUTE", "4"),
            ("SIPDIAL_HEADER_TIMEOUT_SECS", "3"),
            ("SIPDIAL_MAX_CONNECTIONS", "7"),
            ("SIPDIAL_MAX_ACTIVE_CALLS_TOTAL", "7"),
            ("SIPDIAL_DIALS_PER_MINUTE_TOTAL", "8"),
            ("SIPDIAL_CLIENT_DIALS_PER_MINUTE", "9"),
            ("SIPDIAL_CLIENT_SESSIONS_PER_MINUTE", "11"),
            ("SIPDIAL_RECONCILE_SECS", "15"),
            ("SIPDIAL_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
            (
                "SIPDIAL_ALLOWED_ORIGINS",
                "https://app.example, http://localhost:3000",
            ),
        ],
        None,
    )
    .unwrap();
    assert_eq!(c.opentok_js_url(), "/static/opentok.min.js");
    assert_eq!((c.max_active_calls, c.dials_per_minute), (Some(2), Some(4)));
    assert_eq!(
        c.connections().header_timeout(),
        std::time::Duration::from_secs(3)
    );
    assert_eq!(c.connections().max_connections(), 7);
    let defaults = config_from(&[], None).unwrap().connections();
    assert_eq!(defaults, crate::ConnectionLimits::default());
    assert_eq!(
        (
            c.max_active_calls_total,
            c.dials_per_minute_total,
            c.client_dials_per_minute,
            c.client_sessions_per_minute
        ),
        (Some(7), Some(8), Some(9), Some(11))
    );
    assert_eq!(c.reconcile, Some(std::time::Duration::from_secs(15)));
    assert_eq!(config_from(&[], None).unwrap().reconcile, None);
    assert!(config_from(&[("SIPDIAL_RECONCILE_SECS", "0")], None).is_err());
    assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
    assert!(!c.trusted_proxies.contains("192.0.2.1".parse().unwrap()));
    assert_eq!(
        c.allowed_origins,
        ["https://app.example", "http://localhost:3000"]
    );
}

#[test]
fn credentials_switch_off_demo_mode() {
    let creds = Credentials::project("123456", "1234567890abcdef1234567890abcdef1234567890");
    let c = config_from(
        &[
            ("SIP_URI", "sip:desk@pbx.example.com"),
            ("OPENTOK_API_URL", "http://127.0.0.1:1"),
            ("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "1"),
        ],
        Some(creds),
    )
    .unwrap();
    assert!(!c.is_demo());
    assert_eq!(c.target_names(), ["default"]);
    assert_eq!(
        c.cloud.as_ref().and_then(|cl| cl.api_url.as_deref()),
        Some("http://127.0.0.1:1")
    );
}

#[test]
fn booleans_accept_the_usual_spellings() {
    for t in ["1", "true", "TRUE", "yes", "on"] {
        assert!(parse_bool("X", t).unwrap());
    }
    for f in ["0", "false", "No", "off"] {
        assert!(!parse_bool("X", f).unwrap());
    }
    assert_eq!(
        parse_bool("SIP_SECURE", "maybe").unwrap_err().variable(),
        Some("SIP_SECURE")
    );
}

#[test]
fn the_callback_secret_is_read_checked_and_never_shown() {
    let c = config_from(
        &[("SIPDIAL_CALLBACK_SECRET", "  whsec-0123456789abcdef  ")],
        None,
    )
    .unwrap();
    assert!(c.verifies_callbacks());
    let debug = format!("{c:?}");
    assert!(!debug.contains("0123456789abcdef"), "{debug}");
    use secrecy::ExposeSecret as _;
    assert_eq!(
        c.callback_secret.as_ref().unwrap().expose_secret(),
        "whsec-0123456789abcdef",
        "trimmed"
    );
    assert!(!config_from(&[], None).unwrap().verifies_callbacks());
    let err = config_from(&[("SIPDIAL_CALLBACK_SECRET", "short-TOPSECRET")], None).unwrap_err();
    assert_eq!(err.variable(), Some("SIPDIAL_CALLBACK_SECRET"));
    assert!(!err.to_string().contains("TOPSECRET"), "{err}");
}

#[test]
fn the_mount_is_a_normalised_path() {
    assert_eq!(config_from(&[], None).unwrap().mount(), "");
    let c = config_from(&[("SIPDIAL_MOUNT", "/app/tenant/")], None).unwrap();
    assert_eq!(c.mount(), "/app/tenant");
    assert_eq!(
        config_from(&[("SIPDIAL_MOUNT", "/")], None)
            .unwrap()
            .mount(),
        ""
    );
    for bad in ["app", "/a b", "/a/../b", "/a//b", "/a?x"] {
        let err = config_from(&[("SIPDIAL_MOUNT", bad)], None).unwrap_err();
        assert_eq!(err.variable(), Some("SIPDIAL_MOUNT"), "{bad}: {err}");
    }
}

#[test]
fn errors_never_echo_the_value() {
    let err = config_from(&[("PORT", "s3cr3t-value")], None).unwrap_err();
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(err.to_string().contains("PORT"), "{err}");
}
