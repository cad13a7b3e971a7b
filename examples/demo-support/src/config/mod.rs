//! The demo's configuration, read from environment variables.
//!
//! Parsing goes through a lookup function rather than `std::env` directly, so the rules
//! are tested with plain maps (setting process variables is `unsafe` in edition 2024 and
//! races with other tests).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use sipdial_opentok::Credentials;

use crate::ConfigError;
use sipdial_core::api::SipTarget;

use crate::targets;

mod access;
mod parse;
mod policy;
#[cfg(test)]
pub(crate) mod tests;
pub mod vars;
mod webhook;

pub use access::MIN_ACCESS_TOKEN_LEN;
pub(crate) use parse::parse_bool;
use parse::{check_http_url, parse_host, parse_origins, parse_positive};
pub use policy::{MAX_CALL_DURATION_SECS, MAX_RING_TIMEOUT_SECS, TargetPolicy};
pub(crate) use policy::{TARGET_FIELDS as POLICY_FIELDS, default_target_policy, target_policy};

/// Shortest callback signature secret accepted: an HMAC key much shorter than its hash
/// is guessable, and the platform's own secrets are far longer.
pub const MIN_CALLBACK_SECRET_LEN: usize = 16;

/// The official OpenTok.js location, used unless `OPENTOK_JS_URL` says otherwise.
pub const DEFAULT_OPENTOK_JS_URL: &str = "https://static.opentok.com/v2/js/opentok.min.js";
/// Port used when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 3000;

/// Reads one variable: `Ok(None)` when unset or empty.
pub(crate) type Lookup<'a> = &'a dyn Fn(&'static str) -> Result<Option<String>, ConfigError>;

/// Reads a process environment variable; an empty value counts as unset, a value that is
/// not UTF-8 is an error naming the variable.
pub(crate) fn process_env(var: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(var) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(ConfigError::invalid(var, "is not valid UTF-8"))
        }
    }
}

/// Everything the demo needs to know at start-up.
#[derive(Debug)]
pub struct DemoConfig {
    pub(crate) host: IpAddr,
    pub(crate) port: u16,
    pub(crate) cloud: Option<CloudConfig>,
    pub(crate) targets: Vec<SipTarget>,
    /// The targets' call policies, by target name (targets that set none are absent).
    pub(crate) policies: BTreeMap<String, TargetPolicy>,
    pub(crate) default_target: Option<String>,
    pub(crate) opentok_js_url: String,
    pub(crate) max_active_calls: Option<u32>,
    pub(crate) dials_per_minute: Option<u32>,
    /// The limits beyond a room's; `None` keeps the API's default.
    pub(crate) max_active_calls_total: Option<u32>,
    pub(crate) dials_per_minute_total: Option<u32>,
    pub(crate) client_dials_per_minute: Option<u32>,
    pub(crate) client_max_active_calls: Option<u32>,
    pub(crate) client_sessions_per_minute: Option<u32>,
    /// `SIPDIAL_RECONCILE_SECS`: reconcile live calls this often (and after this long
    /// without a change); `None` keeps it off.
    pub(crate) reconcile: Option<std::time::Duration>,
    pub(crate) trusted_proxies: sipdial_core::api::TrustedProxies,
    pub(crate) allowed_origins: Vec<String>,
    /// Never printed: `SecretString`'s `Debug` redacts it.
    pub(crate) callback_secret: Option<secrecy::SecretString>,
    /// `""` or `/segment[/segment…]`, without a trailing `/`.
    pub(crate) mount: String,
    /// Where call changes are POSTed; its `Debug` redacts the secret.
    pub(crate) status_webhook: Option<sipdial_core::api::webhooks::StatusWebhook>,
    /// `SIPDIAL_ACCESS_TOKEN`; never printed (`SecretString`'s `Debug` redacts it).
    pub(crate) access_token: Option<secrecy::SecretString>,
    /// `SIPDIAL_ALLOW_UNSIGNED_CALLBACKS`: real mode may start without a callback secret.
    pub(crate) allow_unsigned_callbacks: bool,
    /// `SIPDIAL_HEADER_TIMEOUT_SECS` and `SIPDIAL_MAX_CONNECTIONS`.
    pub(crate) connections: crate::ConnectionLimits,
}

/// How to reach the real platform; absent in demo mode.
#[derive(Debug)]
pub(crate) struct CloudConfig {
    pub(crate) credentials: Credentials,
    pub(crate) api_url: Option<String>,
}

impl DemoConfig {
    /// Reads the process environment. Credentials come from
    /// [`Credentials::from_env`]: none at all means demo mode.
    pub fn from_env() -> Result<Self, ConfigError> {
        let credentials = Credentials::from_env().map_err(ConfigError::Credentials)?;
        Self::from_lookup(&process_env, credentials)
    }

    /// Reads variables through `lookup` (`Ok(None)` for unset); `credentials` decides
    /// between the real dialer and demo mode.
    pub(crate) fn from_lookup(
        lookup: Lookup<'_>,
        credentials: Option<Credentials>,
    ) -> Result<Self, ConfigError> {
        let host = match lookup(vars::HOST)? {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(h) => parse_host(&h)?,
        };
        let port = match lookup(vars::PORT)? {
            None => DEFAULT_PORT,
            Some(p) => p.trim().parse::<u16>().map_err(|_| {
                ConfigError::invalid(vars::PORT, "must be a port number from 0 to 65535")
            })?,
        };
        let api_url = lookup(vars::OPENTOK_API_URL)?
            .map(|u| check_http_url(vars::OPENTOK_API_URL, u, false))
            .transpose()?;
        let opentok_js_url = match lookup(vars::OPENTOK_JS_URL)? {
            None => DEFAULT_OPENTOK_JS_URL.to_owned(),
            Some(u) => check_http_url(vars::OPENTOK_JS_URL, u, true)?,
        };
        let demo = credentials.is_none();
        let (targets, policies) = targets::from_lookup(lookup, demo)?;
        let targets: Vec<SipTarget> = targets
            .into_iter()
            .map(|t| match policies.get(t.name()) {
                Some(policy) => policy.apply(t),
                None => t,
            })
            .collect();
        let default_target = match lookup(vars::SIP_DEFAULT_TARGET)? {
            Some(name) => {
                if !targets.iter().any(|t| t.name() == name) {
                    return Err(ConfigError::invalid(
                        vars::SIP_DEFAULT_TARGET,
                        "does not name a configured target (the default target from SIP_URI is \
                         called `default`, demo mode's is `demo`, the others are the keys of SIP_TARGETS)",
                    ));
                }
                Some(name)
            }
            None => targets.first().map(|t| t.name().to_owned()),
        };
        let max_active_calls = lookup(vars::MAX_ACTIVE_CALLS)?
            .map(|v| parse_positive(vars::MAX_ACTIVE_CALLS, &v))
            .transpose()?;
        let dials_per_minute = lookup(vars::DIALS_PER_MINUTE)?
            .map(|v| parse_positive(vars::DIALS_PER_MINUTE, &v))
            .transpose()?;
        let mut connections = crate::ConnectionLimits::default();
        if let Some(secs) = lookup(vars::HEADER_TIMEOUT_SECS)? {
            let secs = parse_positive(vars::HEADER_TIMEOUT_SECS, &secs)?;
            connections.header_timeout = std::time::Duration::from_secs(secs.into());
        }
        if let Some(max) = lookup(vars::MAX_CONNECTIONS)? {
            connections.max_connections = parse_positive(vars::MAX_CONNECTIONS, &max)? as usize;
        }
        let positive = |var: &'static str| -> Result<Option<u32>, ConfigError> {
            lookup(var)?.map(|v| parse_positive(var, &v)).transpose()
        };
        let max_active_calls_total = positive(vars::MAX_ACTIVE_CALLS_TOTAL)?;
        let dials_per_minute_total = positive(vars::DIALS_PER_MINUTE_TOTAL)?;
        let client_dials_per_minute = positive(vars::CLIENT_DIALS_PER_MINUTE)?;
        let client_max_active_calls = positive(vars::CLIENT_MAX_ACTIVE_CALLS)?;
        let client_sessions_per_minute = positive(vars::CLIENT_SESSIONS_PER_MINUTE)?;
        let reconcile =
            positive(vars::RECONCILE_SECS)?.map(|s| std::time::Duration::from_secs(s.into()));
        let trusted_proxies = match lookup(vars::TRUSTED_PROXIES)? {
            None => sipdial_core::api::TrustedProxies::none(),
            Some(list) => sipdial_core::api::TrustedProxies::parse(
                list.split(',').map(str::trim).filter(|s| !s.is_empty()),
            )
            .map_err(|_| {
                ConfigError::invalid(
                    vars::TRUSTED_PROXIES,
                    "must be comma-separated IP addresses or CIDR networks (e.g. `10.0.0.0/8`)",
                )
            })?,
        };
        let allowed_origins = match lookup(vars::ALLOWED_ORIGINS)? {
            None => Vec::new(),
            Some(list) => parse_origins(&list)?,
        };
        let callback_secret = match lookup(vars::CALLBACK_SECRET)? {
            None => None,
            Some(secret) if secret.trim().chars().count() < MIN_CALLBACK_SECRET_LEN => {
                return Err(ConfigError::invalid(
                    vars::CALLBACK_SECRET,
                    format!(
                        "is too short: use the signature secret from the platform's dashboard \
                         (at least {MIN_CALLBACK_SECRET_LEN} characters)"
                    ),
                ));
            }
            Some(secret) => Some(secrecy::SecretString::from(secret.trim().to_owned())),
        };
        let mount = match lookup(vars::MOUNT)? {
            None => String::new(),
            Some(m) => sipdial_core::api::normalize_path_prefix(m.trim()).map_err(|e| {
                ConfigError::invalid(
                    vars::MOUNT,
                    format!("{e} (e.g. `/app`: the page at /app/, the API at /app/sip/…)"),
                )
            })?,
        };
        let status_webhook = webhook::from_lookup(lookup)?;
        let access = access::from_lookup(
            lookup,
            host,
            credentials.is_some(),
            callback_secret.is_some(),
        )?;
        Ok(Self {
            access_token: access.token,
            allow_unsigned_callbacks: access.allow_unsigned_callbacks,
            status_webhook,
            mount,
            host,
            port,
            cloud: credentials.map(|credentials| CloudConfig {
                credentials,
                api_url,
            }),
            targets,
            policies,
            default_target,
            opentok_js_url,
            max_active_calls,
            dials_per_minute,
            max_active_calls_total,
            dials_per_minute_total,
            client_dials_per_minute,
            client_max_active_calls,
            client_sessions_per_minute,
            reconcile,
            trusted_proxies,
            allowed_origins,
            callback_secret,
            connections,
        })
    }

    /// Where the page and the API are mounted: `""` or `/app`.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// Whether platform callbacks must carry a signature.
    pub fn verifies_callbacks(&self) -> bool {
        self.callback_secret.is_some()
    }

    /// Whether the page, the API and `/metrics` ask for `SIPDIAL_ACCESS_TOKEN`.
    pub fn requires_access_token(&self) -> bool {
        self.access_token.is_some()
    }

    /// Whether real mode was told to accept unsigned callbacks.
    pub fn allows_unsigned_callbacks(&self) -> bool {
        self.allow_unsigned_callbacks
    }

    /// Whether calls go to the in-memory fake dialer (no credentials were set).
    pub fn is_demo(&self) -> bool {
        self.cloud.is_none()
    }

    /// The address and port to listen on.
    pub fn listen_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.host, self.port)
    }

    /// Names of the configured SIP targets, default first when there is one.
    pub fn target_names(&self) -> Vec<&str> {
        self.targets.iter().map(SipTarget::name).collect()
    }

    /// The call policy of the target `name` (empty when it sets none).
    pub fn policy_of(&self, name: &str) -> TargetPolicy {
        self.policies.get(name).cloned().unwrap_or_default()
    }

    /// How long a connection may take to send a request head and how many are served at
    /// once.
    pub fn connections(&self) -> crate::ConnectionLimits {
        self.connections
    }

    /// Where the page loads OpenTok.js from.
    pub fn opentok_js_url(&self) -> &str {
        &self.opentok_js_url
    }
}
