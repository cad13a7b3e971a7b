//! The host's named SIP destinations: what callers pick by name, and the rules a
//! name and a label follow (exposed so that hosts reading targets from their own
//! configuration refuse the same names at parse time).

use std::time::Duration;

use crate::backend::limits::Quota;
use crate::policy::calls::CallLimits;
use crate::policy::config_error::ApiConfigError;
use crate::policy::webhook::StatusWebhook;
use crate::sip::quoted_name;
use crate::{Dtmf, SipAuth, SipFrom, SipHeaders, SipUri, ValidationError};

/// Longest target name.
pub const MAX_TARGET_NAME_LEN: usize = 64;
/// Longest target label.
pub const MAX_TARGET_LABEL_LEN: usize = 100;

/// Checks a target name: 1 to [`MAX_TARGET_NAME_LEN`] of `[A-Za-z0-9_.-]`, so it
/// is safe in URLs, JSON and logs as it is.
pub fn check_target_name(name: &str) -> Result<(), ApiConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_TARGET_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiConfigError::TargetName(name.to_owned()))
    }
}

/// Checks the label of the target called `name`: 1 to [`MAX_TARGET_LABEL_LEN`]
/// characters without control characters, since pages show it as text.
pub fn check_target_label(name: &str, label: &str) -> Result<(), ApiConfigError> {
    if label.is_empty()
        || label.chars().count() > MAX_TARGET_LABEL_LEN
        || label.chars().any(char::is_control)
    {
        return Err(ApiConfigError::TargetLabel(name.to_owned()));
    }
    Ok(())
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
    pub(crate) limits: CallLimits,
    pub(crate) dtmf_after_answer: Option<Dtmf>,
    pub(crate) status_webhook: Option<StatusWebhook>,
    pub(crate) quota: Quota,
    pub(crate) caller_headers: Vec<String>,
    pub(crate) caller_dtmf: bool,
    pub(crate) caller_dtmf_after_answer: bool,
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
            limits: CallLimits::default(),
            dtmf_after_answer: None,
            status_webhook: None,
            quota: Quota::UNLIMITED,
            caller_headers: Vec::new(),
            caller_dtmf: true,
            caller_dtmf_after_answer: true,
        }
    }

    /// Most calls to this target active at once, across every session and client
    /// (and, on a shared backend, every replica); unlimited unless set. A 429
    /// `target_too_many_calls` above it: a line or trunk with N channels wants N.
    pub fn max_active_calls(mut self, max: usize) -> Self {
        self.quota.max_active = max;
        self
    }

    /// Most dials to this target in a sliding minute, across every session and
    /// client; unlimited unless set. A 429 `target_dial_rate_limited` above it.
    pub fn dials_per_minute(mut self, max: u32) -> Self {
        self.quota.per_minute = max;
        self
    }

    /// Whether `POST /calls/{id}/dtmf` may play digits into calls to this target
    /// (default true). Refuse it (403 `dtmf_not_allowed`) for an IVR or a PBX with an
    /// outside line: whoever controls the call could key in any number.
    pub fn caller_dtmf(mut self, allowed: bool) -> Self {
        self.caller_dtmf = allowed;
        self
    }

    /// Whether a dial request may bring its own `dtmfAfterAnswer` for this target
    /// (default true; a target with digits of its own never takes a caller's). Refuse
    /// it (403 `dtmf_not_allowed`) for the same targets as [`Self::caller_dtmf`].
    pub fn caller_dtmf_after_answer(mut self, allowed: bool) -> Self {
        self.caller_dtmf_after_answer = allowed;
        self
    }

    /// Headers beyond `X-…` that a dial request may set on calls to this target (e.g.
    /// `Call-Info` for a PBX that reads it); names compare case-insensitively. By
    /// default callers may set only `X-` headers: a header such as
    /// `Call-Info: …;answer-after=0` (auto-answer) or `P-Charge-Info` (billing) is the
    /// host's decision. Names the SIP stack owns, identity headers and compact forms
    /// are refused by `build()`.
    pub fn caller_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.caller_headers = names.into_iter().map(Into::into).collect();
        self
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

    /// Hangs up calls to this target not answered within `timeout` (outcome
    /// `no_answer`); wins over the builder's `default_ring_timeout`. Above zero and
    /// at most 10 minutes (checked in `build()`).
    pub fn ring_timeout(mut self, timeout: Duration) -> Self {
        self.limits.ring_timeout = Some(timeout);
        self
    }

    /// Hangs up calls to this target `max` after they were answered (outcome
    /// `max_duration`); wins over the builder's `default_max_duration`. Above zero
    /// and at most 6 hours (checked in `build()`).
    pub fn max_duration(mut self, max: Duration) -> Self {
        self.limits.max_duration = Some(max);
        self
    }

    /// The ring timeout set on this target, if any.
    pub fn ring_timeout_setting(&self) -> Option<Duration> {
        self.limits.ring_timeout
    }

    /// The maximum duration set on this target, if any.
    pub fn max_duration_setting(&self) -> Option<Duration> {
        self.limits.max_duration
    }

    /// Digits played into the call once it is answered (a conference PIN, an IVR
    /// choice); `p` is a 500 ms pause. Overrides the builder's
    /// `default_dtmf_after_answer`, and a dial request may not replace them.
    pub fn dtmf_after_answer(mut self, digits: Dtmf) -> Self {
        self.dtmf_after_answer = Some(digits);
        self
    }

    /// The digits played at answer, if set on the target itself.
    pub fn dtmf_after_answer_setting(&self) -> Option<&Dtmf> {
        self.dtmf_after_answer.as_ref()
    }

    /// POSTs this target's call changes to `webhook` instead of the builder's
    /// [`crate::api::SipDialApiBuilder::status_webhook`].
    #[cfg(feature = "jwt")]
    pub fn status_webhook(mut self, webhook: StatusWebhook) -> Self {
        self.status_webhook = Some(webhook);
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

    /// The URI it dials; `None` when [`SipTarget::parse`] was given an invalid one
    /// (which `build()` reports).
    pub fn sip_uri(&self) -> Option<&SipUri> {
        self.uri.as_ref().ok()
    }

    /// The INVITE's From, if set.
    pub fn caller(&self) -> Option<&SipFrom> {
        self.from.as_ref()
    }

    /// The digest credentials, if set (their `Debug` redacts the password).
    pub fn credentials(&self) -> Option<&SipAuth> {
        self.auth.as_ref()
    }

    /// The headers added to every INVITE.
    pub fn sip_headers(&self) -> &SipHeaders {
        &self.headers
    }

    /// Whether media is SRTP.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether video is sent to the SIP leg.
    pub fn sends_video(&self) -> bool {
        self.video
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
    pub(crate) limits: CallLimits,
    /// The target's own digits at answer, or the builder's default.
    pub(crate) dtmf_after_answer: Option<Dtmf>,
    pub(crate) status_webhook: Option<StatusWebhook>,
    /// Its fleet-wide dial limits.
    pub(crate) quota: Quota,
    /// Headers beyond `X-…` callers may set.
    pub(crate) caller_headers: Vec<String>,
    /// Whether callers may play DTMF into its calls.
    pub(crate) caller_dtmf: bool,
    /// Whether a dial may bring its own digits at answer.
    pub(crate) caller_dtmf_after_answer: bool,
}

impl SipTarget {
    /// Validates the target once, at `build()`.
    fn validate(self, default_dtmf: Option<&Dtmf>) -> Result<Target, ApiConfigError> {
        check_target_name(&self.name)?;
        let label = self.label.clone().unwrap_or_else(|| self.name.clone());
        check_target_label(&self.name, &label)?;
        self.limits.check(&format!("target `{}`", self.name))?;
        if self.quota.max_active == 0 {
            return Err(ApiConfigError::Limit("a target's max_active_calls"));
        }
        if self.quota.per_minute == 0 {
            return Err(ApiConfigError::Limit("a target's dials_per_minute"));
        }
        let uri = self.uri.map_err(|source| ApiConfigError::TargetUri {
            name: self.name.clone(),
            source,
        })?;
        if let Some((header, reason)) = self
            .caller_headers
            .iter()
            .find_map(|h| SipHeaders::never_from_callers(h).map(|r| (h, r)))
        {
            return Err(ApiConfigError::TargetCallerHeader {
                target: self.name.clone(),
                header: header.clone(),
                reason,
            });
        }
        Ok(Target {
            name: self.name,
            label,
            uri,
            from: self.from,
            auth: self.auth,
            headers: self.headers,
            secure: self.secure,
            video: self.video,
            observe_force_mute: self.observe_force_mute,
            limits: self.limits,
            dtmf_after_answer: self.dtmf_after_answer.or_else(|| default_dtmf.cloned()),
            status_webhook: self.status_webhook,
            quota: self.quota,
            caller_headers: self.caller_headers,
            caller_dtmf: self.caller_dtmf,
            caller_dtmf_after_answer: self.caller_dtmf_after_answer,
        })
    }
}

/// Checks the headers of a dial request against what callers may set: `X-…` headers,
/// plus the names `target` allows ([`SipTarget::caller_headers`]); never one the SIP
/// stack owns, one that sets the caller's identity, or a compact form. The reason
/// names the header.
pub(crate) fn check_caller_headers(
    headers: &SipHeaders,
    target: Option<&Target>,
) -> Result<(), String> {
    for (name, _) in headers.iter() {
        if let Some(reason) = SipHeaders::never_from_callers(name) {
            return Err(format!(
                "{} may not come from a caller: {reason}",
                quoted_name(name)
            ));
        }
        let x_header = name.len() > 2 && name[..2].eq_ignore_ascii_case("x-");
        let allowed = target.is_some_and(|t| {
            t.caller_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        });
        if !x_header && !allowed {
            return Err(format!(
                "{}: callers may set only `X-` headers and those the target allows",
                quoted_name(name)
            ));
        }
    }
    Ok(())
}

/// Every validated target and which one a dial that names none uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    all: Vec<Target>,
    default: Option<usize>,
}

impl Targets {
    /// Validates `targets` (names unique) and resolves the default: the named one, or
    /// the only one.
    pub(crate) fn new(
        targets: Vec<SipTarget>,
        default: Option<String>,
        default_dtmf: Option<Dtmf>,
    ) -> Result<Self, ApiConfigError> {
        let mut all: Vec<Target> = Vec::with_capacity(targets.len());
        for t in targets {
            let t = t.validate(default_dtmf.as_ref())?;
            if all.iter().any(|o| o.name == t.name) {
                return Err(ApiConfigError::DuplicateTarget(t.name));
            }
            all.push(t);
        }
        let default = match default {
            Some(name) => Some(
                all.iter()
                    .position(|t| t.name == name)
                    .ok_or(ApiConfigError::UnknownDefaultTarget(name))?,
            ),
            None if all.len() == 1 => Some(0),
            None => None,
        };
        Ok(Self { all, default })
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Target> {
        self.all.iter()
    }

    pub(crate) fn find(&self, name: &str) -> Option<&Target> {
        self.all.iter().find(|t| t.name == name)
    }

    pub(crate) fn default(&self) -> Option<&Target> {
        self.default.map(|i| &self.all[i])
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}
