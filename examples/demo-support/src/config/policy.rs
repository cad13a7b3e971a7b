//! Call policies from the environment: a target's ring timeout, maximum duration and
//! DTMF at answer (`SIP_RING_TIMEOUT_SECS`, `SIP_MAX_DURATION_SECS`,
//! `SIP_DTMF_AFTER_ANSWER` for the default target; `ringTimeoutSecs`, `maxDurationSecs`,
//! `dtmfAfterAnswer` in a `SIP_TARGETS` entry). The status webhook's variables are
//! read by `webhook`.
//!
//! Values are checked here, at start-up, so that a typo stops the app with the variable
//! named instead of surfacing on the first call. Messages never quote a value: DTMF at
//! answer is typically a conference PIN.

use std::time::Duration;

use serde_json::{Map, Value};
use sipdial_core::Dtmf;
use sipdial_core::api::SipTarget;

use super::{Lookup, vars};
use crate::ConfigError;

/// Longest ring timeout accepted: the API's own bound
/// ([`sipdial_core::api::MAX_RING_TIMEOUT`]), checked here so that the error names the
/// variable.
pub const MAX_RING_TIMEOUT_SECS: u64 = sipdial_core::api::MAX_RING_TIMEOUT.as_secs();
/// Longest maximum duration accepted: the API's own bound, the platform's 6-hour cap on
/// a call ([`sipdial_core::api::MAX_CALL_DURATION`]).
pub const MAX_CALL_DURATION_SECS: u64 = sipdial_core::api::MAX_CALL_DURATION.as_secs();

/// What a target asks of its calls beyond dialing them; `None` leaves the API's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Hang up a call not answered within this long (outcome `no_answer`).
    pub ring_timeout: Option<Duration>,
    /// Hang up an answered call after this long (outcome `max_duration`).
    pub max_duration: Option<Duration>,
    /// Digits sent once when the call is answered.
    pub dtmf_after_answer: Option<Dtmf>,
}

impl TargetPolicy {
    /// Whether the target sets anything.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// `target` with this policy set on it.
    pub(crate) fn apply(&self, mut target: SipTarget) -> SipTarget {
        if let Some(t) = self.ring_timeout {
            target = target.ring_timeout(t);
        }
        if let Some(m) = self.max_duration {
            target = target.max_duration(m);
        }
        if let Some(d) = &self.dtmf_after_answer {
            target = target.dtmf_after_answer(d.clone());
        }
        target
    }
}

/// Seconds in `1..=max`, from a variable's text.
fn seconds(var: &'static str, value: &str, max: u64) -> Result<Duration, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Duration::from_secs(n)),
        _ => Err(ConfigError::invalid(
            var,
            format!("must be a whole number of seconds from 1 to {max}"),
        )),
    }
}

/// DTMF digits, checked like the DTMF route checks them.
fn digits(value: &str) -> Result<Dtmf, String> {
    Dtmf::new(value.trim()).map_err(|_| {
        format!(
            "must be 1 to {} of the characters 0-9, *, # and p (a 500 ms pause)",
            sipdial_core::MAX_DTMF_LEN
        )
    })
}

/// The default target's policy, from `SIP_RING_TIMEOUT_SECS`, `SIP_MAX_DURATION_SECS`
/// and `SIP_DTMF_AFTER_ANSWER`.
pub(crate) fn default_target_policy(lookup: Lookup<'_>) -> Result<TargetPolicy, ConfigError> {
    Ok(TargetPolicy {
        ring_timeout: lookup(vars::SIP_RING_TIMEOUT_SECS)?
            .map(|v| seconds(vars::SIP_RING_TIMEOUT_SECS, &v, MAX_RING_TIMEOUT_SECS))
            .transpose()?,
        max_duration: lookup(vars::SIP_MAX_DURATION_SECS)?
            .map(|v| seconds(vars::SIP_MAX_DURATION_SECS, &v, MAX_CALL_DURATION_SECS))
            .transpose()?,
        dtmf_after_answer: lookup(vars::SIP_DTMF_AFTER_ANSWER)?
            .map(|v| digits(&v).map_err(|r| ConfigError::invalid(vars::SIP_DTMF_AFTER_ANSWER, r)))
            .transpose()?,
    })
}

/// The JSON field names of a `SIP_TARGETS` entry's policy.
pub(crate) const TARGET_FIELDS: &[&str] =
    &["ringTimeoutSecs", "maxDurationSecs", "dtmfAfterAnswer"];

/// A `SIP_TARGETS` entry's policy; the reason names the field, never its value.
pub(crate) fn target_policy(fields: &Map<String, Value>) -> Result<TargetPolicy, String> {
    let secs = |field: &str, max: u64| -> Result<Option<Duration>, String> {
        match fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(s) if (1..=max).contains(&s) => Ok(Some(Duration::from_secs(s))),
                _ => Err(format!("`{field}` must be a whole number from 1 to {max}")),
            },
            Some(_) => Err(format!("`{field}` must be a number of seconds")),
        }
    };
    Ok(TargetPolicy {
        ring_timeout: secs("ringTimeoutSecs", MAX_RING_TIMEOUT_SECS)?,
        max_duration: secs("maxDurationSecs", MAX_CALL_DURATION_SECS)?,
        dtmf_after_answer: match fields.get("dtmfAfterAnswer") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(digits(s).map_err(|r| format!("`dtmfAfterAnswer` {r}"))?)
            }
            Some(_) => return Err("`dtmfAfterAnswer` must be a string of digits".into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_CALL_DURATION_SECS, MAX_RING_TIMEOUT_SECS};
    use crate::config::tests::config_from;

    fn refused(pairs: &[(&'static str, &str)]) -> (Option<&'static str>, String) {
        let err = config_from(pairs, None).expect_err("should be refused");
        (err.variable(), err.to_string())
    }

    #[test]
    fn the_default_target_reads_its_policy() {
        let c = config_from(
            &[
                ("SIP_RING_TIMEOUT_SECS", " 20 "),
                ("SIP_MAX_DURATION_SECS", "3600"),
                ("SIP_DTMF_AFTER_ANSWER", "1234#"),
            ],
            None,
        )
        .unwrap();
        let p = c.policy_of("demo");
        let t = &c.targets[0];
        assert_eq!(t.ring_timeout_setting(), Some(Duration::from_secs(20)));
        assert_eq!(t.max_duration_setting(), Some(Duration::from_secs(3600)));
        assert_eq!(t.dtmf_after_answer_setting().unwrap().as_str(), "1234#");
        assert_eq!(p.ring_timeout, Some(Duration::from_secs(20)));
        assert_eq!(p.max_duration, Some(Duration::from_secs(3600)));
        assert_eq!(p.dtmf_after_answer.unwrap().as_str(), "1234#");
        assert!(config_from(&[], None).unwrap().policy_of("demo").is_empty());
    }

    #[test]
    fn sip_targets_entries_read_their_policy() {
        let c = config_from(
            &[(
                "SIP_TARGETS",
                r#"{"conf": {"uri": "sip:bridge@pbx.example.com", "ringTimeoutSecs": 30,
                             "maxDurationSecs": 7200, "dtmfAfterAnswer": "p4455#"},
                    "plain": {"uri": "sip:desk@pbx.example.com", "ringTimeoutSecs": null}}"#,
            )],
            None,
        )
        .unwrap();
        let p = c.policy_of("conf");
        assert_eq!(p.ring_timeout, Some(Duration::from_secs(30)));
        assert_eq!(p.max_duration, Some(Duration::from_secs(7200)));
        assert_eq!(p.dtmf_after_answer.unwrap().as_str(), "p4455#");
        assert!(c.policy_of("plain").is_empty());
        let conf = c.targets.iter().find(|t| t.name() == "conf").unwrap();
        assert_eq!(conf.ring_timeout_setting(), Some(Duration::from_secs(30)));
        assert_eq!(conf.max_duration_setting(), Some(Duration::from_secs(7200)));
        assert_eq!(conf.dtmf_after_answer_setting().unwrap().as_str(), "p4455#");
        let plain = c.targets.iter().find(|t| t.name() == "plain").unwrap();
        assert_eq!(
            (plain.ring_timeout_setting(), plain.max_duration_setting()),
            (None, None)
        );
        assert!(plain.dtmf_after_answer_setting().is_none());
        assert!(c.policy_of("demo").is_empty());
    }

    #[test]
    fn malformed_policies_name_their_variable_and_never_quote_the_digits() {
        let too_long_ring = (MAX_RING_TIMEOUT_SECS + 1).to_string();
        let too_long_call = (MAX_CALL_DURATION_SECS + 1).to_string();
        let cases: &[(&[(&'static str, &str)], &str)] = &[
            (&[("SIP_RING_TIMEOUT_SECS", "0")], "SIP_RING_TIMEOUT_SECS"),
            (&[("SIP_RING_TIMEOUT_SECS", "1.5")], "SIP_RING_TIMEOUT_SECS"),
            (&[("SIP_RING_TIMEOUT_SECS", "-3")], "SIP_RING_TIMEOUT_SECS"),
            (
                &[("SIP_RING_TIMEOUT_SECS", &too_long_ring)],
                "SIP_RING_TIMEOUT_SECS",
            ),
            (&[("SIP_MAX_DURATION_SECS", "ten")], "SIP_MAX_DURATION_SECS"),
            (
                &[("SIP_MAX_DURATION_SECS", &too_long_call)],
                "SIP_MAX_DURATION_SECS",
            ),
            (
                &[("SIP_DTMF_AFTER_ANSWER", "12TOPSECRET")],
                "SIP_DTMF_AFTER_ANSWER",
            ),
            (
                &[(
                    "SIP_TARGETS",
                    r#"{"a": {"uri": "sip:a@b.example", "ringTimeoutSecs": "30"}}"#,
                )],
                "SIP_TARGETS",
            ),
            (
                &[(
                    "SIP_TARGETS",
                    r#"{"a": {"uri": "sip:a@b.example", "maxDurationSecs": 0}}"#,
                )],
                "SIP_TARGETS",
            ),
            (
                &[(
                    "SIP_TARGETS",
                    r#"{"a": {"uri": "sip:a@b.example", "maxDurationSecs": 2.5}}"#,
                )],
                "SIP_TARGETS",
            ),
            (
                &[(
                    "SIP_TARGETS",
                    r#"{"a": {"uri": "sip:a@b.example", "dtmfAfterAnswer": "TOPSECRET"}}"#,
                )],
                "SIP_TARGETS",
            ),
            (
                &[(
                    "SIP_TARGETS",
                    r#"{"a": {"uri": "sip:a@b.example", "dtmfAfterAnswer": 1234}}"#,
                )],
                "SIP_TARGETS",
            ),
        ];
        for (pairs, var) in cases {
            let (got, message) = refused(pairs);
            assert_eq!(got, Some(*var), "{pairs:?} -> {message}");
            assert!(message.contains(var), "{message}");
            assert!(!message.contains("TOPSECRET"), "{message}");
        }
    }

    #[test]
    fn cloud_mode_refuses_a_policy_without_a_default_target() {
        let creds = sipdial_opentok::Credentials::project("123456", "secret-secret-secret");
        let err = config_from(&[("SIP_MAX_DURATION_SECS", "60")], Some(creds)).unwrap_err();
        assert_eq!(err.variable(), Some("SIP_URI"));
    }
}
