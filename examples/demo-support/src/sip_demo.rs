//! Demo mode on real SIP: an in-process fake platform with its SIP gateway on, and a
//! bundled SIP endpoint that rings at [`crate::DEMO_RING_AFTER`] and answers at
//! [`crate::DEMO_ANSWER_AFTER`], both on loopback. The app dials through the real
//! `OpenTokDialer` against that platform, so the page's call progression comes from
//! real SIP messages (INVITE, 180, 200, ACK, INFO, CANCEL/BYE) between the two.
//!
//! The platform's callbacks reach the app over loopback HTTP at its own
//! [`crate::CALLBACKS_PATH`], exactly as the cloud's would: the demo then runs the same
//! route, signature check (when `SIPDIAL_CALLBACK_SECRET` is set) and de-duplication as
//! production, with no demo-only path into the API.
//!
//! Both run on a runtime of their own, on a thread of their own: the demo is built
//! before (and whatever) the web framework's runtime starts, and the SIP side never
//! competes with request handling.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;

use sipdial_opentok::{Credentials, OpenTokDialer};
use sipdial_testing::sip::endpoint::{EndpointConfig, SipEndpoint};
use sipdial_testing::{FakePlatform, SipConfig, TEST_API_KEY, TEST_API_SECRET};

use crate::{CALLBACKS_PATH, DEMO_ANSWER_AFTER, DEMO_RING_AFTER};

/// The running platform and endpoint of demo mode.
#[derive(Debug, Clone)]
pub(crate) struct SipDemo {
    platform: Arc<FakePlatform>,
    endpoint: SocketAddr,
}

impl SipDemo {
    /// Starts the platform and the endpoint on their own thread; callbacks are signed
    /// with `callback_secret` when the app verifies them.
    pub(crate) fn start(callback_secret: Option<&str>) -> std::io::Result<Self> {
        let secret = callback_secret.map(str::to_owned);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sipdial-demo-sip".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = async {
                        let endpoint = SipEndpoint::start(EndpointConfig::timing(
                            DEMO_RING_AFTER,
                            DEMO_ANSWER_AFTER,
                        ))
                        .await?;
                        let mut builder = FakePlatform::builder()
                            .sip(SipConfig::new().route(endpoint.local_addr()));
                        if let Some(secret) = secret {
                            builder = builder.callback_secret(secret);
                        }
                        let platform = builder.start().await?;
                        Ok::<_, std::io::Error>((endpoint, platform))
                    };
                    match started.await {
                        Ok((endpoint, platform)) => {
                            let demo = SipDemo {
                                platform: Arc::new(platform),
                                endpoint: endpoint.local_addr(),
                            };
                            let _ = tx.send(Ok(demo));
                            // Serve for the life of the process.
                            let _keep = endpoint;
                            std::future::pending::<()>().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })?;
        let demo = rx
            .recv()
            .map_err(|_| std::io::Error::other("the demo SIP thread ended"))??;
        tracing::info!(
            platform = %demo.platform.url(),
            sip_gateway = ?demo.platform.sip_addr(),
            sip_endpoint = %demo.endpoint,
            "demo mode: calls go through an in-process fake platform that places real SIP \
             calls to a bundled SIP endpoint on loopback"
        );
        Ok(demo)
    }

    /// The real dialer, pointed at the in-process platform.
    pub(crate) fn dialer(&self) -> Result<OpenTokDialer, sipdial_opentok::ConfigError> {
        OpenTokDialer::builder(Credentials::project(TEST_API_KEY, TEST_API_SECRET))
            .base_url(self.platform.url())
            .build()
    }

    /// The app listens at `app` (loopback-browsable) and serves the API below `mount`:
    /// the platform's callbacks go there.
    pub(crate) fn deliver_callbacks_to(&self, app: SocketAddr, mount: &str) {
        let url = format!("http://{app}{mount}{CALLBACKS_PATH}");
        tracing::info!(%url, "demo mode: the fake platform's callbacks go to the app");
        self.platform.set_callback_url(Some(&url));
    }
}
