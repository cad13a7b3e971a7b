//! The scale test driver: `CONCURRENCY` (default 1000) dials sent at once to `DIAL_URL`,
//! `ROUNDS` times (default 3), against a fake platform that holds every dial for a while
//! (bench/run.sh sets `FAKE_DIAL_DELAY_MS=250`), so that all of them are in flight at
//! the same moment.
//!
//! Body: `{"sessionId": SESSION_ID}`. With `TARGET_PID` set, the target's `VmRSS` and
//! `VmHWM` are read after each round to show that memory stays bounded. Prints one
//! `BURSTRESULT {json}` line per round and exits 1 when any dial did not answer 201.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use sipdial_bench_ceilings::{env_or, env_required, rss_kib};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dial-burst: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("dial-burst: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse<T: std::str::FromStr>(name: &str, default: &str) -> Result<T, String> {
    env_or(name, default)
        .parse()
        .map_err(|_| format!("{name} must be a number"))
}

async fn run() -> Result<bool, String> {
    let url = env_required("DIAL_URL")?;
    let session = env_required("SESSION_ID")?;
    let concurrency: usize = parse("CONCURRENCY", "1000")?;
    let rounds: usize = parse("ROUNDS", "3")?;
    let pid: Option<u32> = std::env::var("TARGET_PID")
        .ok()
        .and_then(|p| p.parse().ok());
    let body = serde_json::json!({ "sessionId": session }).to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut all_ok = true;
    for round in 1..=rounds {
        let started = Instant::now();
        let sends = (0..concurrency).map(|_| {
            let request = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            async move {
                let t = Instant::now();
                let status = match request.send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        // Read the whole answer: a dial is done when its JSON is.
                        match r.bytes().await {
                            Ok(_) => s,
                            Err(_) => 0,
                        }
                    }
                    Err(_) => 0,
                };
                (status, t.elapsed())
            }
        });
        let results = join_all(sends).await;
        let wall = started.elapsed();
        let ok = results.iter().filter(|(s, _)| *s == 201).count();
        let mut statuses: Vec<u16> = results
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| *s != 201)
            .collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut lat: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
        lat.sort_unstable();
        let pct = |p: f64| {
            let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
            lat[i].as_secs_f64() * 1000.0
        };
        let (rss, hwm) = pid.and_then(rss_kib).unwrap_or((0, 0));
        all_ok &= ok == concurrency;
        println!(
            "BURSTRESULT {}",
            serde_json::json!({
                "round": round,
                "requests": concurrency,
                "ok": ok,
                "errors": concurrency - ok,
                "error_statuses": statuses,
                "wall_ms": (wall.as_secs_f64() * 1000.0).round(),
                "p50_ms": pct(0.50).round(),
                "p99_ms": pct(0.99).round(),
                "max_ms": pct(1.0).round(),
                "target_rss_kib": rss,
                "target_hwm_kib": hwm,
            })
        );
    }
    Ok(all_ok)
}
