//! Safe by default, through a demo binary: only its own `Host` (DNS rebinding),
//! `SIPDIAL_ACCESS_TOKEN` in front of the page, the API and `/metrics`, real mode
//! refusing to start open, the page's Content-Security-Policy, and demo mode's signed
//! callbacks. Run for each demo by `binary_tests!` (its `tests/binary.rs`) with its own executable.

use std::time::{Duration, Instant};

use sipdial_testing::{TEST_API_KEY, TEST_API_SECRET};

use super::{HttpReply, RunningDemo, http_request_with, run_to_exit};
use crate::{ACCESS_COOKIE, EXIT_CONFIG};

/// The access token of these checks.
pub const ACCESS_TOKEN: &str = "safety-access-token-0123456789";

fn json(reply: &HttpReply) -> serde_json::Value {
    serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", reply.status, reply.body))
}

fn port_of(demo: &RunningDemo) -> String {
    let authority = demo.url().trim_start_matches("http://");
    let authority = authority.split('/').next().unwrap_or(authority);
    authority.rsplit_once(':').expect("a port").1.to_owned()
}

/// A foreign `Host` gets 421 with a JSON body on every route, the page, the API (read
/// and write) and `/metrics`, including the DNS-rebinding pair (`Host` and `Origin`
/// both the attacker's name, which an Origin check alone lets through); the demo's own
/// names (the address it printed, `localhost` with its port, a host of
/// `SIPDIAL_ALLOWED_ORIGINS`) still work.
pub fn foreign_host_is_misdirected(bin: &str) {
    let demo = RunningDemo::start(
        bin,
        &[("SIPDIAL_ALLOWED_ORIGINS", "https://demo.example.com")],
    );
    let port = port_of(&demo);
    let attacker = format!("attacker.example:{port}");
    let attacker_origin = format!("http://{attacker}");
    let rebinding: &[(&str, &str)] = &[("Host", &attacker), ("Origin", &attacker_origin)];
    for (method, path, body) in [
        ("POST", "/sip/session", Some(r#"{"room":"rebound"}"#)),
        ("GET", "/sip/targets", None),
        ("GET", "/", None),
        ("GET", "/metrics", None),
    ] {
        let reply = http_request_with(demo.url(), method, path, rebinding, body);
        assert_eq!(reply.status, 421, "{method} {path}: {}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(json(&reply)["error"]["code"], "misdirected_request");
    }
    let lone = http_request_with(demo.url(), "GET", "/", &[("Host", &attacker)], None);
    assert_eq!(lone.status, 421, "a foreign Host alone");
    let localhost = format!("localhost:{port}");
    let other_port = format!("localhost:{}", port.parse::<u16>().unwrap() ^ 1);
    for (host, status) in [
        (localhost.as_str(), 200),
        ("demo.example.com", 200),
        (other_port.as_str(), 421),
        ("demo.example.com:8443", 421),
    ] {
        let reply = http_request_with(demo.url(), "GET", "/sip/targets", &[("Host", host)], None);
        assert_eq!(reply.status, status, "Host: {host}: {}", reply.body);
    }
    let own = demo.request("POST", "/sip/session", Some(r#"{"room":"own"}"#));
    assert_eq!(own.status, 200, "the printed address: {}", own.body);
}

/// With `SIPDIAL_ACCESS_TOKEN`: without it the API and `/metrics` answer 401 JSON and
/// the page is a token form (401); with `Authorization: Bearer` they answer 200; the
/// form's `?access_token=` is exchanged for an `HttpOnly`, `SameSite=Strict` cookie and
/// a redirect, and the cookie then opens the page and the API. The in-process platform's
/// callbacks still move calls (they carry a signature, not the token), and the token is
/// never logged.
pub fn access_token_guards_page_api_and_metrics(bin: &str) {
    let demo = RunningDemo::start(bin, &[("SIPDIAL_ACCESS_TOKEN", ACCESS_TOKEN)]);
    let bearer = format!("Bearer {ACCESS_TOKEN}");
    let with_bearer: &[(&str, &str)] = &[("Authorization", &bearer)];
    for path in ["/sip/targets", "/metrics", "/assets/app.js"] {
        let refused = demo.get(path);
        assert_eq!(refused.status, 401, "GET {path}: {}", refused.body);
        assert_eq!(json(&refused)["error"]["code"], "unauthenticated");
        assert!(refused.header("www-authenticate").is_some());
        let wrong = http_request_with(
            demo.url(),
            "GET",
            path,
            &[("Authorization", "Bearer safety-access-token-012345678X")],
            None,
        );
        assert_eq!(wrong.status, 401, "a wrong token on {path}");
        let ok = http_request_with(demo.url(), "GET", path, with_bearer, None);
        assert_eq!(ok.status, 200, "GET {path} with Bearer: {}", ok.body);
    }
    let dial_refused = demo.request("POST", "/sip/session", Some("{}"));
    assert_eq!(dial_refused.status, 401, "{}", dial_refused.body);

    let form = demo.get("/");
    assert_eq!(form.status, 401);
    assert!(
        form.body.contains(r#"name="access_token""#),
        "{}",
        form.body
    );
    assert!(
        !form.body.contains("Start SIP Call"),
        "the page is not served"
    );
    let exchanged = demo.get(&format!("/?access_token={ACCESS_TOKEN}"));
    assert_eq!(exchanged.status, 303, "{}", exchanged.body);
    assert_eq!(exchanged.header("location"), Some("/"));
    let set_cookie = exchanged.header("set-cookie").expect("a cookie");
    assert_eq!(
        set_cookie,
        format!("{ACCESS_COOKIE}={ACCESS_TOKEN}; Path=/; HttpOnly; SameSite=Strict")
    );
    let cookie = format!("{ACCESS_COOKIE}={ACCESS_TOKEN}");
    let with_cookie: &[(&str, &str)] = &[("Cookie", &cookie)];
    let page = http_request_with(demo.url(), "GET", "/", with_cookie, None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Start SIP Call"));
    let session = http_request_with(
        demo.url(),
        "POST",
        "/sip/session",
        with_cookie,
        Some(r#"{"room":"guarded"}"#),
    );
    assert_eq!(session.status, 200, "{}", session.body);
    let dial = serde_json::json!({ "sessionId": json(&session)["sessionId"] }).to_string();
    let call = http_request_with(demo.url(), "POST", "/sip/dial", with_bearer, Some(&dial));
    assert_eq!(call.status, 201, "{}", call.body);
    let id = json(&call)["id"].as_str().expect("a call id").to_owned();
    // Only the platform's callbacks move the call on in demo mode.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = http_request_with(
            demo.url(),
            "GET",
            &format!("/sip/calls/{id}"),
            with_bearer,
            None,
        );
        if json(&reply)["state"] == "active" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the signed callbacks did not reach the guarded app: {}\n{}",
            reply.body,
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for text in [demo.stderr(), demo.stdout()] {
        assert!(
            !text.contains(ACCESS_TOKEN),
            "the token was logged:\n{text}"
        );
    }
}

fn real_mode(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut envs = vec![
        ("OPENTOK_API_KEY", TEST_API_KEY),
        ("OPENTOK_API_SECRET", TEST_API_SECRET),
        ("OPENTOK_API_URL", "http://127.0.0.1:9"),
        ("SIP_URI", "sip:desk@pbx.example.com"),
    ];
    envs.extend_from_slice(extra);
    envs
}

/// Real mode refuses to start open: on a non-loopback `HOST` without
/// `SIPDIAL_ACCESS_TOKEN`, and without `SIPDIAL_CALLBACK_SECRET` unless
/// `SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1`; each with [`EXIT_CONFIG`] (78) and a message
/// naming the variable. With what they ask for, it starts.
pub fn real_mode_refuses_to_start_open(bin: &str, app: &str) {
    const SECRET: (&str, &str) = ("SIPDIAL_CALLBACK_SECRET", "whsec-0123456789abcdef");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("HOST", "0.0.0.0"), SECRET], "SIPDIAL_ACCESS_TOKEN"),
        (&[], "SIPDIAL_CALLBACK_SECRET"),
        (
            &[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "0")],
            "SIPDIAL_CALLBACK_SECRET",
        ),
    ];
    for (extra, var) in cases {
        let run = run_to_exit(bin, &real_mode(extra));
        assert_eq!(
            run.status.code(),
            Some(i32::from(EXIT_CONFIG)),
            "{extra:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("{app}: configuration error")) && run.stderr.contains(var),
            "{extra:?}: the message should name {var}:\n{}",
            run.stderr
        );
        assert!(!run.stdout.contains("listening on"), "{extra:?} started");
    }
    let unsigned = RunningDemo::start(
        bin,
        &real_mode(&[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "1")]),
    );
    assert!(
        unsigned.wait_for_stderr("accepted unsigned"),
        "{}",
        unsigned.stderr()
    );
    drop(unsigned);
    let everywhere = RunningDemo::start(
        bin,
        &real_mode(&[
            ("HOST", "0.0.0.0"),
            SECRET,
            ("SIPDIAL_ACCESS_TOKEN", ACCESS_TOKEN),
        ]),
    );
    assert_eq!(everywhere.get("/sip/targets").status, 401, "guarded");
    // Demo mode on loopback stays open: the README's first command just works.
    let open = RunningDemo::start(bin, &[]);
    assert_eq!(open.get("/sip/targets").status, 200);
}

/// The page and its files carry exactly the expected Content-Security-Policy: scripts
/// from the page itself and the OpenTok.js origin only.
pub fn content_security_policy_is_exact(bin: &str) {
    let expect = |origin: &str| {
        format!(
            "script-src 'self'{origin}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
    };
    let demo = RunningDemo::start(bin, &[]);
    for path in ["/", "/assets/app.js", "/assets/style.css"] {
        let reply = demo.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header("content-security-policy"),
            Some(expect(" https://static.opentok.com").as_str()),
            "{path}"
        );
    }
    drop(demo);
    let own = RunningDemo::start(
        bin,
        &[("OPENTOK_JS_URL", "https://cdn.example.com:8443/ot.js")],
    );
    assert_eq!(
        own.get("/").header("content-security-policy"),
        Some(expect(" https://cdn.example.com:8443").as_str())
    );
    drop(own);
    let local = RunningDemo::start(bin, &[("OPENTOK_JS_URL", "/static/opentok.min.js")]);
    assert_eq!(
        local.get("/").header("content-security-policy"),
        Some(expect("").as_str())
    );
}

/// Demo mode signs its in-process platform's callbacks (with a random secret, none being
/// given), so an unsigned forged `callDestroyed` posted to the callback route is refused
/// with 401 and the call goes on.
pub fn demo_callbacks_are_signed(bin: &str) {
    let demo = RunningDemo::start(bin, &[]);
    let session = demo.request("POST", "/sip/session", Some(r#"{"room":"forged"}"#));
    assert_eq!(session.status, 200, "{}", session.body);
    let session_id = json(&session)["sessionId"].clone();
    let dial = serde_json::json!({ "sessionId": session_id }).to_string();
    let call = demo.request("POST", "/sip/dial", Some(&dial));
    assert_eq!(call.status, 201, "{}", call.body);
    let call = json(&call);
    let forged = serde_json::json!({
        "sessionId": session_id,
        "projectId": TEST_API_KEY,
        "event": "callDestroyed",
        "timestamp": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        "call": {
            "id": call["id"],
            "connectionId": call["connectionId"],
            "createdAt": call["createdAt"],
        },
        "reason_code": "486",
        "reason_message": "Forged",
    })
    .to_string();
    let reply = demo.request("POST", crate::CALLBACKS_PATH, Some(&forged));
    assert_eq!(reply.status, 401, "a forged callback: {}", reply.body);
    let id = call["id"].as_str().expect("a call id");
    let now = json(&demo.get(&format!("/sip/calls/{id}")));
    assert_ne!(now["state"], "ended", "the forged end was applied: {now}");
    assert!(
        demo.wait_for_stderr("signed callbacks"),
        "the start-up log says the callbacks are signed:\n{}",
        demo.stderr()
    );
}

/// The page in Chromium in real mode (the real dialer against a `FakePlatform` sending
/// signed callbacks) on `HOST=0.0.0.0` behind `SIPDIAL_ACCESS_TOKEN`: the page asks for
/// the token once, keeps it in its cookie, and the lifecycle flow places and follows
/// its calls. Screenshot: `target/artifacts/{name}.png`.
pub fn guarded_real_mode_browser_test(bin: &str, name: &str) {
    let token_arg = format!("--access-token={ACCESS_TOKEN}");
    super::lifecycle::lifecycle_browser_test_with(
        bin,
        name,
        &[("HOST", "0.0.0.0"), ("SIPDIAL_ACCESS_TOKEN", ACCESS_TOKEN)],
        &[&token_arg],
    );
}
