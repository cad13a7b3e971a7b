//! [`OpenTokDialer`]: the [`SipDialer`] that talks to the platform's REST API.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use sipdial_core::{
    ClientToken, ConnectionId, ConnectionInfo, DEFAULT_TOKEN_TTL, DialError, DialRequest, Dtmf,
    DtmfTarget, PlatformInfo, SessionId, SessionOptions, SipCall, SipDialer, StreamId, StreamInfo,
    TokenOptions, async_trait,
};

use crate::clock::now_secs;
use crate::legacy::T1Fields;
use crate::retry::RetryPolicy;
use crate::tokens::{self, ApplicationTokenClaims, check_session_owner};
use crate::transport::Rest;
use crate::{ConfigError, CredentialKind, Credentials, wire};

/// Default timeout of a whole REST call (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of establishing the connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The default `User-Agent`: `sipdial/<version>`.
pub fn default_user_agent() -> String {
    format!("sipdial/{}", env!("CARGO_PKG_VERSION"))
}

/// Which client-token format [`SipDialer::issue_token`] produces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFormat {
    /// The JWT the current SDKs make (HS256 for projects, RS256 for applications).
    #[default]
    Jwt,
    /// The legacy `T1==` token, for old clients (project credentials only).
    LegacyT1,
}

/// Places SIP calls through the Vonage Video / OpenTok REST API.
///
/// Cheap to clone (one shared HTTP client and key); `Debug` shows the key or
/// application id and the base URL, never a secret.
#[derive(Clone)]
pub struct OpenTokDialer {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: Credentials,
    rest: Rest,
    token_format: TokenFormat,
}

impl fmt::Debug for OpenTokDialer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenTokDialer")
            .field("credentials", &self.inner.credentials)
            .field("base_url", &self.inner.rest.base_url)
            .field("timeout", &self.inner.rest.timeout)
            .field("token_format", &self.inner.token_format)
            .field("retry", &self.inner.rest.retry)
            .finish_non_exhaustive()
    }
}

impl OpenTokDialer {
    /// Starts configuring a dialer for `credentials`.
    pub fn builder(credentials: Credentials) -> OpenTokDialerBuilder {
        OpenTokDialerBuilder {
            credentials,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: default_user_agent(),
            client: None,
            token_format: TokenFormat::Jwt,
            retry: RetryPolicy::default(),
        }
    }

    /// The credentials this dialer signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The REST base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.rest.base_url
    }

    /// A legacy `T1==` client token for `session` (project credentials only), for
    /// clients that cannot use JWT tokens.
    pub fn legacy_t1_token(
        &self,
        session: &SessionId,
        options: TokenOptions,
    ) -> Result<ClientToken, DialError> {
        let credentials = &self.inner.credentials;
        let secret = credentials
            .project_secret()
            .ok_or_else(|| DialError::Config {
                message: "legacy T1 tokens need project credentials (API key and secret)"
                    .to_owned(),
            })?;
        check_session_owner(session, credentials.id())?;
        let now = now_secs();
        let expire_time = options
            .expiry
            .map_or(now + DEFAULT_TOKEN_TTL.as_secs(), |e| e.unix_secs());
        let fields = T1Fields {
            session,
            options: &options,
            create_time: now,
            nonce: tokens::nonce(),
            expire_time,
        };
        Ok(fields.sign(credentials.id(), secret))
    }

    fn jwt_token(
        &self,
        session: &SessionId,
        options: &TokenOptions,
    ) -> Result<ClientToken, DialError> {
        let credentials = &self.inner.credentials;
        let claims = tokens::client_claims(credentials.id(), session, options);
        if let Some(key) = credentials.project_hs256_key() {
            return claims.sign_hs256_with(key);
        }
        let key = credentials
            .application_key()
            .ok_or_else(|| DialError::Config {
                message: "no signing key configured".to_owned(),
            })?;
        ApplicationTokenClaims::from_client_claims(claims, uuid::Uuid::new_v4().to_string())
            .sign(key)
    }

    fn project(&self) -> &str {
        self.inner.credentials.id()
    }

    async fn send(
        &self,
        planned: &wire::Planned<'_>,
    ) -> Result<crate::transport::Answer, DialError> {
        self.inner.rest.send(&self.inner.credentials, planned).await
    }
}

#[async_trait]
impl SipDialer for OpenTokDialer {
    fn platform(&self) -> PlatformInfo {
        PlatformInfo {
            api_key: self.project().to_owned(),
        }
    }

    async fn create_session(&self, options: SessionOptions) -> Result<SessionId, DialError> {
        wire::check_location(options.location)?;
        let planned = wire::create_session(&options);
        let answer = self.send(&planned).await?;
        wire::parse_session(answer.status, &answer.body)
    }

    fn issue_token(
        &self,
        session: &SessionId,
        options: TokenOptions,
    ) -> Result<ClientToken, DialError> {
        match self.inner.token_format {
            TokenFormat::LegacyT1 => self.legacy_t1_token(session, options),
            TokenFormat::Jwt => {
                check_session_owner(session, self.project())?;
                self.jwt_token(session, &options)
            }
        }
    }

    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError> {
        let planned = wire::dial(self.project(), &request)?;
        let answer = self.send(&planned).await?;
        wire::parse_call(answer.status, &answer.body, &request.session_id)
    }

    async fn hang_up(
        &self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<(), DialError> {
        self.send(&wire::hang_up(self.project(), session, connection))
            .await
            .map(drop)
    }

    async fn play_dtmf(&self, target: &DtmfTarget, digits: &Dtmf) -> Result<(), DialError> {
        self.send(&wire::play_dtmf(self.project(), target, digits)?)
            .await
            .map(drop)
    }

    async fn force_mute(&self, session: &SessionId, stream: &StreamId) -> Result<(), DialError> {
        self.send(&wire::force_mute(self.project(), session, stream))
            .await
            .map(drop)
    }

    async fn list_streams(&self, session: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        let answer = self
            .send(&wire::list_streams(self.project(), session))
            .await?;
        wire::parse_streams(answer.status, &answer.body)
    }

    fn lists_connections(&self) -> bool {
        true
    }

    async fn list_connections(
        &self,
        session: &SessionId,
    ) -> Result<Vec<ConnectionInfo>, DialError> {
        let answer = self
            .send(&wire::list_connections(self.project(), session))
            .await?;
        wire::parse_connections(answer.status, &answer.body)
    }
}

/// Configures an [`OpenTokDialer`].
#[must_use]
pub struct OpenTokDialerBuilder {
    credentials: Credentials,
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    client: Option<reqwest::Client>,
    token_format: TokenFormat,
    retry: RetryPolicy,
}

impl fmt::Debug for OpenTokDialerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenTokDialerBuilder")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("custom_client", &self.client.is_some())
            .field("token_format", &self.token_format)
            .field("retry", &self.retry)
            .finish()
    }
}

impl OpenTokDialerBuilder {
    /// The REST base URL (default: `https://api.opentok.com` for projects,
    /// `https://video.api.vonage.com` for applications). A path prefix is kept.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Timeout of a whole REST call, answer included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout of establishing a connection (default 3 s). Applies only to the client
    /// this builder creates, not to one given with [`Self::client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `sipdial/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Shares an existing HTTP client (connection pool, proxy settings). The request
    /// timeout still applies per call.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The format of the tokens [`SipDialer::issue_token`] makes (default JWT).
    pub fn token_format(mut self, format: TokenFormat) -> Self {
        self.token_format = format;
        self
    }

    /// How hang-ups, force-mutes and stream lists are retried after transient failures
    /// (default [`RetryPolicy::default`]: 3 attempts within the request timeout;
    /// [`RetryPolicy::none`] turns retries off). Dials, session creations and DTMF are
    /// never retried whatever the policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks every setting and builds the dialer.
    pub fn build(self) -> Result<OpenTokDialer, ConfigError> {
        self.credentials.validate()?;
        if self.token_format == TokenFormat::LegacyT1
            && self.credentials.kind() != CredentialKind::Project
        {
            return Err(ConfigError::InvalidSetting {
                setting: "token_format",
                reason: "legacy T1 tokens need project credentials (API key and secret)".to_owned(),
            });
        }
        for (setting, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::InvalidSetting {
                    setting,
                    reason: "must be longer than zero".to_owned(),
                });
            }
        }
        let base_url = match self.base_url {
            Some(url) => {
                check_base_url(&url).map_err(|reason| ConfigError::InvalidBaseUrl { reason })?;
                url
            }
            None => self.credentials.default_base_url().to_owned(),
        };
        let base_url = base_url.trim_end_matches('/').to_owned();
        let base = reqwest::Url::parse(&base_url).map_err(|e| ConfigError::InvalidBaseUrl {
            reason: format!("not a URL ({e})"),
        })?;
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| ConfigError::InvalidSetting {
                setting: "user_agent",
                reason: "must be visible ASCII".to_owned(),
            })?;
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| ConfigError::HttpClient {
                    reason: e.without_url().to_string(),
                })?,
        };
        let rest = Rest {
            client,
            base_url,
            base,
            dial: None,
            timeout: self.timeout,
            user_agent,
            retry: self.retry,
        }
        .with_dial_path(wire::dial_path(self.credentials.id()));
        Ok(OpenTokDialer {
            inner: Arc::new(Inner {
                credentials: self.credentials,
                rest,
                token_format: self.token_format,
            }),
        })
    }
}

/// An `http(s)` URL with a host, no credentials, query or fragment.
pub(crate) fn check_base_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL".to_owned());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials (they go in Credentials)".to_owned());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query or fragment".to_owned());
    }
    Ok(())
}
