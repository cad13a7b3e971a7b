//! Configuring the API: the builder, the host's SIP targets, the allow-list for
//! caller-supplied URIs, and the typed error `build()` returns.
//!
//! Everything is validated once in `build()`, so a misconfigured host fails at start-up
//! instead of on the first call.

use std::sync::Arc;
use std::time::Duration;

use crate::api::authorizer::{Authorizer, DefaultAuthorizer};
use crate::api::lifecycle::{CallEventHook, EventQueue, Lifecycle};
use crate::api::limits::{DEFAULT_DIALS_PER_MINUTE, DEFAULT_MAX_ACTIVE_CALLS, DialLimiter};
use crate::api::origin::{Origin, OriginPolicy};
use crate::api::sse::{DEFAULT_SSE_HEARTBEAT, DEFAULT_SSE_REPLAY, Hub};
use crate::api::store::{CallStore, InMemoryCallStore};
use crate::api::{DEFAULT_BODY_LIMIT, DEFAULT_PREFIX, Inner, SipDialApi};
use crate::{SipAuth, SipDialer, SipFrom, SipHeaders, SipUri, ValidationError};

/// Longest target name.
pub const MAX_TARGET_NAME_LEN: usize = 64;
/// Longest target label.
pub const MAX_TARGET_LABEL_LEN: usize = 100;

/// A configuration `build()` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiConfigError {
    /// The mount prefix is not `/segment[/segment…]` of URL-safe characters.
    #[error("invalid prefix: {0}")]
    Prefix(&'static str),
    /// The body limit is zero.
    #[error("the body limit must be at least 1 byte")]
    BodyLimit,
    /// A target name is empty, too long or has characters outside `[A-Za-z0-9_.-]`.
    #[error("invalid target name `{0}`: 1 to 64 of A-Z a-z 0-9 _ . -")]
    TargetName(String),
    /// Two targets share a name.
    #[error("target `{0}` is configured twice")]
    DuplicateTarget(String),
    /// A target's label is empty, too long or has control characters.
    #[error("invalid label of target `{0}`: 1 to 100 characters without control characters")]
    TargetLabel(String),
    /// A target's URI (given as text to [`SipTarget::parse`]) is invalid.
    #[error("invalid SIP URI of target `{name}`: {source}")]
    TargetUri {
        /// The target.
        name: String,
        /// Why the URI was refused.
        source: ValidationError,
    },
    /// The default target names no configured target.
    #[error("the default target `{0}` is not configured")]
    UnknownDefaultTarget(String),
    /// An allow-list pattern is malformed.
    #[error("invalid allow-list pattern `{pattern}`: {reason}")]
    UriPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An allowed origin is not `http(s)://host[:port]`.
    #[error("invalid allowed origin `{origin}`: {reason}")]
    Origin {
        /// The origin.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A limit is zero.
    #[error("{0} must be at least 1")]
    Limit(&'static str),
    /// The callback signature secret is empty.
    #[error("the callback signature secret must not be empty")]
    CallbackSecret,
}

/// A named SIP destination configured by the host. Callers pick it by name; its URI,
/// credentials and options never come from (or go back to) the browser.
#[derive(Debug, Clone)]
pub struct SipTarget {
    pub(crate) name: String,
    pub(crate) label: Option<String>,
    pub(crate) uri: Result<SipUri, ValidationError>,
    pub(crate) from: Option<SipFrom>,
    pub(crate) auth: Option<SipAuth>,
    pub(crate) headers: SipHeaders,
    pub(crate) secure: bool,
    pub(crate) video: bool,
    pub(crate) observe_force_mute: bool,
}

impl SipTarget {
    /// A target called `name` (1 to 64 of `[A-Za-z0-9_.-]`, checked in `build()`) that
    /// dials `uri`.
    pub fn new(name: impl Into<String>, uri: SipUri) -> Self {
        Self::with_uri(name.into(), Ok(uri))
    }

    /// Like [`SipTarget::new`] with the URI as text (e.g. from an environment
    /// variable); an invalid URI is reported by `build()` as
    /// [`ApiConfigError::TargetUri`].
    pub fn parse(name: impl Into<String>, uri: &str) -> Self {
        Self::with_uri(name.into(), SipUri::new(uri))
    }

    fn with_uri(name: String, uri: Result<SipUri, ValidationError>) -> Self {
        Self {
            name,
            label: None,
            uri,
            from: None,
            auth: None,
            headers: SipHeaders::new(),
            secure: false,
            video: false,
            observe_force_mute: false,
        }
    }

    /// What pages show for it (default: the name).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The INVITE's From (a numeric user shows as caller id on the PSTN).
    pub fn from(mut self, from: SipFrom) -> Self {
        self.from = Some(from);
        self
    }

    /// Digest credentials for the far end's challenge.
    pub fn auth(mut self, auth: SipAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Headers added to every INVITE to this target; they win over a caller's.
    pub fn headers(mut self, headers: SipHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// SRTP media (default false).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Send video to the SIP leg (default false).
    pub fn video(mut self, video: bool) -> Self {
        self.video = video;
        self
    }

    /// Let force-mute apply to the SIP leg (default false).
    pub fn observe_force_mute(mut self, observe: bool) -> Self {
        self.observe_force_mute = observe;
        self
    }

    /// The name callers pick it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label pages show.
    pub fn display_label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

/// A validated configured target (URI known good).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) uri: SipUri,
    pub(crate) from: Option<SipFrom>,
    pub(crate) auth: Option<SipAuth>,
    pub(crate) headers: SipHeaders,
    pub(crate) secure: bool,
    pub(crate) video: bool,
    pub(crate) observe_force_mute: bool,
}

/// URIs a caller may dial by passing its own `uri` (the toll-fraud guard).
///
/// Each pattern is `sip:USER@HOST[:PORT]` or `sips:…`, where `USER` may contain `*`
/// wildcards (any run of user characters): `sip:*@pbx.example.com`,
/// `sip:+1555*@gw.example.com`. A URI matches when its scheme, host
/// (case-insensitively) and port are the pattern's exactly (no port in the pattern
/// means none in the URI) and its user matches the glob. A URI carrying parameters
/// other than `transport` and `user` never matches: `;maddr=` would send the INVITE
/// to another host than the one checked.
#[derive(Debug, Clone, Default)]
pub struct UriAllowList {
    patterns: Vec<String>,
}

impl UriAllowList {
    /// An empty list (matches nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pattern (checked in `build()`).
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.patterns.push(pattern.into());
        self
    }

    fn compile(&self) -> Result<Vec<UriPattern>, ApiConfigError> {
        self.patterns.iter().map(|p| UriPattern::parse(p)).collect()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct UriPattern {
    secure: bool,
    user: String,
    hostport: String,
}

/// A SIP URI split into the parts the allow-list compares.
struct UriParts<'a> {
    secure: bool,
    user: &'a str,
    hostport: &'a str,
    params: Option<&'a str>,
}

fn split_uri(s: &str) -> Option<UriParts<'_>> {
    let lower = s.get(..5)?.to_ascii_lowercase();
    let (secure, rest) = if lower == "sips:" {
        (true, &s[5..])
    } else if lower.starts_with("sip:") {
        (false, &s[4..])
    } else {
        return None;
    };
    let (user, hostpart) = rest.rsplit_once('@')?;
    let (hostport, params) = match hostpart.split_once(';') {
        Some((h, p)) => (h, Some(p)),
        None => (hostpart, None),
    };
    Some(UriParts {
        secure,
        user,
        hostport,
        params,
    })
}

impl UriPattern {
    fn parse(pattern: &str) -> Result<Self, ApiConfigError> {
        let err = |reason: &str| ApiConfigError::UriPattern {
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
        };
        // The pattern must be a valid SIP URI once its wildcards are filled in, which
        // reuses every rule SipUri enforces on hosts and user characters.
        SipUri::new(pattern.replace('*', "0")).map_err(|e| err(e.reason()))?;
        let parts = split_uri(pattern).ok_or_else(|| err("must be sip:USER@HOST[:PORT]"))?;
        if parts.params.is_some() {
            return Err(err("must not carry URI parameters"));
        }
        if parts.hostport.contains('*') {
            return Err(err("wildcards are only allowed in the user part"));
        }
        Ok(Self {
            secure: parts.secure,
            user: parts.user.to_owned(),
            hostport: parts.hostport.to_ascii_lowercase(),
        })
    }

    fn matches(&self, uri: &SipUri) -> bool {
        let Some(parts) = split_uri(uri.as_str()) else {
            return false;
        };
        let params_ok = parts.params.is_none_or(|params| {
            params.split(';').all(|p| {
                let name = p.split_once('=').map_or(p, |(n, _)| n);
                name.eq_ignore_ascii_case("transport") || name.eq_ignore_ascii_case("user")
            })
        });
        params_ok
            && parts.secure == self.secure
            && parts.hostport.eq_ignore_ascii_case(&self.hostport)
            && glob_match(&self.user, parts.user)
    }
}

/// `*` matches any run of characters (including none); everything else literally.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// The compiled allow-list.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledAllowList(Vec<UriPattern>);

impl CompiledAllowList {
    pub(crate) fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    pub(crate) fn matches(&self, uri: &SipUri) -> bool {
        self.0.iter().any(|p| p.matches(uri))
    }
}

/// Builder of [`SipDialApi`]; `build()` validates the whole configuration.
#[must_use]
pub struct SipDialApiBuilder {
    dialer: Arc<dyn SipDialer>,
    prefix: String,
    body_limit: usize,
    targets: Vec<SipTarget>,
    default_target: Option<String>,
    allow_uri: UriAllowList,
    authorizer: Arc<dyn Authorizer>,
    allowed_origins: Vec<String>,
    trust_request_host: bool,
    max_active_calls: usize,
    dials_per_minute: u32,
    store: Arc<dyn CallStore>,
    #[cfg(feature = "jwt")]
    callback_secret: Option<secrecy::SecretString>,
    record_unknown_calls: bool,
    sse_heartbeat: Duration,
    sse_replay: usize,
    on_call_event: Option<CallEventHook>,
}

impl std::fmt::Debug for SipDialApiBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipDialApiBuilder")
            .field("prefix", &self.prefix)
            .field("body_limit", &self.body_limit)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl SipDialApiBuilder {
    pub(crate) fn new(dialer: Arc<dyn SipDialer>) -> Self {
        Self {
            dialer,
            prefix: DEFAULT_PREFIX.to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            targets: Vec::new(),
            default_target: None,
            allow_uri: UriAllowList::new(),
            authorizer: Arc::new(DefaultAuthorizer),
            allowed_origins: Vec::new(),
            trust_request_host: true,
            max_active_calls: DEFAULT_MAX_ACTIVE_CALLS,
            dials_per_minute: DEFAULT_DIALS_PER_MINUTE,
            store: Arc::new(InMemoryCallStore::new()),
            #[cfg(feature = "jwt")]
            callback_secret: None,
            record_unknown_calls: false,
            sse_heartbeat: DEFAULT_SSE_HEARTBEAT,
            sse_replay: DEFAULT_SSE_REPLAY,
            on_call_event: None,
        }
    }

    /// Mount prefix (default `/sip`); a trailing `/` is dropped.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Request body limit in bytes (default 16 KiB), enforced while streaming.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Adds a SIP target.
    pub fn target(mut self, target: SipTarget) -> Self {
        self.targets.push(target);
        self
    }

    /// The target used when a dial names none (needless with exactly one target).
    pub fn default_target(mut self, name: impl Into<String>) -> Self {
        self.default_target = Some(name.into());
        self
    }

    /// Lets callers pass their own `uri` when it matches `list`.
    pub fn allow_uri(mut self, list: UriAllowList) -> Self {
        self.allow_uri = list;
        self
    }

    /// The authorizer (default: [`DefaultAuthorizer`]).
    pub fn authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = authorizer;
        self
    }

    /// Origins allowed on state-changing routes besides the request's own host.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Whether an `Origin` equal to the request's own `Host` is allowed besides the
    /// listed origins (default `true`).
    ///
    /// Turn it off when the allowed origins are known: the `Host` header is whatever
    /// name the browser resolved, so a DNS-rebinding page that resolves to this server
    /// would otherwise pass the check.
    pub fn trust_request_host(mut self, trust: bool) -> Self {
        self.trust_request_host = trust;
        self
    }

    /// Most calls active at once in one session (default 3).
    pub fn max_active_calls_per_session(mut self, max: usize) -> Self {
        self.max_active_calls = max;
        self
    }

    /// Most dial attempts per session in a sliding minute (default 6).
    pub fn dials_per_minute(mut self, max: u32) -> Self {
        self.dials_per_minute = max;
        self
    }

    /// Where rooms and calls are kept (default: [`InMemoryCallStore`]).
    pub fn store(mut self, store: Arc<dyn CallStore>) -> Self {
        self.store = store;
        self
    }

    /// Requires every `POST {prefix}/callbacks` to carry an HS256 JWT signed with
    /// `secret` (the signature secret of the project's callbacks in the platform
    /// dashboard). Without it, callbacks are accepted unsigned: anyone who can reach the
    /// route can then report call states (never place calls).
    #[cfg(feature = "jwt")]
    pub fn callback_secret(mut self, secret: impl Into<String>) -> Self {
        self.callback_secret = Some(secrecy::SecretString::from(secret.into()));
        self
    }

    /// Also records calls this server did not place (default false) when the
    /// platform reports them in a session this server knows, e.g. calls dialled from
    /// another server or an SDK into the same session.
    pub fn record_unknown_calls(mut self, record: bool) -> Self {
        self.record_unknown_calls = record;
        self
    }

    /// Silence after which an SSE stream sends a `: heartbeat` comment (default 15 s),
    /// so proxies do not close idle streams.
    pub fn sse_heartbeat(mut self, interval: Duration) -> Self {
        self.sse_heartbeat = interval;
        self
    }

    /// Call events kept per session for `Last-Event-ID` resumption (default 256).
    pub fn sse_replay_buffer(mut self, events: usize) -> Self {
        self.sse_replay = events;
        self
    }

    /// Calls `hook` once per call change (dialled, ringing, answered, held, ended,
    /// with the cause), in order, so a host can log, count or persist without forking.
    pub fn on_call_event(mut self, hook: CallEventHook) -> Self {
        self.on_call_event = Some(hook);
        self
    }

    /// Validates the configuration.
    pub fn build(self) -> Result<SipDialApi, ApiConfigError> {
        let prefix = check_prefix(&self.prefix)?;
        if self.body_limit == 0 {
            return Err(ApiConfigError::BodyLimit);
        }
        if self.max_active_calls == 0 {
            return Err(ApiConfigError::Limit("max_active_calls_per_session"));
        }
        if self.dials_per_minute == 0 {
            return Err(ApiConfigError::Limit("dials_per_minute"));
        }
        if self.sse_heartbeat.is_zero() {
            return Err(ApiConfigError::Limit("sse_heartbeat"));
        }
        if self.sse_replay == 0 {
            return Err(ApiConfigError::Limit("sse_replay_buffer"));
        }
        #[cfg(feature = "jwt")]
        if self
            .callback_secret
            .as_ref()
            .is_some_and(|s| secrecy::ExposeSecret::expose_secret(s).is_empty())
        {
            return Err(ApiConfigError::CallbackSecret);
        }
        let mut targets: Vec<Target> = Vec::with_capacity(self.targets.len());
        for t in self.targets {
            if !is_target_name(&t.name) {
                return Err(ApiConfigError::TargetName(t.name));
            }
            if targets.iter().any(|o| o.name == t.name) {
                return Err(ApiConfigError::DuplicateTarget(t.name));
            }
            let label = t.label.clone().unwrap_or_else(|| t.name.clone());
            if label.is_empty()
                || label.chars().count() > MAX_TARGET_LABEL_LEN
                || label.chars().any(char::is_control)
            {
                return Err(ApiConfigError::TargetLabel(t.name));
            }
            let uri = t.uri.map_err(|source| ApiConfigError::TargetUri {
                name: t.name.clone(),
                source,
            })?;
            targets.push(Target {
                name: t.name,
                label,
                uri,
                from: t.from,
                auth: t.auth,
                headers: t.headers,
                secure: t.secure,
                video: t.video,
                observe_force_mute: t.observe_force_mute,
            });
        }
        let default_target = match self.default_target {
            Some(name) => {
                let i = targets
                    .iter()
                    .position(|t| t.name == name)
                    .ok_or(ApiConfigError::UnknownDefaultTarget(name))?;
                Some(i)
            }
            None if targets.len() == 1 => Some(0),
            None => None,
        };
        let origins = self
            .allowed_origins
            .iter()
            .map(|o| {
                Origin::parse(o).map_err(|reason| ApiConfigError::Origin {
                    origin: o.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allow_list = CompiledAllowList(self.allow_uri.compile()?);
        let lifecycle = Arc::new(Lifecycle::new(
            Arc::clone(&self.store),
            Hub::new(self.sse_replay, self.sse_heartbeat),
            self.on_call_event,
            self.record_unknown_calls,
        ));
        // The dialer may learn call events itself (the fake does): they go through the
        // same state machine as HTTP callbacks.
        self.dialer.attach_events(EventQueue::sink(&lifecycle));
        Ok(SipDialApi {
            inner: Arc::new(Inner {
                dialer: self.dialer,
                prefix,
                body_limit: self.body_limit,
                targets,
                default_target,
                allow_list,
                authorizer: self.authorizer,
                origins: OriginPolicy::new(origins, self.trust_request_host),
                limiter: Arc::new(DialLimiter::new(
                    self.max_active_calls,
                    self.dials_per_minute,
                )),
                store: self.store,
                rooms_in_flight: Default::default(),
                lifecycle,
                #[cfg(feature = "jwt")]
                callback_secret: self.callback_secret,
            }),
        })
    }
}

fn is_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TARGET_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_prefix(prefix: &str) -> Result<String, ApiConfigError> {
    let p = prefix.strip_suffix('/').unwrap_or(prefix);
    if !p.starts_with('/') || p.len() < 2 {
        return Err(ApiConfigError::Prefix(
            "must start with '/' and name at least one segment",
        ));
    }
    if p.split('/')
        .skip(1)
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(ApiConfigError::Prefix(
            "must not contain empty, '.' or '..' segments",
        ));
    }
    if !p
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
    {
        return Err(ApiConfigError::Prefix(
            "may only contain ASCII letters, digits, '/', '-', '_', '.' and '~'",
        ));
    }
    Ok(p.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> CompiledAllowList {
        let mut l = UriAllowList::new();
        for p in patterns {
            l = l.allow(*p);
        }
        CompiledAllowList(l.compile().unwrap())
    }

    fn uri(s: &str) -> SipUri {
        SipUri::new(s).unwrap()
    }

    #[test]
    fn allow_list_matches_user_globs_on_exact_hosts() {
        let l = list(&["sip:+1555*@gw.example.com", "sips:*@pbx.example.com:5061"]);
        assert!(l.matches(&uri("sip:+15551234@gw.example.com")));
        assert!(l.matches(&uri("sip:+15551234@GW.example.com;transport=tls")));
        assert!(l.matches(&uri("sips:alice@pbx.example.com:5061")));
        assert!(!l.matches(&uri("sip:+14441234@gw.example.com")));
        assert!(!l.matches(&uri("sip:+15551234@gw.example.com.evil.test")));
        assert!(!l.matches(&uri("sip:+15551234@gw.example.com:5070")));
        assert!(!l.matches(&uri("sip:alice@pbx.example.com:5061")));
        assert!(!l.matches(&uri("sip:+15551234@gw.example.com;maddr=evil.test")));
        assert!(!list(&[]).is_enabled());
    }

    #[test]
    fn glob_handles_multiple_stars() {
        assert!(glob_match("a*b*c", "aXXbYc"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "aXXc"));
        assert!(glob_match("*1", "111"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in [
            "sip:*@*.example.com",
            "sip:a@b.com;maddr=x",
            "http://x",
            "sip:a b@c.com",
        ] {
            assert!(UriAllowList::new().allow(p).compile().is_err(), "{p}");
        }
    }

    #[test]
    fn prefixes_are_normalised_or_refused() {
        assert_eq!(check_prefix("/sip/").unwrap(), "/sip");
        assert_eq!(check_prefix("/api/sip").unwrap(), "/api/sip");
        for bad in ["", "/", "sip", "/a//b", "/a/../b", "/a b", "/a?x"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
