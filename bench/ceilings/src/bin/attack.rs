//! The attack driver of `bench/attack.sh`: one legitimate client dials and hangs up at a
//! steady rate, first alone (the quiet phase), then while attackers, at the same time,
//! create sessions, post garbage and oversized callbacks, hold `SSE_STREAMS` event
//! streams and open `SLOW_CONNS` connections that send one header byte a second; then
//! the attackers stop and the server is left to settle.
//!
//! Env: `BASE` (e.g. `http://127.0.0.1:3000`, loopback only), `TARGET_PID` (the server,
//! for its RSS and open descriptors), `PHASE_SECONDS` (20: quiet and attack each),
//! `SETTLE_SECONDS` (10), `LEGIT_RATE` (dial + hang-up pairs a second, 4),
//! `SSE_STREAMS` (2000), `SLOW_CONNS` (200), `SESSION_ATTACKERS` (2),
//! `CALLBACK_ATTACKERS` (2). Prints one `ATTACKRESULT {json}` line per phase and exits 1
//! when the legitimate client saw an error.
//!
//! Every client comes from 127.0.0.1, so each names itself in `X-Forwarded-For` (the
//! script trusts loopback as a proxy): the legitimate client as one address, the session
//! attackers as a fresh address per request (a botnet, which the per-client limits do
//! not stop and the session bound must).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sipdial_bench_ceilings::{env_or, env_required, rss_kib};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The legitimate client's address, as a trusted proxy names it.
const LEGIT_ADDR: &str = "192.0.2.10";

/// A fresh attacker address from 10.0.0.0/8.
fn botnet_addr() -> String {
    let [a, b, c, _] = rand::random::<u32>().to_be_bytes();
    format!("10.{a}.{b}.{}", c.max(1))
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("attack: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("attack: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse<T: std::str::FromStr>(name: &str, default: &str) -> Result<T, String> {
    env_or(name, default)
        .parse()
        .map_err(|_| format!("{name} must be a number"))
}

/// What the attackers did, counted as they go.
#[derive(Default)]
struct Counters {
    sessions_created: AtomicU64,
    sessions_refused: AtomicU64,
    callbacks_sent: AtomicU64,
    callbacks_accepted: AtomicU64,
    sse_open: AtomicU64,
    sse_refused: AtomicU64,
    slow_opened: AtomicU64,
    slow_cut: AtomicU64,
}

/// The server's RSS (KiB) and open file descriptors.
fn server_usage(pid: u32) -> (u64, u64) {
    let rss = rss_kib(pid).map_or(0, |(rss, _)| rss);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
    (rss, fds)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Legit {
    latencies_ms: Vec<f64>,
    errors: u64,
    pairs: u64,
}

/// Dials and hangs up at `rate` pairs a second for `seconds`; every request's latency
/// is recorded, and every answer other than 201 (dial) and 204 (hang-up) is an error.
async fn legit_client(
    client: &reqwest::Client,
    base: &str,
    session: &str,
    rate: f64,
    seconds: u64,
) -> Legit {
    let mut out = Legit {
        latencies_ms: Vec::new(),
        errors: 0,
        pairs: 0,
    };
    let interval = Duration::from_secs_f64(1.0 / rate);
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut next = Instant::now();
    let body = serde_json::json!({ "sessionId": session }).to_string();
    while Instant::now() < end {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        out.pairs += 1;
        let t = Instant::now();
        let dialed = client
            .post(format!("{base}/sip/dial"))
            .header("x-forwarded-for", LEGIT_ADDR)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let location = match dialed {
            Ok(r) if r.status().as_u16() == 201 => {
                let loc = r
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let _ = r.bytes().await;
                loc
            }
            Ok(r) => {
                eprintln!("attack: legitimate dial answered {}", r.status());
                None
            }
            Err(e) => {
                eprintln!("attack: legitimate dial failed: {e}");
                None
            }
        };
        out.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let Some(location) = location else {
            out.errors += 1;
            continue;
        };
        let t = Instant::now();
        let hung_up = client
            .delete(format!("{base}{location}"))
            .header("x-forwarded-for", LEGIT_ADDR)
            .send()
            .await;
        out.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        match hung_up {
            Ok(r) if r.status().as_u16() == 204 => {}
            Ok(r) => {
                eprintln!("attack: legitimate hang-up answered {}", r.status());
                out.errors += 1;
            }
            Err(e) => {
                eprintln!("attack: legitimate hang-up failed: {e}");
                out.errors += 1;
            }
        }
    }
    out
}

async fn create_session(
    client: &reqwest::Client,
    base: &str,
    room: &str,
    from: &str,
) -> Option<String> {
    let r = client
        .post(format!("{base}/sip/session"))
        .header("x-forwarded-for", from)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "room": room }).to_string())
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    let v: serde_json::Value = r.json().await.ok()?;
    v.get("sessionId")?.as_str().map(str::to_owned)
}

/// New rooms as fast as the server answers: each one a session the server keeps.
async fn session_attacker(
    client: reqwest::Client,
    base: String,
    stop: Arc<AtomicBool>,
    n: Arc<Counters>,
) {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let room = format!("atk-{}-{i}", rand::random::<u32>());
        match create_session(&client, &base, &room, &botnet_addr()).await {
            Some(_) => n.sessions_created.fetch_add(1, Ordering::Relaxed),
            None => n.sessions_refused.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Garbage, oversized and huge-but-within-the-limit callbacks, in turn.
async fn callback_attacker(
    client: reqwest::Client,
    base: String,
    stop: Arc<AtomicBool>,
    n: Arc<Counters>,
) {
    let garbage: Vec<u8> = (0..512).map(|_| rand::random::<u8>()).collect();
    let oversized = vec![b'x'; 256 * 1024];
    let huge_reason = serde_json::json!({
        "sessionId": "1_atk", "projectId": "1", "event": "callDestroyed",
        "call": { "id": "atk", "connectionId": "atk", "reason": "r".repeat(15_000) },
        "timestamp": 1
    })
    .to_string()
    .into_bytes();
    let bodies = [garbage, oversized, huge_reason];
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let body = bodies[i % bodies.len()].clone();
        i += 1;
        n.callbacks_sent.fetch_add(1, Ordering::Relaxed);
        if let Ok(r) = client
            .post(format!("{base}/sip/callbacks"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            if r.status().is_success() {
                n.callbacks_accepted.fetch_add(1, Ordering::Relaxed);
            }
            let _ = r.bytes().await;
        }
    }
}

/// One event stream held open: the request, then the answer read and thrown away until
/// `stop`.
async fn sse_holder(addr: String, session: String, stop: Arc<AtomicBool>, n: Arc<Counters>) {
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        n.sse_refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let head = format!(
        "GET /sip/events?sessionId={session} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        n.sse_refused.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut buf = vec![0u8; 4096];
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(k)) => {
                if first {
                    first = false;
                    if buf[..k].starts_with(b"HTTP/1.1 200") {
                        n.sse_open.fetch_add(1, Ordering::Relaxed);
                    } else {
                        n.sse_refused.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            Err(_) => {}
        }
    }
    if !first {
        n.sse_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection that sends its request head one byte a second, opened again whenever
/// the server cuts it.
async fn slow_client(addr: String, stop: Arc<AtomicBool>, n: Arc<Counters>) {
    let head = format!(
        "GET /sip/targets HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(200)
    );
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        n.slow_opened.fetch_add(1, Ordering::Relaxed);
        for byte in head.as_bytes() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if s.write_all(std::slice::from_ref(byte)).await.is_err() {
                break;
            }
            let mut probe = [0u8; 256];
            // A read that ends (or errors) within the second means the server closed it.
            match tokio::time::timeout(Duration::from_secs(1), s.read(&mut probe)).await {
                Ok(_) => break,
                Err(_) => continue,
            }
        }
        n.slow_cut.fetch_add(1, Ordering::Relaxed);
    }
}

fn report(phase: &str, legit: &mut Legit, usage: (u64, u64), n: Option<&Counters>) -> bool {
    legit.latencies_ms.sort_by(f64::total_cmp);
    let l = &legit.latencies_ms;
    let mut v = serde_json::json!({
        "phase": phase,
        "pairs": legit.pairs,
        "requests": l.len(),
        "errors": legit.errors,
        "p50_ms": percentile(l, 50.0),
        "p99_ms": percentile(l, 99.0),
        "max_ms": l.last().copied().unwrap_or(f64::NAN),
        "server_rss_kib": usage.0,
        "server_fds": usage.1,
    });
    if let Some(n) = n {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        v["attack"] = serde_json::json!({
            "sessions_created": get(&n.sessions_created),
            "sessions_refused": get(&n.sessions_refused),
            "callbacks_sent": get(&n.callbacks_sent),
            "callbacks_accepted": get(&n.callbacks_accepted),
            "sse_open": get(&n.sse_open),
            "sse_refused": get(&n.sse_refused),
            "slow_opened": get(&n.slow_opened),
            "slow_cut": get(&n.slow_cut),
        });
    }
    println!("ATTACKRESULT {v}");
    legit.errors == 0
}

async fn run() -> Result<bool, String> {
    let base = env_required("BASE")?;
    let addr = base
        .strip_prefix("http://")
        .filter(|a| a.starts_with("127.0.0.1:") || a.starts_with("[::1]:"))
        .ok_or("BASE must be http://127.0.0.1:PORT (loopback only)")?
        .trim_end_matches('/')
        .to_owned();
    let pid: u32 = parse("TARGET_PID", "0")?;
    let phase: u64 = parse("PHASE_SECONDS", "20")?;
    let settle: u64 = parse("SETTLE_SECONDS", "10")?;
    let rate: f64 = parse("LEGIT_RATE", "4")?;
    let sse_streams: usize = parse("SSE_STREAMS", "2000")?;
    let slow_conns: usize = parse("SLOW_CONNS", "200")?;
    let session_attackers: usize = parse("SESSION_ATTACKERS", "2")?;
    let callback_attackers: usize = parse("CALLBACK_ATTACKERS", "2")?;

    let legit_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let session = create_session(&legit_http, &base, "legit", LEGIT_ADDR)
        .await
        .ok_or("the legitimate client could not create its session")?;
    let mut all_ok = true;

    // Quiet.
    let mut quiet = legit_client(&legit_http, &base, &session, rate, phase).await;
    all_ok &= report("quiet", &mut quiet, server_usage(pid), None);

    // Attack: every attacker starts, then the legitimate client runs as before.
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let attack_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut tasks = Vec::new();
    for _ in 0..session_attackers {
        tasks.push(tokio::spawn(session_attacker(
            attack_http.clone(),
            base.clone(),
            stop.clone(),
            counters.clone(),
        )));
    }
    for _ in 0..callback_attackers {
        tasks.push(tokio::spawn(callback_attacker(
            attack_http.clone(),
            base.clone(),
            stop.clone(),
            counters.clone(),
        )));
    }
    // The streams watch a handful of sessions of the attackers' own.
    let mut watched = Vec::new();
    for i in 0..20 {
        if let Some(s) =
            create_session(&attack_http, &base, &format!("sse-{i}"), &botnet_addr()).await
        {
            watched.push(s);
        }
    }
    if watched.is_empty() {
        watched.push(session.clone());
    }
    for i in 0..sse_streams {
        tasks.push(tokio::spawn(sse_holder(
            addr.clone(),
            watched[i % watched.len()].clone(),
            stop.clone(),
            counters.clone(),
        )));
    }
    for _ in 0..slow_conns {
        tasks.push(tokio::spawn(slow_client(
            addr.clone(),
            stop.clone(),
            counters.clone(),
        )));
    }
    let mut attacked = legit_client(&legit_http, &base, &session, rate, phase).await;
    all_ok &= report("attack", &mut attacked, server_usage(pid), Some(&counters));

    // After: the attackers stop and close everything; the server settles.
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    drop(attack_http);
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let mut after = legit_client(&legit_http, &base, &session, rate, settle.min(phase)).await;
    all_ok &= report("after", &mut after, server_usage(pid), None);
    Ok(all_ok)
}
