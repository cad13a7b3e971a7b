//! In-process token minting rate, the figure compared with the Node SDK's
//! `generateToken(sessionId, {role: 'moderator'})` loop (`bench-generate-token.js` of the
//! reference stack): `OpenTokDialer::issue_token` with project credentials in a tight
//! loop on one thread for `BENCH_SECONDS` (default 3).
//!
//! Prints one line `BENCHRESULT {"calls":N,"elapsed_s":S,"calls_per_s":R,"us_per_call":U}`,
//! the same fields the Node script prints.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sipdial_bench_ceilings::env_or;
use sipdial_core::session_format::{self, SessionIdParts};
use sipdial_core::{Role, SipDialer as _, TokenOptions};
use sipdial_opentok::{Credentials, OpenTokDialer};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mint-rate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let key = env_or("OPENTOK_API_KEY", "47000001");
    let secret = env_or(
        "OPENTOK_API_SECRET",
        "0123456789abcdef0123456789abcdef01234567",
    );
    let seconds: f64 = env_or("BENCH_SECONDS", "3")
        .parse()
        .map_err(|_| "BENCH_SECONDS must be a number".to_owned())?;
    // Never contacted: minting is local.
    let dialer = OpenTokDialer::builder(Credentials::project(key.clone(), secret))
        .base_url("http://127.0.0.1:9")
        .build()
        .map_err(|e| format!("cannot build the dialer: {e}"))?;
    let session = session_format::encode(&SessionIdParts {
        api_key: key,
        location: String::new(),
        create_time: "Mon Jan 01 00:00:00 PST 2024".to_owned(),
        random: "0.123456789".to_owned(),
    })
    .map_err(|e| format!("cannot make a session id: {e}"))?;
    let options = TokenOptions {
        role: Role::Moderator,
        ..TokenOptions::default()
    };
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut calls: u64 = 0;
    let mut sink = 0usize;
    while start.elapsed() < budget {
        for _ in 0..64 {
            let token = dialer
                .issue_token(black_box(&session), options.clone())
                .map_err(|e| format!("minting failed: {e}"))?;
            sink ^= token.expose_secret().len();
        }
        calls += 64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "BENCHRESULT {}",
        serde_json::json!({
            "calls": calls,
            "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
            "calls_per_s": (calls as f64 / elapsed).round(),
            "us_per_call": ((elapsed * 1e6 / calls as f64) * 100.0).round() / 100.0,
            "sink": sink & 1,
        })
    );
    Ok(())
}
