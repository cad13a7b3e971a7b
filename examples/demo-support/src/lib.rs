//! What the sipdial example apps share, written once: configuration from environment
//! variables, the choice between demo mode and the real Vonage Video dialer, the
//! embedded sample page, logging, the listening socket and graceful shutdown.
//!
//! Each example's `main.rs` is then only its framework's mounting code:
//!
//! ```no_run
//! # async fn serve(_: sipdial_core::SipDialApi, _: Vec<sipdial_demo_support::Asset>, _: std::net::TcpListener) {}
//! # async fn run() -> std::process::ExitCode {
//! let (demo, listener) = match sipdial_demo_support::start("my-demo") {
//!     Ok(started) => started,
//!     Err(code) => return code,
//! };
//! // mount demo.api() at its prefix and every demo.assets() at its path, put
//! // demo.gate() in front of every route (the Host check and the access token), then
//! // serve `listener` until sipdial_demo_support::shutdown_signal() resolves.
//! serve(demo.api(), demo.assets(), listener).await;
//! # std::process::ExitCode::SUCCESS
//! # }
//! ```
//!
//! With no credential variable set at all the demo runs on real SIP, all in process and
//! on loopback: the real dialer calls an in-process fake platform, whose SIP gateway
//! calls a bundled SIP endpoint that rings after [`DEMO_RING_AFTER`] and answers after
//! [`DEMO_ANSWER_AFTER`]; the platform's callbacks then drive the page, so it works on a
//! fresh clone (`sip_demo`; the in-memory `FakeDialer` is the fallback when that cannot
//! start). `the README's quick start` lists every variable.

mod config;
mod connections;
mod error;
mod gate;
#[cfg(feature = "harness")]
pub mod harness;
mod metrics_export;
mod page;
mod runtime;
mod shared_state;
mod sip_demo;
mod targets;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use secrecy::ExposeSecret as _;
use sipdial_core::api::Backend;
use sipdial_core::fake::{CallProgression, FakeDialer};
use sipdial_core::{SipDialApi, SipDialer};
use sipdial_opentok::OpenTokDialer;

pub use config::{
    DEFAULT_OPENTOK_JS_URL, DEFAULT_PORT, DemoConfig, MAX_CALL_DURATION_SECS,
    MAX_RING_TIMEOUT_SECS, MIN_ACCESS_TOKEN_LEN, MIN_CALLBACK_SECRET_LEN, TargetPolicy, vars,
};
pub use connections::{ConnectionLimits, DEFAULT_HEADER_TIMEOUT_SECS, DEFAULT_MAX_CONNECTIONS};
pub use error::ConfigError;
pub use gate::{ACCESS_COOKIE, ACCESS_QUERY, Gate, Incoming, Refusal};
pub use metrics_export::{METRICS_CONTENT_TYPE, METRICS_PATH, install_metrics, render_metrics};
pub use page::{
    Asset, DEMO_BANNER, POLL_INTERVAL_MS, PageConfig, content_security_policy,
    render as render_page,
};
pub use runtime::{EXIT_CONFIG, EXIT_UNAVAILABLE, init_tracing, shutdown_signal, start};
pub use shared_state::{REDIS_PREFIX, REDIS_URL};
pub use targets::{
    DEFAULT_TARGET_NAME, DEMO_POLICY_TARGETS, DEMO_RING_TIMEOUT_LABEL, DEMO_TARGET_NAME,
    DEMO_TARGET_URI, DEMO_TIME_LIMIT_LABEL,
};

/// The API's prefix below the demo's mount (`SIPDIAL_MOUNT`, empty by default).
pub const API_PREFIX: &str = "/sip";

/// Where the platform's callbacks go below the demo's mount: the path to enter as the
/// SIP-monitoring and session-monitoring URLs (after the app's public base URL and
/// the mount).
pub const CALLBACKS_PATH: &str = "/sip/callbacks";

/// In demo mode, when a call starts ringing after the dial.
pub const DEMO_RING_AFTER: Duration = Duration::from_secs(1);
/// In demo mode, when a call is answered after the dial.
pub const DEMO_ANSWER_AFTER: Duration = Duration::from_secs(3);

/// The fallback of demo mode when its SIP side cannot start: the in-memory fake dialer,
/// moving each call along like a real far end would.
fn demo_dialer() -> FakeDialer {
    FakeDialer::builder()
        .progression(CallProgression {
            ring_after: DEMO_RING_AFTER,
            // The progression times each step from the one before.
            answer_after: DEMO_ANSWER_AFTER.saturating_sub(DEMO_RING_AFTER),
            hang_up_after: None,
        })
        .build()
}

/// A configured demo: the API over the chosen dialer and the rendered page.
#[derive(Debug)]
pub struct Demo {
    app_name: &'static str,
    config: DemoConfig,
    api: SipDialApi,
    assets: Vec<Asset>,
    /// Demo mode's in-process platform and SIP endpoint.
    sip: Option<sip_demo::SipDemo>,
    /// Built once the listening address is known ([`Demo::listening_on`]).
    gate: OnceLock<Arc<Gate>>,
}

impl Demo {
    /// Reads the process environment (see [`vars`]) and builds the demo.
    pub fn from_env(app_name: &'static str) -> Result<Self, ConfigError> {
        Self::from_config(app_name, DemoConfig::from_env()?)
    }

    /// Builds the demo from an already read configuration.
    pub fn from_config(app_name: &'static str, config: DemoConfig) -> Result<Self, ConfigError> {
        Self::from_config_with_backend(app_name, config, None)
    }

    /// [`Self::from_env`] with the API's state in `backend` (in memory when `None`).
    pub fn from_env_with_backend(
        app_name: &'static str,
        backend: Option<Backend>,
    ) -> Result<Self, ConfigError> {
        Self::from_config_with_backend(app_name, DemoConfig::from_env()?, backend)
    }

    /// [`Self::from_config`] with the API's state in `backend` (in memory when `None`).
    pub fn from_config_with_backend(
        app_name: &'static str,
        config: DemoConfig,
        backend: Option<Backend>,
    ) -> Result<Self, ConfigError> {
        let mut sip = None;
        // Demo mode signs its in-process platform's callbacks too, with a secret of the
        // process's own when none is given, so that a forged callback is refused here
        // exactly as in production.
        let callback_secret = match (&config.callback_secret, config.is_demo()) {
            (Some(secret), _) => Some(secret.clone()),
            (None, true) => Some(random_secret()?),
            (None, false) => None,
        };
        let dialer: Arc<dyn SipDialer> = match &config.cloud {
            None => {
                match sip_demo::SipDemo::start(callback_secret.as_ref().map(|s| s.expose_secret()))
                {
                    Ok(demo) => {
                        let dialer = demo.dialer().map_err(ConfigError::Dialer)?;
                        sip = Some(demo);
                        Arc::new(dialer)
                    }
                    Err(e) => {
                        tracing::warn!(
                            "demo mode: cannot start the loopback SIP demo ({e}); using the in-memory fake dialer"
                        );
                        Arc::new(demo_dialer())
                    }
                }
            }
            Some(cloud) => {
                let mut builder = OpenTokDialer::builder(cloud.credentials.clone());
                if let Some(url) = &cloud.api_url {
                    builder = builder.base_url(url.clone());
                }
                Arc::new(builder.build().map_err(ConfigError::Dialer)?)
            }
        };
        let api = build_api(&config, dialer, backend, callback_secret.as_ref())?;
        let html = page::render(&PageConfig {
            api_path: &page::relative_api_path(api.prefix()),
            demo: config.is_demo(),
            opentok_js_url: config.opentok_js_url(),
            served_by: app_name,
        });
        Ok(Self {
            app_name,
            assets: page::assets(html, page::content_security_policy(config.opentok_js_url())),
            gate: OnceLock::new(),
            config,
            api,
            sip,
        })
    }

    /// The app now listens at `addr`: in demo mode, the in-process platform's callbacks
    /// go there.
    pub fn listening_on(&self, addr: std::net::SocketAddr) {
        let _ = self.gate.set(Arc::new(Gate::new(&self.config, addr)));
        if let Some(sip) = &self.sip {
            sip.deliver_callbacks_to(addr, self.mount());
        }
    }

    /// The Host and access-token checks to run before every route (see [`Gate`]); for
    /// the address given to [`Demo::listening_on`], else the configured one.
    pub fn gate(&self) -> Arc<Gate> {
        Arc::clone(
            self.gate
                .get_or_init(|| Arc::new(Gate::new(&self.config, self.config.listen_addr()))),
        )
    }

    /// The API to mount (cheap to clone).
    pub fn api(&self) -> SipDialApi {
        self.api.clone()
    }

    /// The page and its static files, each to be served at [`Asset::path`].
    pub fn assets(&self) -> Vec<Asset> {
        self.assets.clone()
    }

    /// Where the page (at `{mount}/`) and the API (at `{mount}/sip/…`) are served:
    /// `""` or `/app`, from `SIPDIAL_MOUNT`.
    pub fn mount(&self) -> &str {
        self.config.mount()
    }

    /// The configuration the demo was built from.
    pub fn config(&self) -> &DemoConfig {
        &self.config
    }

    /// Whether calls go to the fake dialer.
    pub fn is_demo(&self) -> bool {
        self.config.is_demo()
    }

    /// The name the binary logs and the page footer show.
    pub fn app_name(&self) -> &'static str {
        self.app_name
    }
}

/// 32 random bytes as hex: demo mode's callback signature secret when none is given.
fn random_secret() -> Result<secrecy::SecretString, ConfigError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        ConfigError::invalid(
            config::vars::CALLBACK_SECRET,
            "is not set and no random one could be made for demo mode",
        )
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(secrecy::SecretString::from(hex))
}

fn build_api(
    config: &DemoConfig,
    dialer: Arc<dyn SipDialer>,
    backend: Option<Backend>,
    callback_secret: Option<&secrecy::SecretString>,
) -> Result<SipDialApi, ConfigError> {
    // Anonymous behind the demo's gate (`gate.rs`): real mode off loopback refuses to
    // start without SIPDIAL_ACCESS_TOKEN, which the gate checks on every API request,
    // so the API is open only on loopback or to holders of the token.
    let mut builder = SipDialApi::builder(dialer).anonymous().prefix(API_PREFIX);
    if let Some(backend) = backend {
        builder = builder.backend(backend);
    }
    for target in &config.targets {
        builder = builder.target(target.clone());
    }
    if let Some(name) = &config.default_target {
        builder = builder.default_target(name.clone());
    }
    if let Some(n) = config.max_active_calls {
        builder = builder.max_active_calls_per_session(n as usize);
    }
    if let Some(n) = config.dials_per_minute {
        builder = builder.dials_per_minute(n);
    }
    if let Some(n) = config.max_active_calls_total {
        builder = builder.max_active_calls_total(n as usize);
    }
    if let Some(n) = config.dials_per_minute_total {
        builder = builder.dials_per_minute_total(n);
    }
    if let Some(n) = config.client_dials_per_minute {
        builder = builder.client_dials_per_minute(n);
    }
    if let Some(n) = config.client_max_active_calls {
        builder = builder.max_active_calls_per_client(n as usize);
    }
    if let Some(n) = config.client_sessions_per_minute {
        builder = builder.client_sessions_per_minute(n);
    }
    if let Some(every) = config.reconcile {
        builder = builder.reconcile_calls(every, every);
    }
    builder = builder.trusted_proxies(config.trusted_proxies.clone());
    if !config.allowed_origins.is_empty() {
        builder = builder.allowed_origins(config.allowed_origins.clone());
    }
    match callback_secret {
        Some(secret) => builder = builder.callback_secret(secret.expose_secret().to_owned()),
        // Real mode without a secret starts only with SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1
        // (config/access.rs); the library refuses unsigned callbacks otherwise.
        None if config.allows_unsigned_callbacks() => {
            builder = builder.accept_unsigned_callbacks();
        }
        None => {}
    }
    if let Some(webhook) = &config.status_webhook {
        let transport = sipdial_opentok::webhooks::ReqwestTransport::new()
            .map_err(|e| ConfigError::invalid(config::vars::STATUS_WEBHOOK_URL, e.to_string()))?;
        builder = builder
            .status_webhook(webhook.clone())
            .webhook_transport(Arc::new(transport));
    }
    builder.build().map_err(ConfigError::Api)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config_from;

    #[test]
    fn demo_builds_over_the_fake_dialer_with_the_page() {
        let demo = Demo::from_config("test-demo", config_from(&[], None).unwrap()).unwrap();
        assert!(demo.is_demo());
        assert_eq!(demo.api().prefix(), "/sip");
        assert_eq!(demo.mount(), "");
        let page = demo.assets().into_iter().find(|a| a.path() == "/").unwrap();
        let html = String::from_utf8(page.body().to_vec()).unwrap();
        assert!(html.contains(DEMO_BANNER));
        assert!(html.contains(r#""servedBy":"test-demo""#));
    }

    /// Real mode without a callback secret starts only with
    /// `SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1`, and then the API accepts unsigned callbacks;
    /// with a secret, an unsigned one is refused.
    #[tokio::test]
    async fn allowing_unsigned_callbacks_reaches_the_api() {
        let creds = || {
            Some(sipdial_opentok::Credentials::project(
                "123456",
                "1234567890abcdef1234567890abcdef1234567890",
            ))
        };
        let callback = |api: &SipDialApi| {
            let req = http::Request::post("/sip/callbacks")
                .header("content-type", "application/json")
                .body(String::from(r#"{"future":true}"#))
                .unwrap();
            let api = api.clone();
            async move { api.handle(req).await.status() }
        };
        let config = config_from(&[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "1")], creds()).unwrap();
        let demo = Demo::from_config("test-demo", config).unwrap();
        assert_eq!(callback(&demo.api()).await, 200);
        let config = config_from(
            &[("SIPDIAL_CALLBACK_SECRET", "whsec-0123456789abcdef")],
            creds(),
        )
        .unwrap();
        let demo = Demo::from_config("test-demo", config).unwrap();
        assert_eq!(callback(&demo.api()).await, 401);
    }

    #[test]
    fn credentials_select_the_real_dialer() {
        let creds = sipdial_opentok::Credentials::project(
            "123456",
            "1234567890abcdef1234567890abcdef1234567890",
        );
        let config = config_from(
            &[
                ("SIP_URI", "sip:desk@pbx.example.com"),
                ("SIP_PASSWORD", "s3cret-pw"),
                ("SIP_USERNAME", "u"),
                ("SIPDIAL_CALLBACK_SECRET", "whsec-0123456789abcdef"),
            ],
            Some(creds),
        )
        .unwrap();
        let demo = Demo::from_config("test-demo", config).unwrap();
        assert!(!demo.is_demo());
        let page = demo.assets().into_iter().find(|a| a.path() == "/").unwrap();
        let html = String::from_utf8(page.body().to_vec()).unwrap();
        assert!(!html.contains("demo-banner\""));
        assert!(
            !html.contains("s3cret-pw"),
            "no SIP secret reaches the page"
        );
        assert!(!html.contains("pbx.example.com"), "nor the SIP URI");
    }
}
