//! SIP targets from the environment: the original sample's `SIP_*` variables make the
//! `default` target, and `SIP_TARGETS` adds named ones.
//!
//! `SIP_TARGETS` is one JSON object keyed by target name, so a whole set of destinations
//! fits in one variable (a `.env` line, a Kubernetes secret):
//!
//! ```json
//! {"support": {"uri": "sip:support@pbx.example.com", "label": "Support desk",
//!              "from": "15551230000@pbx.example.com", "username": "u", "password": "p",
//!              "headers": {"X-Queue": "vip"}, "secure": true, "video": false}}
//! ```
//!
//! The JSON is read with serde through `serde_path_to_error`, and a refusal is worded
//! here from the path alone ([`refusal`]): serde's own messages echo the offending value,
//! which for a misplaced password would print it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;
use sipdial_core::api::{
    MAX_TARGET_LABEL_LEN, MAX_TARGET_NAME_LEN, SipTarget, check_target_label, check_target_name,
};
use sipdial_core::{SipAuth, SipFrom, SipHeaders, SipUri};

use crate::ConfigError;
use crate::config::{
    Lookup, POLICY_FIELDS, TargetPolicy, default_target_policy, parse_bool, target_policy, vars,
};

/// The targets, and the policies of those that set one, by name.
pub(crate) type Targets = (Vec<SipTarget>, BTreeMap<String, TargetPolicy>);

/// Name of the target built from `SIP_URI` and friends.
pub const DEFAULT_TARGET_NAME: &str = "default";
/// Name of demo mode's built-in target.
pub const DEMO_TARGET_NAME: &str = "demo";
/// The built-in demo destination: never dialed, the fake dialer only records it.
pub const DEMO_TARGET_URI: &str = "sip:demo@sipdial-demo.invalid";
/// Label of [`DEMO_POLICY_TARGETS`]' target that never answers.
pub const DEMO_RING_TIMEOUT_LABEL: &str = "Never answers (ring timeout 3 s)";
/// Label of [`DEMO_POLICY_TARGETS`]' target whose calls are cut after 3 s.
pub const DEMO_TIME_LIMIT_LABEL: &str = "Answers, cut after 3 s";
/// `SIP_TARGETS` for demo mode that shows sipdial's own call policies: the bundled
/// endpoint's `noanswer` user rings forever, so a 3 s ring timeout ends its calls
/// (`no_answer`); the usual user answers at ~3 s and a 3 s maximum duration ends the
/// call 3 s later (`max_duration`). The README's quick start and the browser test use it.
pub const DEMO_POLICY_TARGETS: &str = r#"{"no-answer": {"uri": "sip:noanswer@sipdial-demo.invalid", "label": "Never answers (ring timeout 3 s)", "ringTimeoutSecs": 3}, "time-limit": {"uri": "sip:demo@sipdial-demo.invalid", "label": "Answers, cut after 3 s", "maxDurationSecs": 3}}"#;
const DEMO_TARGET_LABEL: &str = "Demo SIP endpoint (simulated)";
const DEFAULT_TARGET_LABEL: &str = "SIP endpoint";

/// Builds the API's target from what the variables gave; the browser never sees more
/// than its name and label.
#[allow(clippy::too_many_arguments)]
fn target(
    name: &str,
    label: String,
    uri: SipUri,
    from: Option<SipFrom>,
    auth: Option<SipAuth>,
    headers: SipHeaders,
    secure: bool,
    video: bool,
) -> SipTarget {
    let mut t = SipTarget::new(name, uri)
        .label(label)
        .headers(headers)
        .secure(secure)
        .video(video);
    if let Some(from) = from {
        t = t.from(from);
    }
    if let Some(auth) = auth {
        t = t.auth(auth);
    }
    t
}

/// The default target (when `SIP_URI` is set, or always in demo mode) followed by the
/// `SIP_TARGETS` entries in name order.
pub(crate) fn from_lookup(lookup: Lookup<'_>, demo: bool) -> Result<Targets, ConfigError> {
    let mut targets = Vec::new();
    let mut policies = BTreeMap::new();
    if let Some(t) = default_target(lookup, demo)? {
        let policy = default_target_policy(lookup)?;
        if !policy.is_empty() {
            policies.insert(t.name().to_owned(), policy);
        }
        targets.push(t);
    }
    if let Some(json) = lookup(vars::SIP_TARGETS)? {
        for (t, policy) in parse_targets_json(&json)? {
            if targets.iter().any(|existing| existing.name() == t.name()) {
                return Err(ConfigError::invalid(
                    vars::SIP_TARGETS,
                    format!(
                        "target `{}` clashes with the target built from SIP_URI; pick another name",
                        t.name()
                    ),
                ));
            }
            if !policy.is_empty() {
                policies.insert(t.name().to_owned(), policy);
            }
            targets.push(t);
        }
    }
    Ok((targets, policies))
}

fn default_target(lookup: Lookup<'_>, demo: bool) -> Result<Option<SipTarget>, ConfigError> {
    let uri = lookup(vars::SIP_URI)?;
    let (name, label_default, uri) = match uri {
        Some(uri) => (
            DEFAULT_TARGET_NAME,
            DEFAULT_TARGET_LABEL,
            SipUri::new(uri).map_err(|e| ConfigError::invalid(vars::SIP_URI, e.to_string()))?,
        ),
        None if demo => (
            DEMO_TARGET_NAME,
            DEMO_TARGET_LABEL,
            SipUri::new(DEMO_TARGET_URI).expect("the demo URI is valid"),
        ),
        None => {
            // Settings for a default target that does not exist are a mistake, not noise.
            for var in [
                vars::SIP_LABEL,
                vars::SIP_FROM,
                vars::SIP_USERNAME,
                vars::SIP_PASSWORD,
                vars::SIP_HEADERS,
                vars::SIP_SECURE,
                vars::SIP_VIDEO,
                vars::SIP_RING_TIMEOUT_SECS,
                vars::SIP_MAX_DURATION_SECS,
                vars::SIP_DTMF_AFTER_ANSWER,
            ] {
                if lookup(var)?.is_some() {
                    return Err(ConfigError::invalid(
                        vars::SIP_URI,
                        format!("is required when {var} is set"),
                    ));
                }
            }
            return Ok(None);
        }
    };
    let label = match lookup(vars::SIP_LABEL)? {
        Some(l) => check_label(vars::SIP_LABEL, l)?,
        None => label_default.to_owned(),
    };
    let from = lookup(vars::SIP_FROM)?
        .map(|f| SipFrom::new(f).map_err(|e| ConfigError::invalid(vars::SIP_FROM, e.to_string())))
        .transpose()?;
    let auth = match (lookup(vars::SIP_USERNAME)?, lookup(vars::SIP_PASSWORD)?) {
        (Some(u), Some(p)) => Some(SipAuth::new(u, p)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                vars::SIP_PASSWORD,
                "is required when SIP_USERNAME is set",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                vars::SIP_USERNAME,
                "is required when SIP_PASSWORD is set",
            ));
        }
    };
    let headers = match lookup(vars::SIP_HEADERS)? {
        Some(json) => {
            read_json::<BTreeMap<String, String>>(&json, |path| headers_refusal(path).to_owned())
                .and_then(|h| SipHeaders::try_from(h).map_err(|e| e.to_string()))
                .map_err(|reason| ConfigError::invalid(vars::SIP_HEADERS, reason))?
        }
        None => SipHeaders::new(),
    };
    let secure = lookup(vars::SIP_SECURE)?
        .map(|v| parse_bool(vars::SIP_SECURE, &v))
        .transpose()?
        .unwrap_or(false);
    let video = lookup(vars::SIP_VIDEO)?
        .map(|v| parse_bool(vars::SIP_VIDEO, &v))
        .transpose()?
        .unwrap_or(false);
    Ok(Some(target(
        name, label, uri, from, auth, headers, secure, video,
    )))
}

/// Deserializes `json`; a refusal says where a syntax error is, or what is wrong at a
/// path as `reason` words it, never quoting the text.
fn read_json<T: serde::de::DeserializeOwned>(
    json: &str,
    reason: impl FnOnce(&[Segment]) -> String,
) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let (path, inner) = (e.path().iter().cloned().collect::<Vec<_>>(), e.inner());
        if inner.is_data() {
            reason(&path)
        } else {
            format!(
                "is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            )
        }
    })
}

/// What is wrong with a `headers` object at `path` (below the object).
fn headers_refusal(path: &[Segment]) -> &'static str {
    if path.is_empty() {
        "must be a JSON object of header names to string values"
    } else {
        "every header value must be a JSON string"
    }
}

/// The API's rule for labels (a blank label is refused too: it would show as nothing).
fn check_label(var: &'static str, label: String) -> Result<String, ConfigError> {
    if label.trim().is_empty() || check_target_label(var, &label).is_err() {
        return Err(ConfigError::invalid(
            var,
            format!("a label is 1 to {MAX_TARGET_LABEL_LEN} characters without control characters"),
        ));
    }
    Ok(label)
}

/// The API's rule for target names, checked here first because a name is echoed in
/// messages only once it is known to be harmless.
fn valid_target_name(name: &str) -> bool {
    check_target_name(name).is_ok()
}

/// One `SIP_TARGETS` entry as written; every field may be `null`.
#[derive(Deserialize)]
struct Entry {
    uri: Option<String>,
    label: Option<String>,
    from: Option<String>,
    username: Option<String>,
    password: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    secure: Option<bool>,
    video: Option<bool>,
    /// The call policy's fields (read by [`target_policy`]) and any unknown one.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Why `SIP_TARGETS` was refused, from the path serde stopped at: a name is echoed only
/// once it is known to be harmless, a value never.
fn refusal(path: &[Segment]) -> String {
    let key = |i: usize| match path.get(i) {
        Some(Segment::Map { key }) => Some(key.as_str()),
        _ => None,
    };
    let Some(name) = key(0) else {
        return "must be a JSON object keyed by target name, e.g. {\"support\": {\"uri\": \"sip:...\"}}".into();
    };
    if !valid_target_name(name) {
        return name_refusal();
    }
    let reason = match key(1) {
        None => return format!("target `{name}` must be a JSON object, each field once"),
        Some("headers") => format!("`headers`: {}", headers_refusal(&path[2..])),
        Some(field @ ("secure" | "video")) => format!("`{field}` must be true or false"),
        Some(field @ ("uri" | "label" | "from" | "username" | "password")) => {
            format!("`{field}` must be a string")
        }
        Some(_) => "has a field of the wrong type".into(),
    };
    format!("target `{name}`: {reason}")
}

fn name_refusal() -> String {
    format!(
        "a target name must be 1 to {MAX_TARGET_NAME_LEN} ASCII letters, digits, '-', '_' or '.'"
    )
}

fn parse_targets_json(json: &str) -> Result<Vec<(SipTarget, TargetPolicy)>, ConfigError> {
    let bad = |reason: String| ConfigError::invalid(vars::SIP_TARGETS, reason);
    let entries: BTreeMap<String, Entry> = read_json(json, refusal).map_err(bad)?;
    // A BTreeMap: name order always.
    entries
        .into_iter()
        .map(|(name, entry)| {
            if !valid_target_name(&name) {
                return Err(bad(name_refusal()));
            }
            target_from_entry(&name, entry)
                .map_err(|reason| bad(format!("target `{name}`: {reason}")))
        })
        .collect()
}

fn target_from_entry(name: &str, entry: Entry) -> Result<(SipTarget, TargetPolicy), String> {
    const KNOWN: &[&str] = &[
        "uri", "label", "from", "username", "password", "headers", "secure", "video",
    ];
    if let Some(unknown) = entry
        .rest
        .keys()
        .find(|k| !POLICY_FIELDS.contains(&k.as_str()))
    {
        // Field names are safe to echo only once they are known to be harmless.
        return Err(if valid_target_name(unknown) {
            format!(
                "unknown field `{unknown}` (known: {}, {})",
                KNOWN.join(", "),
                POLICY_FIELDS.join(", ")
            )
        } else {
            format!(
                "has an unknown field (known: {}, {})",
                KNOWN.join(", "),
                POLICY_FIELDS.join(", ")
            )
        });
    }
    let uri = entry.uri.ok_or("`uri` is required")?;
    let uri = SipUri::new(uri).map_err(|e| format!("`uri`: {e}"))?;
    let label = match entry.label {
        Some(l) => check_label(vars::SIP_TARGETS, l).map_err(|_| {
            format!("`label` is 1 to {MAX_TARGET_LABEL_LEN} characters without control characters")
        })?,
        None => name.to_owned(),
    };
    let from = entry
        .from
        .map(|f| SipFrom::new(f).map_err(|e| format!("`from`: {e}")))
        .transpose()?;
    let auth = match (entry.username, entry.password) {
        (Some(u), Some(p)) => Some(SipAuth::new(u, p)),
        (None, None) => None,
        _ => return Err("`username` and `password` go together".into()),
    };
    let headers = SipHeaders::try_from(entry.headers.unwrap_or_default())
        .map_err(|e| format!("`headers`: {e}"))?;
    let policy = target_policy(&entry.rest)?;
    let target = target(
        name,
        label,
        uri,
        from,
        auth,
        headers,
        entry.secure.unwrap_or(false),
        entry.video.unwrap_or(false),
    );
    Ok((target, policy))
}

#[cfg(test)]
mod tests;
