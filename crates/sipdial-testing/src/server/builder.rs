//! [`FakePlatformBuilder`]: credentials, address, callbacks, call scripts and SIP, then
//! [`FakePlatformBuilder::start`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use jsonwebtoken::DecodingKey;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{FakePlatform, Inner};
use crate::callbacks::{CallScript, CallbackConfig, Delivery, Lifecycle};
use crate::credentials::{Application, Credentials};
use crate::state::Store;
use crate::{TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID, TEST_PUBLIC_KEY_PEM};

/// Configures a [`FakePlatform`]: credentials, the address to bind, and where its
/// callbacks go.
#[derive(Clone)]
pub struct FakePlatformBuilder {
    api_key: String,
    api_secret: String,
    application: Option<(String, String)>,
    bind: SocketAddr,
    callbacks: CallbackConfig,
    script: Option<CallScript>,
    #[cfg(feature = "sip")]
    sip: Option<crate::SipConfig>,
}

impl std::fmt::Debug for FakePlatformBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API secret and the callback secret stay out of test output.
        f.debug_struct("FakePlatformBuilder")
            .field("api_key", &self.api_key)
            .field("application", &self.application.as_ref().map(|(id, _)| id))
            .field("bind", &self.bind)
            .field("callback_url", &self.callbacks.url)
            .field("callback_signed", &self.callbacks.secret.is_some())
            .field("callback_delivery", &self.callbacks.delivery)
            .field("script", &self.script)
            .field("sip", &self.sip_on())
            .finish_non_exhaustive()
    }
}

impl Default for FakePlatformBuilder {
    fn default() -> Self {
        Self {
            api_key: TEST_API_KEY.to_owned(),
            api_secret: TEST_API_SECRET.to_owned(),
            application: Some((
                TEST_APPLICATION_ID.to_owned(),
                TEST_PUBLIC_KEY_PEM.to_owned(),
            )),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            callbacks: CallbackConfig::default(),
            script: None,
            #[cfg(feature = "sip")]
            sip: None,
        }
    }
}

impl FakePlatformBuilder {
    /// The project API key (default [`TEST_API_KEY`]).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// The project API secret (default [`TEST_API_SECRET`]).
    #[must_use]
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.api_secret = secret.into();
        self
    }

    /// The Vonage application that also stands for the project: its id and the RSA
    /// public key (PEM) its JWTs verify with (default [`TEST_APPLICATION_ID`] and
    /// [`TEST_PUBLIC_KEY_PEM`]).
    #[must_use]
    pub fn application(
        mut self,
        app_id: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> Self {
        self.application = Some((app_id.into(), public_key_pem.into()));
        self
    }

    /// Accept only the classic key/secret credentials.
    #[must_use]
    pub fn without_application(mut self) -> Self {
        self.application = None;
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, an ephemeral port).
    #[must_use]
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Where the platform POSTs its callbacks (SIP call events and session monitoring,
    /// docs/platform-api.md §6), e.g. `http://127.0.0.1:PORT/sip/callbacks`. Without one,
    /// events are only recorded ([`FakePlatform::callbacks`]). Changeable later with
    /// [`FakePlatform::set_callback_url`].
    #[must_use]
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callbacks.url = Some(url.into());
        self
    }

    /// Signs every callback: `Authorization: Bearer <JWT>`, HS256 under `secret`, with
    /// `iat`, `exp` (5 minutes later), `jti` and `payload_hash` (lowercase hex SHA-256
    /// of the body).
    #[must_use]
    pub fn callback_secret(mut self, secret: impl Into<String>) -> Self {
        self.callbacks.secret = Some(secret.into());
        self
    }

    /// How callbacks are delivered: duplicates, reordering, retries, timeout.
    #[must_use]
    pub fn callback_delivery(mut self, delivery: Delivery) -> Self {
        self.callbacks.delivery = delivery;
        self
    }

    /// What the far end of every dialled call does (see [`CallScript`]); without one,
    /// calls stay dialing until [`FakePlatform::advance_call`] or a hang-up.
    #[must_use]
    pub fn script_calls(mut self, script: CallScript) -> Self {
        self.script = Some(script);
        self
    }

    /// Turns the SIP gateway emulation on: every accepted dial places a real SIP call to
    /// its URI (docs/sip-emulation.md), and the call's state follows the far end's
    /// answers instead of a [`CallScript`].
    #[cfg(feature = "sip")]
    #[must_use]
    pub fn sip(mut self, config: crate::SipConfig) -> Self {
        self.sip = Some(config);
        self
    }

    fn sip_on(&self) -> bool {
        #[cfg(feature = "sip")]
        return self.sip.is_some();
        #[cfg(not(feature = "sip"))]
        false
    }

    /// Binds and starts serving on the current Tokio runtime.
    ///
    /// Fails with `InvalidInput` when the application public key is not an RSA PEM.
    pub async fn start(self) -> std::io::Result<FakePlatform> {
        let application = match self.application {
            Some((id, pem)) => Some(Application {
                id,
                key: DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "the application public key is not an RSA public key in PEM",
                    )
                })?,
            }),
            None => None,
        };
        sipdial_core::jwt::ensure_crypto_provider();
        let listener = TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let store = Arc::new(Mutex::new(Store::default()));
        let lifecycle = Lifecycle::new(Arc::clone(&store), self.callbacks, stop_rx.clone());
        lifecycle.set_script(self.script);
        let (sip, sip_addr): (Option<Box<dyn crate::sip_legs::SipLegs>>, _) = {
            #[cfg(feature = "sip")]
            match self.sip {
                Some(config) => {
                    let gateway =
                        crate::sip::SipGateway::start(config, lifecycle.clone(), stop_rx.clone())
                            .await?;
                    let addr = gateway.local_addr();
                    (Some(Box::new(gateway)), Some(addr))
                }
                None => (None, None),
            }
            #[cfg(not(feature = "sip"))]
            (None, None)
        };
        let inner = Arc::new(Inner {
            creds: Credentials {
                api_key: self.api_key,
                api_secret: self.api_secret,
                application,
            },
            store,
            lifecycle,
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            sip,
            sip_addr,
        });
        let task = tokio::spawn(super::http::serve(listener, Arc::clone(&inner), stop_rx));
        Ok(FakePlatform {
            inner,
            addr,
            stop,
            task: Some(task),
        })
    }
}
