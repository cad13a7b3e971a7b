//! Test helpers for the example binaries (feature `harness`): start a demo on an
//! ephemeral port and read its URL from stdout, fetch a page over plain HTTP/1.1, stop it
//! with SIGTERM, and drive the page in headless Chromium through the one shared script
//! `tests/browser/demo-flow.mjs`.
//!
//! Browser tests need Debian's `chromium`, `node` and the npm package `playwright-core`
//! in `tests/browser/node_modules` (installed here with `npm ci` when missing). When one
//! is missing the test says so loudly and passes as skipped, except under `CI=true`, where
//! a missing browser is a failure: CI must prove the page works.

mod lifecycle;
mod sip_log;

pub use lifecycle::{CALLBACK_SECRET, lifecycle_browser_test, signed_callbacks, start_real_mode};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a demo may take to print its URL (a cold debug binary on a busy 2-core box).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// Where tests leave screenshots: `target/artifacts/` (or `$CARGO_TARGET_DIR/artifacts`).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    dir
}

/// A command for `bin` with a clean environment: demo mode unless `envs` adds
/// credentials, loopback, an ephemeral port.
pub fn demo_command(bin: &str, envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

fn collect(reader: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
            t.push_str(&line);
            t.push('\n');
        }
    });
    text
}

/// A demo binary running in the background; killed when dropped.
#[derive(Debug)]
pub struct RunningDemo {
    child: Child,
    url: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl RunningDemo {
    /// Starts `bin` (from `env!("CARGO_BIN_EXE_...")`) and waits for its
    /// `listening on http://...` line. Panics with the demo's output when it exits or
    /// stays silent for [`START_TIMEOUT`].
    pub fn start(bin: &str, envs: &[(&str, &str)]) -> Self {
        let mut child = demo_command(bin, envs)
            .spawn()
            .expect("spawn the demo binary");
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        let stdout_pipe = child.stdout.take().expect("piped stdout");
        let stdout = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                {
                    let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
                    t.push_str(&line);
                    t.push('\n');
                }
                if let Some((_, url)) = line.split_once(" listening on ") {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    std::thread::sleep(Duration::from_millis(100));
                    panic!(
                        "{bin} exited ({status:?}) before printing its URL\nstderr:\n{}",
                        stderr.lock().unwrap_or_else(|e| e.into_inner())
                    );
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "{bin} printed no URL within {START_TIMEOUT:?}\nstderr:\n{}",
                    stderr.lock().unwrap_or_else(|e| e.into_inner())
                );
            }
        };
        Self {
            child,
            url,
            stdout,
            stderr,
        }
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything the demo wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Everything the demo logged to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until stderr contains `needle` (logs are written asynchronously to the
    /// stdout line), up to five seconds; returns whether it appeared.
    pub fn wait_for_stderr(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// One HTTP/1.1 request to the demo.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> HttpReply {
        http_request(&self.url, method, path, body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> HttpReply {
        self.request("GET", path, None)
    }

    /// Sends SIGTERM and waits (up to ten seconds) for the process to exit.
    pub fn terminate(mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status =
            wait_with_timeout(&mut self.child, Duration::from_secs(10)).unwrap_or_else(|| {
                panic!(
                    "the demo did not stop within 10 s of SIGTERM\nstderr:\n{}",
                    self.stderr()
                )
            });
        (status, started.elapsed())
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// How a demo run that should fail ended.
#[derive(Debug)]
pub struct Exited {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

/// Runs `bin` with `envs` and waits (up to [`START_TIMEOUT`]) for it to exit by itself,
/// as it must on a configuration error. Panics if it starts serving instead.
pub fn run_to_exit(bin: &str, envs: &[(&str, &str)]) -> Exited {
    let mut child = demo_command(bin, envs)
        .spawn()
        .expect("spawn the demo binary");
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let status = match wait_with_timeout(&mut child, START_TIMEOUT) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{bin} kept running with {envs:?}\nstdout:\n{}",
                stdout.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
    };
    // The reader threads finish at EOF, right after the exit.
    std::thread::sleep(Duration::from_millis(100));
    let text = |t: &Arc<Mutex<String>>| t.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Exited {
        status,
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl HttpReply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (`Connection: close`, identity or chunked bodies): enough
/// for a test, and no HTTP client crate pulled into the examples.
///
/// `path` is below `base_url`'s own path, so the same checks run against a demo
/// mounted at `/app`.
pub fn http_request(base_url: &str, method: &str, path: &str, body: Option<&str>) -> HttpReply {
    let rest = base_url.strip_prefix("http://").expect("an http:// URL");
    let (authority, mount) = rest.split_once('/').unwrap_or((rest, ""));
    let mount = mount.trim_end_matches('/');
    let path = &if mount.is_empty() {
        path.to_owned()
    } else {
        format!("/{mount}{path}")
    };
    let mut stream = TcpStream::connect(authority).expect("connect to the demo");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set a read timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    stream.write_all(req.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpReply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        data = &data[line_end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

/// What a browser test needs on this machine.
#[derive(Debug, Clone)]
pub struct BrowserTools {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The folder holding `demo-flow.mjs` and its `node_modules`.
    pub script_dir: PathBuf,
}

/// Finds Chromium, node and playwright-core (running `npm ci` once when the package is
/// missing); `Err` says what is missing and how to install it.
pub fn browser_tools() -> Result<BrowserTools, String> {
    let chromium = std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or("Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")?;
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node_ok {
        return Err("node is not installed (apt-get install nodejs npm)".into());
    }
    let script_dir = workspace_root().join("tests").join("browser");
    let package = script_dir.join("node_modules").join("playwright-core");
    // Tests of one binary run on parallel threads: one `npm ci` at a time.
    static NPM: Mutex<()> = Mutex::new(());
    let _one_at_a_time = NPM.lock().unwrap_or_else(|e| e.into_inner());
    if !package.is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&script_dir)
            .status();
        if !status.is_ok_and(|s| s.success()) || !package.is_dir() {
            return Err(format!(
                "playwright-core is not installed and `npm ci` in {} failed",
                script_dir.display()
            ));
        }
    }
    Ok(BrowserTools {
        chromium,
        script_dir,
    })
}

/// Whether CI demands every test really run (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Reports a browser test that cannot run: a loud skip on a developer machine, a
/// failure in CI.
pub fn skip_browser_test(test: &str, reason: &str) {
    if in_ci() {
        panic!("{test}: the browser test cannot run in CI: {reason}");
    }
    eprintln!(
        "\n==================== SKIPPED: {test} ====================\n\
         {reason}\n\
         The page was NOT tested in a browser. Install the tools with\n\
         `bash scripts/browser-test.sh` (apt chromium + npm ci), then rerun.\n\
         =========================================================\n"
    );
}

/// Runs the shared page scenario in headless Chromium against `demo`, saving a
/// screenshot as `target/artifacts/{name}.png`. `extra_args` go to the script
/// (e.g. `--expect-targets=3`). Panics with the script's and the demo's output on
/// failure; returns the screenshot path.
pub fn run_browser_flow(
    tools: &BrowserTools,
    demo: &RunningDemo,
    name: &str,
    extra_args: &[&str],
) -> PathBuf {
    let dir = artifacts_dir();
    let screenshot = dir.join(format!("{name}.png"));
    for stale in ["", "-phone", "-failure"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{stale}.png")));
    }
    let mut child = Command::new("node")
        .arg(tools.script_dir.join("demo-flow.mjs"))
        .arg(format!("--url={}/", demo.url()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .args(extra_args)
        .env("CHROMIUM_PATH", &tools.chromium)
        .current_dir(&tools.script_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = collect(child.stdout.take().expect("piped stdout"));
    let err = collect(child.stderr.take().expect("piped stderr"));
    let status = wait_with_timeout(&mut child, Duration::from_secs(240));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    std::thread::sleep(Duration::from_millis(100));
    let text = |t: &Arc<Mutex<String>>| t.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (stdout, stderr) = (text(&out), text(&err));
    print!("{stdout}");
    match status {
        Some(s) if s.success() => {
            assert!(
                screenshot.is_file(),
                "the flow passed but saved no screenshot"
            );
            println!("screenshot: {}", screenshot.display());
            screenshot
        }
        other => panic!(
            "browser flow `{name}` failed ({other:?})\n--- script stdout ---\n{stdout}\n--- script stderr ---\n{stderr}\n--- demo stderr ---\n{}",
            demo.stderr()
        ),
    }
}

/// The checks every example binary must pass, written once and called from each demo's
/// `tests/binary.rs` with its own executable.
pub mod checks {
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
                run.stderr.contains(&format!("{app}: configuration error"))
                    && run.stderr.contains(var),
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
    /// dial beyond them answers 429 with `Retry-After`.
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
}

/// Starts `bin` in demo mode with `envs` and runs the browser flow against it, or skips
/// loudly when the tools are missing (failing under `CI=true`).
pub fn browser_test(bin: &str, name: &str, envs: &[(&str, &str)], args: &[&str]) {
    let tools = match browser_tools() {
        Ok(tools) => tools,
        Err(reason) => return skip_browser_test(name, &reason),
    };
    let demo = RunningDemo::start(bin, envs);
    if sip_log::is_demo_mode(envs) {
        let mut args = args.to_vec();
        args.push("--sip-timing");
        run_browser_flow(&tools, &demo, name, &args);
        sip_log::assert_real_sip(&demo);
    } else {
        run_browser_flow(&tools, &demo, name, args);
    }
}
