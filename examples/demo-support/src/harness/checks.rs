//! The checks every example binary must pass, written once and called from each
//! demo's `tests/binary.rs` with its own executable.

use super::{RunningDemo, run_to_exit};

/// Demo mode: the start-up line says so and how to switch, the page carries the
/// banner, the API answers under `/sip`, and SIGTERM stops the process cleanly.
pub fn demo_mode_startup(bin: &str, app: &str) {
    let demo = RunningDemo::start(bin, &[]);
    assert!(
        demo.url().starts_with("http://127.0.0.1:"),
        "{}",
        demo.url()
    );
    assert!(
        !demo.url().ends_with(":0"),
        "the real port is printed, not 0"
    );
    assert!(
        demo.stdout()
            .contains(&format!("{app} listening on http://127.0.0.1:")),
        "{}",
        demo.stdout()
    );
    assert!(
        demo.wait_for_stderr("DEMO MODE"),
        "no demo-mode line:\n{}",
        demo.stderr()
    );
    let log = demo.stderr();
    for hint in [
        "FakeDialer",
        "OPENTOK_API_KEY",
        "OPENTOK_API_SECRET",
        "VONAGE_APPLICATION_ID",
        "SIP_URI",
    ] {
        assert!(
            log.contains(hint),
            "the demo-mode line should mention {hint}:\n{log}"
        );
    }

    let page = demo.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(
        page.body.contains(crate::DEMO_BANNER),
        "the page carries the demo banner"
    );
    assert!(page.body.contains(&format!(r#""servedBy":"{app}""#)));
    assert!(page.body.contains(r#""demo":true"#));
    for heading in [
        "Your Publisher",
        "Start SIP Call",
        "End SIP Calls",
        "WebRTC Streams",
        "SIP Streams",
    ] {
        assert!(page.body.contains(heading), "{heading}");
    }
    let js = demo.get("/assets/app.js");
    assert_eq!(
        (js.status, js.header("content-type")),
        (200, Some("text/javascript; charset=utf-8"))
    );
    let css = demo.get("/assets/style.css");
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
    assert_eq!(demo.get("/nope").status, 404);

    let targets = demo.get("/sip/targets");
    assert_eq!(targets.status, 200, "{}", targets.body);
    assert!(
        targets.body.contains(crate::DEMO_TARGET_NAME),
        "{}",
        targets.body
    );
    assert!(
        !targets.body.contains(crate::DEMO_TARGET_URI),
        "the URI never reaches the browser"
    );
    let session = demo.request("POST", "/sip/session", Some("{}"));
    assert_eq!(session.status, 200, "{}", session.body);
    assert!(session.body.contains("sessionId"), "{}", session.body);

    let (status, took) = demo.terminate();
    assert!(
        status.success(),
        "SIGTERM should end the demo cleanly, got {status:?}"
    );
    assert!(took.as_secs() < 10, "graceful shutdown took {took:?}");
}

/// With credentials the demo uses the real dialer: no banner, no demo line. No
/// request reaches the platform at start-up, so a dead API URL is fine here.
pub fn cloud_mode_startup(bin: &str) {
    let demo = RunningDemo::start(
        bin,
        &[
            ("OPENTOK_API_KEY", "123456"),
            (
                "OPENTOK_API_SECRET",
                "1234567890abcdef1234567890abcdef1234567890",
            ),
            ("OPENTOK_API_URL", "http://127.0.0.1:9"),
            ("SIP_URI", "sip:desk@pbx.example.com"),
            ("SIP_PASSWORD", "TOPSECRET-sip"),
            ("SIP_USERNAME", "desk"),
            ("SIPDIAL_CALLBACK_SECRET", "TOPSECRET-callback-signature"),
        ],
    );
    assert!(demo.wait_for_stderr("real mode"), "{}", demo.stderr());
    let page = demo.get("/");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(crate::DEMO_BANNER));
    assert!(page.body.contains(r#""demo":false"#));
    let targets = demo.get("/sip/targets");
    assert!(
        targets.body.contains(crate::DEFAULT_TARGET_NAME),
        "{}",
        targets.body
    );
    for text in [demo.stderr(), demo.stdout(), page.body, targets.body] {
        assert!(!text.contains("TOPSECRET"), "a secret leaked:\n{text}");
        assert!(
            !text.contains("1234567890abcdef"),
            "the API secret leaked:\n{text}"
        );
    }
}

/// Each malformed variable stops start-up with [`crate::EXIT_CONFIG`] and a message naming
/// it, never quoting a secret.
pub fn malformed_config_exits(bin: &str, app: &str) {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PORT", "eighty")], "PORT"),
        (&[("HOST", "my host")], "HOST"),
        (&[("SIP_HEADERS", "[\"X-A\"]")], "SIP_HEADERS"),
        (&[("SIP_SECURE", "sometimes")], "SIP_SECURE"),
        (
            &[
                ("SIP_URI", "tel:+15551234567"),
                ("SIP_PASSWORD", "TOPSECRET"),
                ("SIP_USERNAME", "u"),
            ],
            "SIP_URI",
        ),
        (
            &[(
                "SIP_TARGETS",
                "{\"x\": {\"uri\": \"sip:a@b.example\", \"password\": \"TOPSECRET\", \"secure\": \"TOPSECRET\"}}",
            )],
            "SIP_TARGETS",
        ),
        (
            &[("OPENTOK_JS_URL", "javascript:alert(1)")],
            "OPENTOK_JS_URL",
        ),
        (
            &[("SIPDIAL_MAX_ACTIVE_CALLS", "0")],
            "SIPDIAL_MAX_ACTIVE_CALLS",
        ),
        (
            &[("SIPDIAL_CLIENT_SESSIONS_PER_MINUTE", "0")],
            "SIPDIAL_CLIENT_SESSIONS_PER_MINUTE",
        ),
        (
            &[("SIPDIAL_TRUSTED_PROXIES", "the load balancer")],
            "SIPDIAL_TRUSTED_PROXIES",
        ),
        (&[("SIP_RING_TIMEOUT_SECS", "0")], "SIP_RING_TIMEOUT_SECS"),
        (
            &[(
                "SIP_TARGETS",
                "{\"x\": {\"uri\": \"sip:a@b.example\", \"maxDurationSecs\": \"soon\"}}",
            )],
            "SIP_TARGETS",
        ),
        (
            &[
                ("SIPDIAL_STATUS_WEBHOOK_URL", "https://hooks.example.com/x"),
                ("SIPDIAL_STATUS_WEBHOOK_SECRET", "TOPSECRET"),
            ],
            "SIPDIAL_STATUS_WEBHOOK_SECRET",
        ),
        (&[("OPENTOK_API_KEY", "123456")], "OPENTOK_API_SECRET"),
        (
            &[
                (
                    "VONAGE_APPLICATION_ID",
                    "4f1e4b1c-2a6e-4c51-9d0b-6f1e8f6a2b3c",
                ),
                ("VONAGE_PRIVATE_KEY_PATH", "/nonexistent/TOPSECRET.key"),
            ],
            "VONAGE_PRIVATE_KEY",
        ),
    ];
    for (envs, var) in cases {
        let run = run_to_exit(bin, envs);
        assert_eq!(
            run.status.code(),
            Some(i32::from(crate::EXIT_CONFIG)),
            "{envs:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("{app}: configuration error")) && run.stderr.contains(var),
            "{envs:?}: the message should name {var}:\n{}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("listening on"),
            "{envs:?} started serving"
        );
        if !var.starts_with("VONAGE") {
            assert!(
                !run.stderr.contains("TOPSECRET"),
                "{envs:?} quoted a secret:\n{}",
                run.stderr
            );
        }
    }
}

/// `SIPDIAL_MOUNT=/app`: the start-up line names `/app/`, the page and its files
/// are served there (and `/app` redirects to it, since the page resolves the API
/// against its own URL), the API answers at `/app/sip/…` with a `Location` below
/// the mount, and nothing is served at the root any more.
pub fn mounted_below_sipdial_mount(bin: &str) {
    let demo = RunningDemo::start(bin, &[("SIPDIAL_MOUNT", "/app")]);
    assert!(demo.url().ends_with("/app"), "start-up URL: {}", demo.url());
    let root = demo.url().trim_end_matches("/app").to_owned();
    let page = demo.get("/");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#""apiPath":"sip""#), "{}", page.body);
    assert!(page.body.contains(r#"src="assets/app.js""#));
    assert_eq!(demo.get("/assets/app.js").status, 200);
    let bare = super::http_request(&root, "GET", "/app", None);
    assert_eq!(bare.status, 308, "{}", bare.body);
    assert_eq!(bare.header("location"), Some("/app/"));
    let session = demo.request("POST", "/sip/session", Some(r#"{"room":"mounted"}"#));
    assert_eq!(session.status, 200, "{}", session.body);
    let session: serde_json::Value = serde_json::from_str(&session.body).expect("JSON");
    let dial = format!(
        r#"{{"sessionId":"{}"}}"#,
        session["sessionId"].as_str().unwrap()
    );
    let dialed = demo.request("POST", "/sip/dial", Some(&dial));
    assert_eq!(dialed.status, 201, "{}", dialed.body);
    let location = dialed.header("location").expect("a Location").to_owned();
    assert!(location.starts_with("/app/sip/calls/"), "{location}");
    assert_eq!(
        super::http_request(&root, "GET", &location, None).status,
        200
    );
    for outside in ["/", "/sip/targets", "/assets/app.js"] {
        let reply = super::http_request(&root, "GET", outside, None);
        assert_eq!(reply.status, 404, "GET {outside} outside the mount");
    }
}

/// `SIPDIAL_DIALS_PER_MINUTE` and `SIPDIAL_MAX_ACTIVE_CALLS` reach the API: the
/// dial beyond them answers 429 with `Retry-After`; and the per-client session limit
/// is on by default.
pub fn limits_from_env(bin: &str) {
    let demo = RunningDemo::start(
        bin,
        &[
            ("SIPDIAL_DIALS_PER_MINUTE", "2"),
            ("SIPDIAL_MAX_ACTIVE_CALLS", "5"),
        ],
    );
    let session = demo.request("POST", "/sip/session", Some(r#"{"room":"limits"}"#));
    assert_eq!(session.status, 200, "{}", session.body);
    let session: serde_json::Value = serde_json::from_str(&session.body).expect("session JSON");
    let dial = serde_json::json!({ "sessionId": session["sessionId"] }).to_string();
    for _ in 0..2 {
        let ok = demo.request("POST", "/sip/dial", Some(&dial));
        assert_eq!(ok.status, 201, "{}", ok.body);
    }
    let limited = demo.request("POST", "/sip/dial", Some(&dial));
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(
        limited.header("retry-after").is_some(),
        "{:?}",
        limited.headers
    );
    assert!(
        limited.body.contains(r#""error":{"code""#),
        "{}",
        limited.body
    );
    // On by default: an anonymous client creating room after room is refused after
    // `SIPDIAL_CLIENT_SESSIONS_PER_MINUTE` (10) new ones, the first room included.
    for room in 1..10 {
        let body = format!(r#"{{"room":"flood-{room}"}}"#);
        let ok = demo.request("POST", "/sip/session", Some(&body));
        assert_eq!(ok.status, 200, "{}", ok.body);
    }
    let flood = demo.request("POST", "/sip/session", Some(r#"{"room":"flood-x"}"#));
    assert_eq!(flood.status, 429, "{}", flood.body);
    assert!(flood.header("retry-after").is_some(), "{:?}", flood.headers);
    assert!(
        flood.body.contains("client_session_rate_limited"),
        "{}",
        flood.body
    );
}

/// A port already taken stops start-up with [`crate::EXIT_UNAVAILABLE`] naming the address.
pub fn busy_port_exits(bin: &str, app: &str) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = taken.local_addr().expect("local addr").port().to_string();
    let run = run_to_exit(bin, &[("PORT", &port)]);
    assert_eq!(
        run.status.code(),
        Some(i32::from(crate::EXIT_UNAVAILABLE)),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("{app}: cannot listen on 127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
}

/// `GET /metrics` answers Prometheus text with the API's series: after one dial from a
/// fresh process, the dial counted once by target and result, its platform latency
/// once in the histogram's buckets, and the call's first state.
pub fn metrics_after_a_dial(bin: &str) {
    let demo = RunningDemo::start(bin, &[]);
    let session = demo.request("POST", "/sip/session", Some(r#"{"room":"metrics"}"#));
    assert_eq!(session.status, 200, "{}", session.body);
    let session: serde_json::Value = serde_json::from_str(&session.body).expect("session JSON");
    let dial = serde_json::json!({ "sessionId": session["sessionId"] }).to_string();
    let dialed = demo.request("POST", "/sip/dial", Some(&dial));
    assert_eq!(dialed.status, 201, "{}", dialed.body);
    let scrape = demo.get("/metrics");
    assert_eq!(scrape.status, 200, "{}", scrape.body);
    assert_eq!(
        scrape.header("content-type"),
        Some(crate::METRICS_CONTENT_TYPE)
    );
    for line in [
        r#"sipdial_dials_total{target="demo",result="placed"} 1"#,
        r#"sipdial_platform_dial_seconds_count{result="ok"} 1"#,
        r#"sipdial_platform_dial_seconds_bucket{result="ok",le="+Inf"} 1"#,
        r#"sipdial_call_transitions_total{state="dialing"} 1"#,
        "# TYPE sipdial_dials_total counter",
        "# HELP sipdial_dials_total",
    ] {
        assert!(
            scrape.body.lines().any(|l| l.starts_with(line)),
            "no `{line}` in\n{}",
            scrape.body
        );
    }
}

/// Declares the binary's tests (demo-mode start-up line and banner, real-mode
/// start-up, malformed configuration, busy port, mount, limits, signed callbacks,
/// metrics; safe by default: [`crate::harness::safety`]; the connection bounds:
/// [`crate::harness::connections`]) for one example, so both examples run the same
/// list from one test binary each:
/// `sipdial_demo_support::binary_tests!(env!("CARGO_BIN_EXE_axum-demo"), "axum-demo");`.
#[macro_export]
macro_rules! binary_tests {
    ($bin:expr, $name:literal) => {
        const BIN: &str = $bin;

        #[test]
        fn demo_mode_prints_its_line_serves_the_banner_and_stops_on_sigterm() {
            $crate::harness::checks::demo_mode_startup(BIN, $name);
        }

        #[test]
        fn credentials_switch_to_the_real_dialer_without_leaking_them() {
            $crate::harness::checks::cloud_mode_startup(BIN);
        }

        #[test]
        fn malformed_variables_stop_startup_naming_the_variable() {
            $crate::harness::checks::malformed_config_exits(BIN, $name);
        }

        #[test]
        fn a_busy_port_stops_startup() {
            $crate::harness::checks::busy_port_exits(BIN, $name);
        }

        #[test]
        fn sipdial_mount_moves_the_page_and_the_api() {
            $crate::harness::checks::mounted_below_sipdial_mount(BIN);
        }

        #[test]
        fn limit_variables_reach_the_api() {
            $crate::harness::checks::limits_from_env(BIN);
        }

        #[test]
        fn platform_callbacks_must_be_signed_and_move_the_call() {
            $crate::harness::signed_callbacks(BIN);
        }

        #[test]
        fn metrics_are_served_as_prometheus_text() {
            $crate::harness::checks::metrics_after_a_dial(BIN);
        }

        #[test]
        fn a_foreign_host_is_misdirected_even_with_a_matching_origin() {
            $crate::harness::safety::foreign_host_is_misdirected(BIN);
        }

        #[test]
        fn the_access_token_guards_the_page_the_api_and_metrics() {
            $crate::harness::safety::access_token_guards_page_api_and_metrics(BIN);
        }

        #[test]
        fn real_mode_refuses_to_start_open() {
            $crate::harness::safety::real_mode_refuses_to_start_open(BIN, $name);
        }

        #[test]
        fn the_content_security_policy_is_exact() {
            $crate::harness::safety::content_security_policy_is_exact(BIN);
        }

        #[test]
        fn demo_mode_refuses_a_forged_unsigned_callback() {
            $crate::harness::safety::demo_callbacks_are_signed(BIN);
        }

        #[test]
        fn a_client_sending_one_header_byte_a_second_is_cut() {
            $crate::harness::connections::slow_header_client_is_cut(BIN);
        }

        #[test]
        fn connections_beyond_the_bound_wait_until_one_closes() {
            $crate::harness::connections::connections_beyond_the_bound_wait(BIN);
        }
    };
}
