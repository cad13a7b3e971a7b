//! The demo's configuration, read from environment variables.
//!
//! Parsing goes through a lookup function rather than `std::env` directly, so the rules
//! are tested with plain maps (setting process variables is `unsafe` in edition 2024 and
//! races with other tests).

use std::net::{IpAddr, Ipv4Addr};

use sipdial_opentok::Credentials;

use crate::ConfigError;
use sipdial_core::api::SipTarget;

use crate::targets;

/// Names of the variables the demos read, in one place for the code, the tests and the
/// docs.
pub mod vars {
    /// Address to listen on (default `127.0.0.1`).
    pub const HOST: &str = "HOST";
    /// Port to listen on (default 3000; 0 picks a free one).
    pub const PORT: &str = "PORT";
    /// REST endpoint of the video platform (default: the platform's own).
    pub const OPENTOK_API_URL: &str = "OPENTOK_API_URL";
    /// Where the page loads OpenTok.js from (default: the official CDN).
    pub const OPENTOK_JS_URL: &str = "OPENTOK_JS_URL";
    /// SIP URI of the default target.
    pub const SIP_URI: &str = "SIP_URI";
    /// Label of the default target shown on the page.
    pub const SIP_LABEL: &str = "SIP_LABEL";
    /// `from` of the default target's INVITE.
    pub const SIP_FROM: &str = "SIP_FROM";
    /// Digest user name of the default target.
    pub const SIP_USERNAME: &str = "SIP_USERNAME";
    /// Digest password of the default target.
    pub const SIP_PASSWORD: &str = "SIP_PASSWORD";
    /// Custom INVITE headers of the default target, as a JSON object of strings.
    pub const SIP_HEADERS: &str = "SIP_HEADERS";
    /// Whether the default target's media is encrypted (`true`/`false`).
    pub const SIP_SECURE: &str = "SIP_SECURE";
    /// Whether the default target's call carries video (`true`/`false`).
    pub const SIP_VIDEO: &str = "SIP_VIDEO";
    /// Extra named targets, as a JSON object of objects.
    pub const SIP_TARGETS: &str = "SIP_TARGETS";
    /// Name of the target used when a request names none.
    pub const SIP_DEFAULT_TARGET: &str = "SIP_DEFAULT_TARGET";
    /// Most active calls per session (the API's default is 3).
    pub const MAX_ACTIVE_CALLS: &str = "SIPDIAL_MAX_ACTIVE_CALLS";
    /// Most dials per session and minute (the API's default is 6).
    pub const DIALS_PER_MINUTE: &str = "SIPDIAL_DIALS_PER_MINUTE";
    /// Comma-separated origins allowed to call state-changing routes (default: the
    /// request's own host).
    pub const ALLOWED_ORIGINS: &str = "SIPDIAL_ALLOWED_ORIGINS";
    /// The signature secret of the platform's signed callbacks: when set,
    /// `POST /sip/callbacks` accepts only deliveries whose JWT verifies with it.
    pub const CALLBACK_SECRET: &str = "SIPDIAL_CALLBACK_SECRET";
    /// Where the app mounts the page and the API (`/app`: page at `/app/`, API at
    /// `/app/sip/…`); empty by default.
    pub const MOUNT: &str = "SIPDIAL_MOUNT";
}

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
    pub(crate) default_target: Option<String>,
    pub(crate) opentok_js_url: String,
    pub(crate) max_active_calls: Option<u32>,
    pub(crate) dials_per_minute: Option<u32>,
    pub(crate) allowed_origins: Vec<String>,
    /// Never printed: `SecretString`'s `Debug` redacts it.
    pub(crate) callback_secret: Option<secrecy::SecretString>,
    /// `""` or `/segment[/segment…]`, without a trailing `/`.
    pub(crate) mount: String,
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
        let targets = targets::from_lookup(lookup, demo)?;
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
        Ok(Self {
            mount,
            host,
            port,
            cloud: credentials.map(|credentials| CloudConfig {
                credentials,
                api_url,
            }),
            targets,
            default_target,
            opentok_js_url,
            max_active_calls,
            dials_per_minute,
            allowed_origins,
            callback_secret,
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

    /// Where the page loads OpenTok.js from.
    pub fn opentok_js_url(&self) -> &str {
        &self.opentok_js_url
    }
}

fn parse_host(value: &str) -> Result<IpAddr, ConfigError> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value.parse::<IpAddr>().map_err(|_| {
        ConfigError::invalid(
            vars::HOST,
            "must be an IP address such as 127.0.0.1, 0.0.0.0 or ::1 (or `localhost`)",
        )
    })
}

pub(crate) fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::invalid(var, "must be true or false")),
    }
}

fn parse_positive(var: &'static str, value: &str) -> Result<u32, ConfigError> {
    match value.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::invalid(
            var,
            "must be a whole number of at least 1",
        )),
    }
}

/// Accepts `http(s)://...` and, when `allow_path` is set, a same-origin absolute path
/// (`/static/opentok.min.js`) for hosts that self-host a script. Rejects anything that
/// could run or break out as markup (`javascript:`, quotes, angle brackets, spaces).
fn check_http_url(
    var: &'static str,
    value: String,
    allow_path: bool,
) -> Result<String, ConfigError> {
    let lower = value.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    let path_ok = allow_path && value.starts_with('/') && !value.starts_with("//");
    if !(scheme_ok || path_ok) {
        let expected = if allow_path {
            "must be an http:// or https:// URL or an absolute path starting with /"
        } else {
            "must be an http:// or https:// URL"
        };
        return Err(ConfigError::invalid(var, expected));
    }
    if scheme_ok
        && value
            .split_once("://")
            .is_none_or(|(_, rest)| rest.is_empty() || rest.starts_with('/'))
    {
        return Err(ConfigError::invalid(var, "has no host"));
    }
    if value.len() > 2048
        || value.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\')
        })
    {
        return Err(ConfigError::invalid(
            var,
            "must be at most 2048 characters without spaces, quotes, backslashes or angle brackets",
        ));
    }
    Ok(value)
}

fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let rest = item
            .strip_prefix("http://")
            .or_else(|| item.strip_prefix("https://"))
            .ok_or_else(|| {
                ConfigError::invalid(
                    vars::ALLOWED_ORIGINS,
                    "each origin must start with http:// or https://",
                )
            })?;
        let host_ok = !rest.is_empty()
            && rest.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        if !host_ok {
            return Err(ConfigError::invalid(
                vars::ALLOWED_ORIGINS,
                "each origin is scheme://host[:port], without a path",
            ));
        }
        out.push(item.to_owned());
    }
    if out.is_empty() {
        return Err(ConfigError::invalid(
            vars::ALLOWED_ORIGINS,
            "lists no origin (leave it unset to allow the page's own host)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Runs `from_lookup` over a map of variables.
    pub(crate) fn config_from(
        pairs: &[(&'static str, &str)],
        credentials: Option<Credentials>,
    ) -> Result<DemoConfig, ConfigError> {
        let map: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let lookup = move |k: &'static str| Ok(map.get(k).filter(|v| !v.is_empty()).cloned());
        DemoConfig::from_lookup(&lookup, credentials)
    }

    fn var_of(result: Result<DemoConfig, ConfigError>) -> &'static str {
        result
            .expect_err("should be refused")
            .variable()
            .expect("names a variable")
    }

    #[test]
    fn defaults_are_demo_mode_on_localhost_3000() {
        let c = config_from(&[], None).unwrap();
        assert!(c.is_demo());
        assert_eq!(c.listen_addr().to_string(), "127.0.0.1:3000");
        assert_eq!(c.opentok_js_url(), DEFAULT_OPENTOK_JS_URL);
        assert_eq!(c.target_names(), ["demo"]);
        assert_eq!(c.default_target.as_deref(), Some("demo"));
        assert!(c.allowed_origins.is_empty());
        assert_eq!((c.max_active_calls, c.dials_per_minute), (None, None));
    }

    #[test]
    fn host_and_port_are_parsed() {
        let c = config_from(&[("HOST", "0.0.0.0"), ("PORT", "0")], None).unwrap();
        assert_eq!(c.listen_addr().to_string(), "0.0.0.0:0");
        let c = config_from(&[("HOST", "::1"), ("PORT", "8080")], None).unwrap();
        assert_eq!(c.listen_addr().to_string(), "[::1]:8080");
        let c = config_from(&[("HOST", "localhost")], None).unwrap();
        assert_eq!(c.listen_addr().to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn malformed_basics_name_their_variable() {
        assert_eq!(var_of(config_from(&[("PORT", "http")], None)), "PORT");
        assert_eq!(var_of(config_from(&[("PORT", "65536")], None)), "PORT");
        assert_eq!(var_of(config_from(&[("PORT", "-1")], None)), "PORT");
        assert_eq!(
            var_of(config_from(&[("HOST", "example.com")], None)),
            "HOST"
        );
        assert_eq!(
            var_of(config_from(
                &[("OPENTOK_JS_URL", "javascript:alert(1)")],
                None
            )),
            "OPENTOK_JS_URL"
        );
        assert_eq!(
            var_of(config_from(&[("OPENTOK_JS_URL", "https://x/a\"b")], None)),
            "OPENTOK_JS_URL"
        );
        assert_eq!(
            var_of(config_from(
                &[("OPENTOK_JS_URL", "//cdn.example/ot.js")],
                None
            )),
            "OPENTOK_JS_URL"
        );
        assert_eq!(
            var_of(config_from(&[("OPENTOK_API_URL", "ftp://x")], None)),
            "OPENTOK_API_URL"
        );
        assert_eq!(
            var_of(config_from(&[("OPENTOK_API_URL", "https://")], None)),
            "OPENTOK_API_URL"
        );
        assert_eq!(
            var_of(config_from(&[("SIPDIAL_MAX_ACTIVE_CALLS", "0")], None)),
            "SIPDIAL_MAX_ACTIVE_CALLS"
        );
        assert_eq!(
            var_of(config_from(&[("SIPDIAL_DIALS_PER_MINUTE", "many")], None)),
            "SIPDIAL_DIALS_PER_MINUTE"
        );
        assert_eq!(
            var_of(config_from(
                &[("SIPDIAL_ALLOWED_ORIGINS", "example.com")],
                None
            )),
            "SIPDIAL_ALLOWED_ORIGINS"
        );
        assert_eq!(
            var_of(config_from(
                &[("SIPDIAL_ALLOWED_ORIGINS", "https://a.example/path")],
                None
            )),
            "SIPDIAL_ALLOWED_ORIGINS"
        );
        assert_eq!(
            var_of(config_from(&[("SIP_DEFAULT_TARGET", "nope")], None)),
            "SIP_DEFAULT_TARGET"
        );
    }

    #[test]
    fn optional_knobs_are_read() {
        let c = config_from(
            &[
                ("OPENTOK_JS_URL", "/static/opentok.min.js"),
                ("OPENTOK_API_URL", "http://127.0.0.1:9000"),
                ("SIPDIAL_MAX_ACTIVE_CALLS", "2"),
                ("SIPDIAL_DIALS_PER_MINUTE", "4"),
                (
                    "SIPDIAL_ALLOWED_ORIGINS",
                    "https://app.example, http://localhost:3000",
                ),
            ],
            None,
        )
        .unwrap();
        assert_eq!(c.opentok_js_url(), "/static/opentok.min.js");
        assert_eq!((c.max_active_calls, c.dials_per_minute), (Some(2), Some(4)));
        assert_eq!(
            c.allowed_origins,
            ["https://app.example", "http://localhost:3000"]
        );
    }

    #[test]
    fn credentials_switch_off_demo_mode() {
        let creds = Credentials::project("123456", "1234567890abcdef1234567890abcdef1234567890");
        let c = config_from(
            &[
                ("SIP_URI", "sip:desk@pbx.example.com"),
                ("OPENTOK_API_URL", "http://127.0.0.1:1"),
            ],
            Some(creds),
        )
        .unwrap();
        assert!(!c.is_demo());
        assert_eq!(c.target_names(), ["default"]);
        assert_eq!(
            c.cloud.as_ref().and_then(|cl| cl.api_url.as_deref()),
            Some("http://127.0.0.1:1")
        );
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        for t in ["1", "true", "TRUE", "yes", "on"] {
            assert!(parse_bool("X", t).unwrap());
        }
        for f in ["0", "false", "No", "off"] {
            assert!(!parse_bool("X", f).unwrap());
        }
        assert_eq!(
            parse_bool("SIP_SECURE", "maybe").unwrap_err().variable(),
            Some("SIP_SECURE")
        );
    }

    #[test]
    fn the_callback_secret_is_read_checked_and_never_shown() {
        let c = config_from(
            &[("SIPDIAL_CALLBACK_SECRET", "  whsec-0123456789abcdef  ")],
            None,
        )
        .unwrap();
        assert!(c.verifies_callbacks());
        let debug = format!("{c:?}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        use secrecy::ExposeSecret as _;
        assert_eq!(
            c.callback_secret.as_ref().unwrap().expose_secret(),
            "whsec-0123456789abcdef",
            "trimmed"
        );
        assert!(!config_from(&[], None).unwrap().verifies_callbacks());
        let err = config_from(&[("SIPDIAL_CALLBACK_SECRET", "short-TOPSECRET")], None).unwrap_err();
        assert_eq!(err.variable(), Some("SIPDIAL_CALLBACK_SECRET"));
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
    }

    #[test]
    fn the_mount_is_a_normalised_path() {
        assert_eq!(config_from(&[], None).unwrap().mount(), "");
        let c = config_from(&[("SIPDIAL_MOUNT", "/app/tenant/")], None).unwrap();
        assert_eq!(c.mount(), "/app/tenant");
        assert_eq!(
            config_from(&[("SIPDIAL_MOUNT", "/")], None)
                .unwrap()
                .mount(),
            ""
        );
        for bad in ["app", "/a b", "/a/../b", "/a//b", "/a?x"] {
            let err = config_from(&[("SIPDIAL_MOUNT", bad)], None).unwrap_err();
            assert_eq!(err.variable(), Some("SIPDIAL_MOUNT"), "{bad}: {err}");
        }
    }

    #[test]
    fn errors_never_echo_the_value() {
        let err = config_from(&[("PORT", "s3cr3t-value")], None).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().contains("PORT"), "{err}");
    }
}
