//! Process plumbing both demos share: logging, start-up (config, socket, the lines an
//! operator and the tests read) and the shutdown signal.

use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use crate::{Demo, vars};

/// Exit code for a configuration the demo refuses (sysexits' `EX_CONFIG`).
pub const EXIT_CONFIG: u8 = 78;
/// Exit code when the socket cannot be opened (sysexits' `EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: u8 = 69;

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`, and `warn`
/// for rsipstack, which logs every SIP datagram at info); stdout is kept for the one
/// "listening on" line that scripts and tests read.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rsipstack=warn"));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Everything before serving: logging, configuration, the listening socket and the
/// start-up lines. On failure the reason has been printed (naming the variable to fix)
/// and the caller returns the exit code.
///
/// The listener is non-blocking, ready for `tokio::net::TcpListener::from_std` or
/// actix's `HttpServer::listen`.
pub fn start(app_name: &'static str) -> Result<(Demo, TcpListener), ExitCode> {
    init_tracing();
    // Before the API exists, so that it records from its first request.
    crate::install_metrics();
    let backend = crate::shared_state::from_env().map_err(|e| {
        eprintln!("{app_name}: shared state unavailable: {e}");
        ExitCode::from(EXIT_UNAVAILABLE)
    })?;
    let demo = Demo::from_env_with_backend(app_name, backend).map_err(|e| {
        eprintln!("{app_name}: configuration error: {e}");
        ExitCode::from(EXIT_CONFIG)
    })?;
    let addr = demo.config().listen_addr();
    let listener = TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| {
            eprintln!(
                "{app_name}: cannot listen on {addr}: {e} (set {} or {} to change it)",
                vars::HOST,
                vars::PORT
            );
            ExitCode::from(EXIT_UNAVAILABLE)
        })?;
    let local = listener.local_addr().map_err(|e| {
        eprintln!("{app_name}: cannot read the listening address: {e}");
        ExitCode::from(EXIT_UNAVAILABLE)
    })?;
    demo.listening_on(browsable(local));
    announce(&demo, local);
    Ok((demo, listener))
}

/// The URL to open: an unspecified bind address (`0.0.0.0`, `::`) is reachable on
/// loopback, so that is what a browser should be given.
fn browsable(addr: SocketAddr) -> SocketAddr {
    let mut shown = addr;
    if addr.ip().is_unspecified() {
        shown.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    shown
}

fn announce(demo: &Demo, local: SocketAddr) {
    let app = demo.app_name();
    let config = demo.config();
    if demo.is_demo() {
        tracing::warn!(
            "DEMO MODE: no OpenTok/Vonage credentials are set, so calls go to an in-process \
             fake platform that places real SIP calls to a bundled SIP endpoint on loopback \
             (or, if that cannot start, to the in-memory FakeDialer); nothing leaves this \
             machine. To use the real Vonage Video cloud, set \
             OPENTOK_API_KEY and OPENTOK_API_SECRET (or VONAGE_APPLICATION_ID and \
             VONAGE_PRIVATE_KEY_PATH) and SIP_URI, then restart."
        );
        if !config.verifies_callbacks() {
            tracing::info!(
                "signed callbacks: the in-process platform signs its callbacks with a random \
                 secret of this process ({} not set); unsigned ones are refused with 401",
                vars::CALLBACK_SECRET
            );
        }
    } else {
        tracing::info!(
            api_url = config
                .cloud
                .as_ref()
                .and_then(|c| c.api_url.as_deref())
                .unwrap_or("the platform default"),
            "real mode: calls are placed through the Vonage Video API"
        );
        tracing::info!(
            "platform callbacks: set the SIP-monitoring and session-monitoring URLs of the \
             Vonage Video project to {{public base URL}}{}{} (e.g. http://{}{}{}) so call \
             states (ringing, answered, ended with the far end's reason) reach the page",
            demo.mount(),
            crate::CALLBACKS_PATH,
            browsable(local),
            demo.mount(),
            crate::CALLBACKS_PATH,
        );
        if config.verifies_callbacks() {
            tracing::info!(
                "signed callbacks: deliveries without a valid signature are refused with 401"
            );
        } else {
            tracing::warn!(
                "{} is not set: platform callbacks are accepted unsigned; turn on signed \
                 callbacks in the dashboard and set it to their signature secret",
                vars::CALLBACK_SECRET
            );
        }
        if config.targets.is_empty() {
            tracing::warn!(
                "no SIP target is configured: set SIP_URI (or SIP_TARGETS) so that Start SIP Call has somewhere to dial"
            );
        }
    }
    if config.requires_access_token() {
        tracing::info!(
            "{} is set: the page asks for it once, the API and /metrics need it \
             (Authorization: Bearer, or the page's cookie)",
            vars::ACCESS_TOKEN
        );
    } else if !local.ip().is_loopback() {
        tracing::warn!(
            "{} is not set and the demo listens beyond loopback: anyone who reaches the port \
             can use the page and the API",
            vars::ACCESS_TOKEN
        );
    }
    tracing::info!(
        targets = ?config.target_names(),
        default_target = config.default_target.as_deref().unwrap_or("none"),
        opentok_js = config.opentok_js_url(),
        "{app} configured"
    );
    // The line scripts and tests wait for; the real port matters when PORT=0.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{app} listening on http://{}{}/",
        browsable(local),
        demo.mount()
    );
    let _ = out.flush();
}

/// Resolves on Ctrl-C or SIGTERM, for the frameworks' graceful shutdown: they stop
/// accepting, let requests in flight finish, then return.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    let which = tokio::select! {
        () = ctrl_c => "Ctrl-C",
        () = terminate => "SIGTERM",
    };
    tracing::info!("{which} received: finishing requests in flight, then stopping");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_shown_as_loopback() {
        assert_eq!(
            browsable("0.0.0.0:8080".parse().unwrap()).to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            browsable("[::]:8080".parse().unwrap()).to_string(),
            "[::1]:8080"
        );
        assert_eq!(
            browsable("10.1.2.3:1".parse().unwrap()).to_string(),
            "10.1.2.3:1"
        );
    }
}
