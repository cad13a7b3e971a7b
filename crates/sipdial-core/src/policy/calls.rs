//! Call policies: how long a call may ring and how long it may last, per target and
//! as a default for all, and how long a call may go without any platform event before
//! it is closed as expired. Configured on the builder, validated once in `build()`,
//! enforced by the call timers (`call_timers`).

use std::collections::HashMap;
use std::time::Duration;

use crate::policy::config_error::ApiConfigError;

/// Longest ring timeout: far ends give up ringing long before (and a longer one would
/// leave a call that never rings in `dialing` for nothing).
pub const MAX_RING_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Longest maximum call duration: the platform ends every call at 6 hours anyway
/// (`docs/platform-api.md §7`).
pub const MAX_CALL_DURATION: Duration = Duration::from_secs(6 * 3600);
/// How long a call may go without a platform event before it is closed as expired:
/// the platform's own cap on a call's length (`docs/platform-api.md §7`), so a call
/// that quiet has ended without its end reaching us.
pub const DEFAULT_CALL_EXPIRY: Duration = MAX_CALL_DURATION;
/// Longest call expiry that may be configured (a week): the store keeps a call no
/// longer than that after its last change anyway.
pub const MAX_CALL_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often each API instance looks for due call timers (default): timers fire at
/// most this late.
pub const DEFAULT_TIMER_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Slowest timer polling that may be configured.
pub const MAX_TIMER_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// The ring timeout and maximum duration of one target, or the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallLimits {
    pub(crate) ring_timeout: Option<Duration>,
    pub(crate) max_duration: Option<Duration>,
}

impl CallLimits {
    /// Checks both bounds; `scope` names where they were set, for the error.
    pub(crate) fn check(&self, scope: &str) -> Result<(), ApiConfigError> {
        check_bound(self.ring_timeout, "ring timeout", scope, MAX_RING_TIMEOUT)?;
        check_bound(self.max_duration, "max duration", scope, MAX_CALL_DURATION)
    }

    /// These, with the defaults where unset.
    fn or(self, defaults: CallLimits) -> CallLimits {
        CallLimits {
            ring_timeout: self.ring_timeout.or(defaults.ring_timeout),
            max_duration: self.max_duration.or(defaults.max_duration),
        }
    }
}

fn check_bound(
    value: Option<Duration>,
    setting: &'static str,
    scope: &str,
    max: Duration,
) -> Result<(), ApiConfigError> {
    match value {
        Some(v) if v.is_zero() || v > max => Err(ApiConfigError::CallPolicy {
            setting,
            scope: scope.to_owned(),
            max,
        }),
        _ => Ok(()),
    }
}

/// Reconciliation (`SipDialApiBuilder::reconcile_calls`): a live call without a change
/// for `after` is checked against the platform's List Connections, then again every
/// `every` while it stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reconcile {
    pub(crate) every: Duration,
    pub(crate) after: Duration,
}

/// Shortest reconcile interval or threshold: each check is a platform request.
pub const MIN_RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

/// The builder's policy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PolicySettings {
    pub(crate) defaults: CallLimits,
    pub(crate) expiry: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) reconcile: Option<Reconcile>,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            defaults: CallLimits::default(),
            expiry: DEFAULT_CALL_EXPIRY,
            poll_interval: DEFAULT_TIMER_POLL_INTERVAL,
            reconcile: None,
        }
    }
}

impl PolicySettings {
    /// Checks the defaults and the timer settings.
    pub(crate) fn check(&self) -> Result<(), ApiConfigError> {
        self.defaults.check("the defaults")?;
        check_bound(Some(self.expiry), "call expiry", "the API", MAX_CALL_EXPIRY)?;
        check_bound(
            Some(self.poll_interval),
            "timer poll interval",
            "the API",
            MAX_TIMER_POLL_INTERVAL,
        )?;
        if let Some(r) = self.reconcile {
            for (setting, value) in [
                ("reconcile interval", r.every),
                ("reconcile threshold", r.after),
            ] {
                if value < MIN_RECONCILE_INTERVAL {
                    return Err(ApiConfigError::CallPolicy {
                        setting,
                        scope: "the API".to_owned(),
                        max: MAX_CALL_EXPIRY,
                    });
                }
                check_bound(Some(value), setting, "the API", MAX_CALL_EXPIRY)?;
            }
        }
        Ok(())
    }
}

/// The policies in force: per target (with the defaults filled in) and for calls
/// without a target (a caller-supplied URI, a call recorded from the platform's
/// events).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallPolicies {
    by_target: HashMap<String, CallLimits>,
    defaults: CallLimits,
    pub(crate) expiry: Duration,
    pub(crate) poll_interval: Duration,
    /// `None`: off (not asked for, or the dialer cannot list connections).
    pub(crate) reconcile: Option<Reconcile>,
}

impl CallPolicies {
    /// `targets` are each target's name and own limits: taken as pairs, not as the
    /// target list, so that the targets (which hold [`CallLimits`]) stay above this.
    pub(crate) fn new<'a>(
        targets: impl IntoIterator<Item = (&'a str, CallLimits)>,
        settings: PolicySettings,
    ) -> Self {
        let by_target = targets
            .into_iter()
            .map(|(name, limits)| (name.to_owned(), limits.or(settings.defaults)))
            .collect();
        Self {
            by_target,
            defaults: settings.defaults,
            expiry: settings.expiry,
            poll_interval: settings.poll_interval,
            reconcile: settings.reconcile,
        }
    }

    /// The limits of a call to `target` (`None`, or a target no longer configured:
    /// the defaults).
    pub(crate) fn limits(&self, target: Option<&str>) -> CallLimits {
        target
            .and_then(|t| self.by_target.get(t).copied())
            .unwrap_or(self.defaults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        let ok = CallLimits {
            ring_timeout: Some(Duration::from_secs(30)),
            max_duration: Some(MAX_CALL_DURATION),
        };
        assert_eq!(ok.check("x"), Ok(()));
        assert_eq!(CallLimits::default().check("x"), Ok(()));
        for (bad, setting) in [
            (
                CallLimits {
                    ring_timeout: Some(Duration::ZERO),
                    ..ok
                },
                "ring timeout",
            ),
            (
                CallLimits {
                    ring_timeout: Some(MAX_RING_TIMEOUT + Duration::from_millis(1)),
                    ..ok
                },
                "ring timeout",
            ),
            (
                CallLimits {
                    max_duration: Some(Duration::ZERO),
                    ..ok
                },
                "max duration",
            ),
            (
                CallLimits {
                    max_duration: Some(MAX_CALL_DURATION * 2),
                    ..ok
                },
                "max duration",
            ),
        ] {
            match bad.check("target `t`") {
                Err(ApiConfigError::CallPolicy {
                    setting: s, scope, ..
                }) => {
                    assert_eq!(s, setting);
                    assert_eq!(scope, "target `t`");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let mut settings = PolicySettings::default();
        assert_eq!(settings.check(), Ok(()));
        settings.expiry = Duration::ZERO;
        assert!(settings.check().is_err());
        settings.expiry = DEFAULT_CALL_EXPIRY;
        settings.poll_interval = Duration::from_secs(61);
        assert!(settings.check().is_err());
    }

    #[test]
    fn a_targets_own_limits_win_over_the_defaults() {
        let defaults = CallLimits {
            ring_timeout: Some(Duration::from_secs(20)),
            max_duration: Some(Duration::from_secs(600)),
        };
        let own = CallLimits {
            ring_timeout: Some(Duration::from_secs(5)),
            max_duration: None,
        };
        assert_eq!(
            own.or(defaults),
            CallLimits {
                ring_timeout: Some(Duration::from_secs(5)),
                max_duration: Some(Duration::from_secs(600)),
            }
        );
    }
}
