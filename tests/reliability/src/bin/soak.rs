//! Soak: a steady loopback load on every route of the API, served by Axum over the real
//! `OpenTokDialer` against the fake platform, with platform faults injected at a known
//! rate. Reports requests, errors beyond the injected ones (must be 0), latency
//! percentiles, and RSS, open file descriptors and runtime tasks at start, middle and
//! end (must stay flat); exits non-zero on any violation.
//!
//! Settings (environment): `SOAK_SECONDS` (default 300), `SOAK_RATE` (requests per
//! second, default 100), `SOAK_WORKERS` (default 4), `SOAK_FAULT_EVERY` (one cycle in N
//! of each worker carries a fault, default 10). Run it with `scripts/soak.sh`.
//!
//! Each worker uses one room: the in-memory store keeps a room's session for the life of
//! the process by design, so new rooms would be growth that is not a leak. Faults of
//! session creation are covered by the fault tests instead.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};
use sipdial_reliability_tests::probe;
use sipdial_reliability_tests::{AppServer, PlatformHost, Stack, StackConfig};
use sipdial_testing::{Fault, FaultRule};
use tokio::sync::{Mutex, RwLock};

/// Settings read from the environment.
#[derive(Debug, Clone, Copy)]
struct Settings {
    seconds: u64,
    rate: u64,
    workers: u64,
    fault_every: u64,
}

fn env_u64(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} must be a positive integer, not {v:?}")),
        Err(_) => Ok(default),
    }
}

impl Settings {
    fn from_env() -> Result<Self, String> {
        Ok(Self {
            seconds: env_u64("SOAK_SECONDS", 300)?,
            rate: env_u64("SOAK_RATE", 100)?,
            workers: env_u64("SOAK_WORKERS", 4)?,
            fault_every: env_u64("SOAK_FAULT_EVERY", 10)?,
        })
    }
}

/// The dialer's request timeout during the soak.
const TIMEOUT: Duration = Duration::from_secs(1);

/// What one request must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any 2xx.
    Success,
    /// Exactly this status (an injected fault).
    Status(u16),
}

/// A platform fault, where it applies, and what the caller must see.
#[derive(Debug, Clone)]
struct Injection {
    fault: Fault,
    /// What the route answers with this fault (hang-ups are retried).
    expect: Expect,
}

/// The routes that reach the platform, in the order a cycle uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlatformRoute {
    Session,
    Dial,
    Dtmf,
    HangUp,
}

fn injection(route: PlatformRoute, n: u64) -> Injection {
    let stall = Fault::Delay(TIMEOUT + Duration::from_millis(500));
    let reset = Fault::DropConnection;
    let s500 = Fault::status(500);
    let s503 = Fault::status(503);
    let limited = Fault::Status {
        status: 429,
        body: None,
        retry_after: Some(7),
    };
    let faults = [stall, reset, s500, s503, limited, Fault::MalformedJson];
    let mut fault = faults[usize::try_from(n).unwrap_or(0) % faults.len()].clone();
    if route == PlatformRoute::HangUp && fault == Fault::MalformedJson {
        // The fake answers a malformed 200 without acting, where the real platform's
        // garbled 200 follows a done hang-up: the store and the fake would disagree
        // for a reason of the fake's. A 502 instead.
        fault = Fault::status(502);
    }
    let expect = match (&fault, route) {
        (Fault::Delay(_), _) => Expect::Status(504),
        (Fault::Status { status: 429, .. }, _) => Expect::Status(429),
        // Retried by the dialer, then answered by the platform.
        (_, PlatformRoute::HangUp) => Expect::Success,
        // A 200 without a body to read.
        (Fault::MalformedJson, PlatformRoute::Dtmf) => Expect::Success,
        _ => Expect::Status(502),
    };
    Injection { fault, expect }
}

fn rule(route: PlatformRoute, fault: Fault, session: &str, connection: &str) -> FaultRule {
    let rule = FaultRule::new(fault).once();
    match route {
        PlatformRoute::Session => rule.path_contains("/session/create"),
        PlatformRoute::Dial => rule.path_contains("/dial"),
        PlatformRoute::Dtmf => rule.path_contains(format!(
            "/session/{session}/connection/{connection}/play-dtmf"
        )),
        PlatformRoute::HangUp => rule
            .method(Method::DELETE)
            .path_contains(format!("/connection/{connection}")),
    }
}

/// Counters shared by the workers.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    injected: AtomicU64,
    injected_failures: AtomicU64,
    unexpected: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
    sessions: Mutex<std::collections::BTreeSet<String>>,
    first_unexpected: Mutex<Vec<String>>,
}

struct Worker {
    id: u64,
    client: reqwest::Client,
    base: String,
    host: Arc<PlatformHost>,
    tally: Arc<Tally>,
    /// Normal requests hold it shared; a request carrying a fault holds it alone, so
    /// the fault is consumed by exactly that request.
    gate: Arc<RwLock<()>>,
    pace: Duration,
    next_at: Instant,
    settings: Settings,
}

impl Worker {
    async fn pace(&mut self) {
        self.next_at += self.pace;
        tokio::time::sleep_until(self.next_at.into()).await;
    }

    /// One request; checks the answer against `expect`.
    async fn request(
        &mut self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: Expect,
    ) -> Value {
        self.pace().await;
        let url = format!("{}/sip{path}", self.base);
        let mut req = self.client.request(method, url);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let started = Instant::now();
        let result = req.send().await;
        let (status, json) = match result {
            Ok(res) => {
                let status = res.status().as_u16();
                let json = res.json::<Value>().await.unwrap_or(Value::Null);
                (status, json)
            }
            Err(e) => (0, json!({ "transport": e.to_string() })),
        };
        let elapsed = started.elapsed();
        let t = &self.tally;
        t.requests.fetch_add(1, Ordering::Relaxed);
        t.latencies_us
            .lock()
            .await
            .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        let ok = match expect {
            Expect::Success => (200..300).contains(&status),
            Expect::Status(s) => {
                status == s && json["error"]["code"].is_string() && elapsed < TIMEOUT * 2
            }
        };
        if matches!(expect, Expect::Status(_)) {
            t.injected_failures.fetch_add(1, Ordering::Relaxed);
        }
        if !ok {
            t.unexpected.fetch_add(1, Ordering::Relaxed);
            let mut first = t.first_unexpected.lock().await;
            if first.len() < 10 {
                first.push(format!(
                    "worker {} {what}: expected {expect:?}, got {status} after {elapsed:?}: {json}",
                    self.id
                ));
            }
        }
        json
    }

    /// A platform route's request, carrying a fault when `fault` is set.
    async fn platform_request(
        &mut self,
        route: PlatformRoute,
        fault: Option<(u64, &str, &str)>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let gate = Arc::clone(&self.gate);
        match fault {
            None => {
                let _shared = gate.read().await;
                self.request(&format!("{route:?}"), method, path, body, Expect::Success)
                    .await
            }
            Some((n, session, connection)) => {
                let _alone = gate.write().await;
                let inj = injection(route, n);
                self.host
                    .inject(rule(route, inj.fault.clone(), session, connection));
                self.tally.injected.fetch_add(1, Ordering::Relaxed);
                let what = format!("{route:?} with {:?}", inj.fault);
                let reply = self.request(&what, method, path, body, inj.expect).await;
                // A fault no request consumed must not hit a later one.
                self.host.clear_faults();
                reply
            }
        }
    }

    async fn run(mut self, until: Instant) {
        let mut cycle: u64 = 0;
        while Instant::now() < until {
            cycle += 1;
            let faulty = cycle.is_multiple_of(self.settings.fault_every);
            // Which platform route of this cycle carries the fault, and which fault.
            let n = cycle / self.settings.fault_every + self.id;
            let fault_route = [
                PlatformRoute::Dial,
                PlatformRoute::Dtmf,
                PlatformRoute::HangUp,
            ][usize::try_from(n).unwrap_or(0) % 3];
            let at = |r: PlatformRoute| faulty && fault_route == r;

            let room = format!("soak-{}", self.id);
            let body = Some(json!({ "room": room }));
            let session = self
                .platform_request(PlatformRoute::Session, None, Method::POST, "/session", body)
                .await;
            let Some(sid) = session["sessionId"].as_str().map(str::to_owned) else {
                continue;
            };
            self.tally.sessions.lock().await.insert(sid.clone());
            let gate = Arc::clone(&self.gate);
            {
                let _g = gate.read().await;
                self.request("targets", Method::GET, "/targets", None, Expect::Success)
                    .await;
                let body = Some(json!({ "sessionId": sid }));
                self.request("token", Method::POST, "/token", body, Expect::Success)
                    .await;
            }

            let fault = at(PlatformRoute::Dial).then_some((n, "", ""));
            let body = Some(json!({ "sessionId": sid }));
            let mut call = self
                .platform_request(
                    PlatformRoute::Dial,
                    fault,
                    Method::POST,
                    "/dial",
                    body.clone(),
                )
                .await;
            if call["id"].is_null() {
                call = self
                    .platform_request(PlatformRoute::Dial, None, Method::POST, "/dial", body)
                    .await;
            }
            let (Some(id), Some(conn)) = (
                call["id"].as_str().map(str::to_owned),
                call["connectionId"].as_str().map(str::to_owned),
            ) else {
                continue;
            };
            {
                let _g = gate.read().await;
                self.request(
                    "get call",
                    Method::GET,
                    &format!("/calls/{id}"),
                    None,
                    Expect::Success,
                )
                .await;
            }
            let fault = at(PlatformRoute::Dtmf).then_some((n, sid.as_str(), conn.as_str()));
            let path = format!("/calls/{id}/dtmf");
            self.platform_request(
                PlatformRoute::Dtmf,
                fault,
                Method::POST,
                &path,
                Some(json!({ "digits": "1234#" })),
            )
            .await;
            {
                let _g = gate.read().await;
                let path = format!("/calls?sessionId={sid}");
                self.request("list calls", Method::GET, &path, None, Expect::Success)
                    .await;
            }
            let fault = at(PlatformRoute::HangUp).then_some((n, sid.as_str(), conn.as_str()));
            let path = format!("/calls/{id}");
            self.platform_request(PlatformRoute::HangUp, fault, Method::DELETE, &path, None)
                .await;
            // Hanging up again is idempotent (and heals a hang-up that failed).
            self.platform_request(PlatformRoute::HangUp, None, Method::DELETE, &path, None)
                .await;
            {
                let _g = gate.read().await;
                let path = format!("/calls/{id}");
                let call = self
                    .request("ended call", Method::GET, &path, None, Expect::Success)
                    .await;
                if call["state"] != "ended" {
                    self.tally.unexpected.fetch_add(1, Ordering::Relaxed);
                    self.tally
                        .first_unexpected
                        .lock()
                        .await
                        .push(format!("call {id} not ended after its hang-up: {call}"));
                }
            }
        }
    }
}

/// Resource figures at one moment.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    tasks: usize,
    requests: u64,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "t={:.1}s requests={} rss={} KiB fds={} tasks={}",
            self.at.as_secs_f64(),
            self.requests,
            self.rss_kib,
            self.fds,
            self.tasks
        )
    }
}

fn sample(started: Instant, tally: &Tally) -> Sample {
    Sample {
        at: started.elapsed(),
        rss_kib: probe::rss_kib(),
        fds: probe::open_fds(),
        tasks: probe::alive_tasks(),
        requests: tally.requests.load(Ordering::Relaxed),
    }
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    Duration::from_micros(u64::from(sorted[idx.min(sorted.len() - 1)]))
}

async fn soak(settings: Settings, host: Arc<PlatformHost>) -> Result<(), Vec<String>> {
    let stack = Stack::new(
        &host.url(),
        StackConfig {
            timeout: TIMEOUT,
            ..StackConfig::default()
        },
    );
    let server = AppServer::start(stack.api.clone())
        .await
        .map_err(|e| vec![format!("could not serve: {e}")])?;
    let tally = Arc::new(Tally::default());
    let gate = Arc::new(RwLock::new(()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| vec![format!("client: {e}")])?;

    // Warm up (connections, allocator) before the first sample.
    let warmup = Instant::now() + Duration::from_secs(2);
    let started = Instant::now();
    let total = Duration::from_secs(settings.seconds);
    let until = started + total + Duration::from_secs(2);
    let per_worker = Duration::from_secs_f64(settings.workers as f64 / settings.rate as f64);
    let mut workers = Vec::new();
    for id in 0..settings.workers {
        let w = Worker {
            id,
            client: client.clone(),
            base: server.url(),
            host: Arc::clone(&host),
            tally: Arc::clone(&tally),
            gate: Arc::clone(&gate),
            pace: per_worker,
            next_at: Instant::now() + per_worker.mul_f64(id as f64 / settings.workers as f64),
            settings,
        };
        workers.push(tokio::spawn(w.run(until)));
    }
    // The platform's call callbacks go to the app's callbacks route, as in production.
    host.set_callback_url(Some(&format!("{}/sip/callbacks", server.url())));
    // The fake records every request and callback; forget them as we go so that its
    // memory stays flat and what is measured is the app's.
    let cleaner = {
        let host = Arc::clone(&host);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                host.clear_requests();
                host.clear_callbacks();
            }
        })
    };

    tokio::time::sleep_until(warmup.into()).await;
    let measure_from = Instant::now();
    let start = sample(started, &tally);
    println!("start   {start}");
    // Ten samples along the way (printed, to see a trend), the fifth is the middle.
    let mut middle = start;
    for i in 1..10 {
        tokio::time::sleep(total / 10).await;
        let s = sample(started, &tally);
        println!("sample  {s}");
        if i == 5 {
            middle = s;
        }
    }
    for w in workers {
        let _ = w.await;
    }
    // Idle connections close and their tasks end: let the last answers settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let end = sample(started, &tally);
    println!("end     {end}");
    cleaner.abort();

    let mut lat = tally.latencies_us.lock().await.clone();
    lat.sort_unstable();
    let requests = tally.requests.load(Ordering::Relaxed);
    let injected = tally.injected.load(Ordering::Relaxed);
    let injected_failures = tally.injected_failures.load(Ordering::Relaxed);
    let unexpected = tally.unexpected.load(Ordering::Relaxed);
    let measured = measure_from.elapsed().as_secs_f64();
    println!(
        "requests {requests} ({:.1}/s over {:.0} s, {} workers)",
        (end.requests - start.requests) as f64 / measured,
        measured,
        settings.workers
    );
    println!(
        "faults injected {injected}, expected failures {injected_failures} (the rest were retried away or harmless), unexpected errors {unexpected}"
    );
    println!(
        "latency p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!(
        "rss KiB start {} middle {} end {}; open fds start {} middle {} end {}; tasks start {} middle {} end {}",
        start.rss_kib,
        middle.rss_kib,
        end.rss_kib,
        start.fds,
        middle.fds,
        end.fds,
        start.tasks,
        middle.tasks,
        end.tasks
    );

    let sessions = tally.sessions.lock().await.clone();
    let mut retained = 0;
    let mut live = 0;
    let mut platform_conns = 0;
    let mut mismatched = Vec::new();
    for sid in &sessions {
        let Ok(id) = sipdial_core::SessionId::new(sid.as_str()) else {
            continue;
        };
        let calls = stack
            .api
            .store()
            .session_calls(&id, true)
            .await
            .unwrap_or_default();
        retained += calls.len();
        live += calls
            .iter()
            .filter(|c| c.state != sipdial_core::api::CallState::Ended)
            .count();
        let conns = host.connections(sid);
        for c in conns.iter().filter(|c| c.sip.is_some()) {
            let live_here = calls.iter().any(|r| {
                r.connection_id.as_str() == c.connection_id
                    && r.state != sipdial_core::api::CallState::Ended
            });
            if !live_here {
                mismatched.push(c.connection_id.clone());
            }
        }
        platform_conns += conns.len();
    }
    let failed_callbacks = host.callback_failures().len();
    println!("callback deliveries that failed since the last clear: {failed_callbacks}");
    println!(
        "store: {} sessions, {retained} call records retained ({live} not ended); platform: {} sessions, {platform_conns} connections",
        sessions.len(),
        host.sessions().len()
    );

    let mut violations = tally.first_unexpected.lock().await.clone();
    if !mismatched.is_empty() {
        violations.push(format!(
            "SIP calls live on the platform but not live in the store: {mismatched:?}"
        ));
    }
    if unexpected > 0 {
        violations.push(format!("{unexpected} errors beyond the injected faults"));
    }
    if requests == 0 || injected == 0 {
        violations.push("no load or no faults were applied".to_owned());
    }
    // Flat: steady state (middle to end) may not grow beyond noise; connection pools
    // may hold a few more or fewer sockets and tasks.
    let slack_conns = usize::try_from(settings.workers * 2 + 4).unwrap_or(usize::MAX);
    if end.fds > middle.fds + slack_conns {
        violations.push(format!(
            "open fds grew: {} -> {} -> {}",
            start.fds, middle.fds, end.fds
        ));
    }
    if end.tasks > middle.tasks + slack_conns {
        violations.push(format!(
            "tasks grew: {} -> {} -> {}",
            start.tasks, middle.tasks, end.tasks
        ));
    }
    let rss_limit = middle.rss_kib + middle.rss_kib / 10 + 4096;
    if end.rss_kib > rss_limit {
        violations.push(format!(
            "RSS grew: {} -> {} -> {} KiB (limit {rss_limit})",
            start.rss_kib, middle.rss_kib, end.rss_kib
        ));
    }
    let mut server = server;
    server.begin_shutdown();
    if let Err(e) = server.wait().await {
        violations.push(format!("the server did not exit cleanly: {e}"));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    println!("soak: {settings:?}, dialer timeout {TIMEOUT:?}");
    let host = match PlatformHost::start() {
        Ok(h) => Arc::new(h),
        Err(e) => {
            eprintln!("soak: could not start the fake platform: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("soak: no runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(soak(settings, Arc::clone(&host)));
    runtime.shutdown_background();
    match result {
        Ok(()) => {
            println!("soak: PASS");
            ExitCode::SUCCESS
        }
        Err(violations) => {
            for v in &violations {
                eprintln!("soak: VIOLATION: {v}");
            }
            println!("soak: FAIL");
            ExitCode::FAILURE
        }
    }
}
