//! Serves a [`sipdial_testing::FakePlatform`] until Ctrl-C or SIGTERM, for tests written
//! in other languages (e.g. the official Node SDK's flow) and for manual runs.
//!
//! Environment: `FAKE_API_KEY`, `FAKE_API_SECRET` (default: the test credentials),
//! `FAKE_APPLICATION_ID` with `FAKE_APPLICATION_PUBLIC_KEY_PATH` (default: the test
//! application), `HOST` (default `127.0.0.1`), `PORT` (default `0`, an ephemeral port),
//! `FAKE_DIAL_DELAY_MS` (optional: every dial answers after this delay, for load tests),
//! `FAKE_CALLBACK_DROP_RATE` (0 to 1: that share of callbacks is lost, never sent),
//! `FAKE_CALLBACK_URL` and `FAKE_CALLBACK_SECRET` (where the platform's callbacks go, and
//! the secret that signs them), `FAKE_RING_AFTER_MS` and `FAKE_ANSWER_AFTER_MS` (every
//! call rings and is answered that long after its dial).
//!
//! SIP (docs/sip-emulation.md): `FAKE_SIP=1` places a real SIP call for every dial;
//! `FAKE_SIP_BIND` (default `127.0.0.1:0`) is the gateway's UDP+TCP address,
//! `FAKE_SIP_ROUTE=host:port` sends every INVITE there instead of the dialed host,
//! `FAKE_SIP_RING_TIMEOUT_MS` cancels unanswered calls (default 60 s), and
//! `FAKE_SIP_ENDPOINT=1` also runs the bundled answering endpoint (rings at 1 s,
//! answers at 3 s, `busy` is busy) and routes every INVITE to it unless
//! `FAKE_SIP_ROUTE` says otherwise.
//! Prints `fake platform listening on http://HOST:PORT` once it accepts connections.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use sipdial_testing::{
    CallScript, Delivery, FakePlatform, Fault, FaultRule, TEST_API_KEY, TEST_API_SECRET,
};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn millis(name: &str) -> Result<Option<std::time::Duration>, String> {
    non_empty(name)
        .map(|v| {
            v.parse()
                .map(std::time::Duration::from_millis)
                .map_err(|_| format!("{name} must be a number of milliseconds"))
        })
        .transpose()
}

fn main() -> ExitCode {
    // `RUST_LOG` as usual; by default the fake's own progress (SIP calls) at info.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("sipdial_testing=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fake-platform: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-platform: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let host: IpAddr = env_or("HOST", "127.0.0.1")
        .parse()
        .map_err(|_| "HOST must be an IP address".to_owned())?;
    let port: u16 = env_or("PORT", "0")
        .parse()
        .map_err(|_| "PORT must be a number from 0 to 65535".to_owned())?;
    let mut builder = FakePlatform::builder()
        .api_key(env_or("FAKE_API_KEY", TEST_API_KEY))
        .api_secret(env_or("FAKE_API_SECRET", TEST_API_SECRET))
        .bind(SocketAddr::new(host, port));
    if let Ok(app_id) = std::env::var("FAKE_APPLICATION_ID") {
        let path = std::env::var("FAKE_APPLICATION_PUBLIC_KEY_PATH")
            .map_err(|_| "FAKE_APPLICATION_ID needs FAKE_APPLICATION_PUBLIC_KEY_PATH".to_owned())?;
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read FAKE_APPLICATION_PUBLIC_KEY_PATH: {e}"))?;
        builder = builder.application(app_id, pem);
    }
    if let Some(url) = non_empty("FAKE_CALLBACK_URL") {
        builder = builder.callback_url(url);
    }
    if let Some(secret) = non_empty("FAKE_CALLBACK_SECRET") {
        builder = builder.callback_secret(secret);
    }
    match (
        millis("FAKE_RING_AFTER_MS")?,
        millis("FAKE_ANSWER_AFTER_MS")?,
    ) {
        (None, None) => {}
        (ring, answer) => {
            let ring = ring.unwrap_or_default();
            builder = builder.script_calls(CallScript::new(ring, answer.unwrap_or(ring)));
        }
    }
    if let Some(rate) = non_empty("FAKE_CALLBACK_DROP_RATE") {
        let rate: f64 = rate
            .parse()
            .ok()
            .filter(|r: &f64| (0.0..=1.0).contains(r))
            .ok_or_else(|| "FAKE_CALLBACK_DROP_RATE must be a number from 0 to 1".to_owned())?;
        builder = builder.callback_delivery(Delivery::new().drop_rate(rate));
    }
    let (builder, _endpoint) = sip_options(builder).await?;
    let platform = builder
        .start()
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    // Load tests (bench/run.sh): hold every dial this long, so that many are in flight.
    if let Ok(ms) = std::env::var("FAKE_DIAL_DELAY_MS")
        && !ms.is_empty()
    {
        let ms: u64 = ms
            .parse()
            .map_err(|_| "FAKE_DIAL_DELAY_MS must be a number of milliseconds".to_owned())?;
        platform.inject(
            FaultRule::new(Fault::Delay(std::time::Duration::from_millis(ms)))
                .method(http::Method::POST)
                .path_contains("/dial"),
        );
    }
    let addr = platform.local_addr();
    {
        let mut out = std::io::stdout().lock();
        if let Some(sip) = platform.sip_addr() {
            let _ = writeln!(out, "fake platform SIP gateway on udp+tcp {sip}");
        }
        let _ = writeln!(out, "fake platform listening on http://{addr}");
        let _ = out.flush();
    }
    // Long load runs: forget the recorded requests and callbacks every so often, so the
    // inspection logs (kilobytes per dial) do not grow through millions of requests.
    let forget = match std::env::var("FAKE_FORGET_MS") {
        Ok(ms) if !ms.is_empty() => Some(
            ms.parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(std::time::Duration::from_millis)
                .ok_or_else(|| "FAKE_FORGET_MS must be a positive number".to_owned())?,
        ),
        _ => None,
    };
    match forget {
        None => wait_for_signal().await,
        Some(every) => {
            let signal = wait_for_signal();
            tokio::pin!(signal);
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    () = &mut signal => break,
                    _ = tick.tick() => {
                        platform.clear_requests();
                        platform.clear_callbacks();
                    }
                }
            }
        }
    }
    platform.shutdown().await;
    Ok(())
}

fn flag(name: &str) -> Result<bool, String> {
    match non_empty(name).as_deref() {
        None | Some("0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(_) => Err(format!("{name} must be 1 or 0")),
    }
}

/// Turns SIP on from the environment; the endpoint, when asked for, lives as long as
/// the returned handle.
#[cfg(feature = "sip")]
async fn sip_options(
    mut builder: sipdial_testing::FakePlatformBuilder,
) -> Result<
    (
        sipdial_testing::FakePlatformBuilder,
        Option<sipdial_testing::sip::endpoint::SipEndpoint>,
    ),
    String,
> {
    use sipdial_testing::SipConfig;
    use sipdial_testing::sip::endpoint::{EndpointConfig, SipEndpoint};
    if !flag("FAKE_SIP")? {
        return Ok((builder, None));
    }
    let addr = |name: &str| -> Result<Option<SocketAddr>, String> {
        non_empty(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{name} must be host:port (an IP address)"))
            })
            .transpose()
    };
    let mut config = SipConfig::new();
    if let Some(bind) = addr("FAKE_SIP_BIND")? {
        config = config.bind(bind);
    }
    if let Some(limit) = millis("FAKE_SIP_RING_TIMEOUT_MS")? {
        config = config.ring_timeout(limit);
    }
    let mut endpoint = None;
    if flag("FAKE_SIP_ENDPOINT")? {
        let phone = SipEndpoint::start(EndpointConfig::default())
            .await
            .map_err(|e| format!("cannot start the SIP endpoint: {e}"))?;
        println!("SIP endpoint on udp+tcp {}", phone.local_addr());
        config = config.route(phone.local_addr());
        endpoint = Some(phone);
    }
    if let Some(route) = addr("FAKE_SIP_ROUTE")? {
        config = config.route(route);
    }
    builder = builder.sip(config);
    Ok((builder, endpoint))
}

#[cfg(not(feature = "sip"))]
async fn sip_options(
    builder: sipdial_testing::FakePlatformBuilder,
) -> Result<(sipdial_testing::FakePlatformBuilder, Option<()>), String> {
    if flag("FAKE_SIP")? {
        return Err("FAKE_SIP=1 needs the `sip` feature".to_owned());
    }
    Ok((builder, None))
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
