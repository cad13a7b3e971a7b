//! One plain word for how a call ended, instead of a SIP code: what hosts, pages and
//! reports group calls by. The mapping is a pure function of who ended the call, the
//! code the platform gave and whether the far end had answered, so every store (and
//! every replica) computes the same outcome; `docs/call-lifecycle.md` has the table.

/// How an ended call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallOutcome {
    /// Answered, then ended by either side.
    Completed,
    /// The far end was busy (486, 600).
    Busy,
    /// Nobody answered (480, 408, or our ring timeout).
    NoAnswer,
    /// The far end refused the call (603, 403).
    Rejected,
    /// Any other failure: another 4xx–6xx, a platform error, a call that broke off.
    Failed,
    /// Hung up by us before it was answered.
    Canceled,
    /// Ended by the maximum call duration (ours, or the platform's 705).
    MaxDuration,
    /// Closed because the platform said nothing about it for longer than it lets a
    /// call last: its end was never reported.
    Expired,
}

impl CallOutcome {
    /// The wire spelling (`completed`, `no_answer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Completed => "completed",
            CallOutcome::Busy => "busy",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Failed => "failed",
            CallOutcome::Canceled => "canceled",
            CallOutcome::MaxDuration => "max_duration",
            CallOutcome::Expired => "expired",
        }
    }

    /// Every outcome, in the order of the docs' table.
    pub const ALL: [CallOutcome; 8] = [
        CallOutcome::Completed,
        CallOutcome::Busy,
        CallOutcome::NoAnswer,
        CallOutcome::Rejected,
        CallOutcome::Failed,
        CallOutcome::Canceled,
        CallOutcome::MaxDuration,
        CallOutcome::Expired,
    ];

    /// The outcome the platform's `callDestroyed` says, from its code
    /// (`docs/platform-api.md §6`) and whether the call had been answered.
    ///
    /// An answered call is `completed` whoever hung up, unless the gateway cut it:
    /// 705 (its maximum duration) is `max_duration`; 703 (unexpected clearing), 704
    /// (no media) and 706 (inactivity) are `failed`, since the call broke. Before an
    /// answer the far end's refusal comes as a 4xx–6xx code; a normal clearing
    /// (700–702) or 487 (Request Terminated, the answer to a CANCEL) without one is
    /// the calling side giving up, that is us: `canceled`. A 2xx means the INVITE was
    /// answered even if its ACTIVE event got lost.
    pub fn from_platform(code: Option<u16>, answered: bool) -> CallOutcome {
        match code {
            Some(705) => CallOutcome::MaxDuration,
            Some(703 | 704 | 706) => CallOutcome::Failed,
            _ if answered => CallOutcome::Completed,
            Some(200..=299) => CallOutcome::Completed,
            Some(486 | 600) => CallOutcome::Busy,
            Some(480 | 408) => CallOutcome::NoAnswer,
            Some(603 | 403) => CallOutcome::Rejected,
            Some(487 | 700..=702) => CallOutcome::Canceled,
            // Other 4xx–6xx, 1xx/3xx the gateway gave up on, unknown codes, none.
            _ => CallOutcome::Failed,
        }
    }

    /// The outcome of a call that ended with the reason not known yet (a `HANGUP`
    /// update, the SIP leg's connection going away, the platform no longer knowing
    /// it): `completed` once answered, else `failed` until the platform's
    /// `callDestroyed` says why ([`CallOutcome::is_provisional`]).
    pub fn from_unexplained(answered: bool) -> CallOutcome {
        if answered {
            CallOutcome::Completed
        } else {
            CallOutcome::Failed
        }
    }

    /// Whether the platform's `callDestroyed` may still replace this outcome: only
    /// the two an end without a known cause gives. What we decided (a hang-up, a
    /// timer) stands, whatever code the platform reports for it afterwards.
    pub fn is_provisional(self) -> bool {
        matches!(self, CallOutcome::Completed | CallOutcome::Failed)
    }
}

impl std::fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why we ended a call ourselves: the outcome is ours to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocalEnd {
    /// Hung up by us (`DELETE /calls/{id}`, or a forced disconnect of its
    /// connection): `completed` once answered, else `canceled`.
    HangUp,
    /// Not answered within the ring timeout: `no_answer`. Applies only while the call
    /// has not been answered.
    RingTimeout,
    /// Answered longer than the maximum duration: `max_duration`. Applies only once
    /// answered.
    MaxDuration,
    /// No platform event for longer than a call may last: `expired`.
    Expired,
    /// The platform no longer has the leg (or lists it `Disconnected`) though no end
    /// was reported: `completed` once answered, else `failed` (why it ended was lost
    /// with the callbacks).
    Reconciled,
}

impl LocalEnd {
    /// The end reason recorded until the platform's `callDestroyed` says more.
    pub fn reason(self) -> &'static str {
        match self {
            LocalEnd::HangUp => "Hung up",
            LocalEnd::RingTimeout => "Ring timeout",
            LocalEnd::MaxDuration => "Max duration reached",
            LocalEnd::Expired => "Expired",
            LocalEnd::Reconciled => "Reconciled: the platform no longer has the leg",
        }
    }

    /// The outcome, or `None` when this end no longer applies to a call at that
    /// point (a ring timeout of an answered call, a max duration of an unanswered
    /// one).
    pub fn outcome(self, answered: bool) -> Option<CallOutcome> {
        match (self, answered) {
            (LocalEnd::HangUp, true) => Some(CallOutcome::Completed),
            (LocalEnd::HangUp, false) => Some(CallOutcome::Canceled),
            (LocalEnd::RingTimeout, false) => Some(CallOutcome::NoAnswer),
            (LocalEnd::MaxDuration, true) => Some(CallOutcome::MaxDuration),
            (LocalEnd::Expired, _) => Some(CallOutcome::Expired),
            (LocalEnd::Reconciled, true) => Some(CallOutcome::Completed),
            (LocalEnd::Reconciled, false) => Some(CallOutcome::Failed),
            (LocalEnd::RingTimeout, true) | (LocalEnd::MaxDuration, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CallOutcome::*;
    use super::*;

    /// Every row of the table in `docs/call-lifecycle.md` (platform codes).
    #[test]
    fn platform_codes_map_as_documented() {
        let rows: &[(Option<u16>, bool, CallOutcome)] = &[
            (Some(486), false, Busy),
            (Some(600), false, Busy),
            (Some(480), false, NoAnswer),
            (Some(408), false, NoAnswer),
            (Some(603), false, Rejected),
            (Some(403), false, Rejected),
            (Some(404), false, Failed),
            (Some(484), false, Failed),
            (Some(488), false, Failed),
            (Some(500), false, Failed),
            (Some(503), false, Failed),
            (Some(604), false, Failed),
            (Some(699), false, Failed),
            (Some(487), false, Canceled),
            (Some(700), false, Canceled),
            (Some(701), false, Canceled),
            (Some(702), false, Canceled),
            (Some(703), false, Failed),
            (Some(704), false, Failed),
            (Some(705), false, MaxDuration),
            (Some(706), false, Failed),
            (Some(200), false, Completed),
            (Some(180), false, Failed),
            (Some(302), false, Failed),
            (Some(999), false, Failed),
            (None, false, Failed),
            // Answered: completed whoever hung up, unless the gateway cut it.
            (Some(200), true, Completed),
            (Some(700), true, Completed),
            (Some(701), true, Completed),
            (Some(702), true, Completed),
            (Some(486), true, Completed),
            (Some(487), true, Completed),
            (Some(500), true, Completed),
            (None, true, Completed),
            (Some(703), true, Failed),
            (Some(704), true, Failed),
            (Some(706), true, Failed),
            (Some(705), true, MaxDuration),
        ];
        for &(code, answered, want) in rows {
            assert_eq!(
                CallOutcome::from_platform(code, answered),
                want,
                "code {code:?}, answered {answered}"
            );
        }
    }

    #[test]
    fn local_ends_map_as_documented() {
        assert_eq!(LocalEnd::HangUp.outcome(true), Some(Completed));
        assert_eq!(LocalEnd::HangUp.outcome(false), Some(Canceled));
        assert_eq!(LocalEnd::RingTimeout.outcome(false), Some(NoAnswer));
        assert_eq!(LocalEnd::RingTimeout.outcome(true), None);
        assert_eq!(LocalEnd::MaxDuration.outcome(true), Some(MaxDuration));
        assert_eq!(LocalEnd::MaxDuration.outcome(false), None);
        assert_eq!(LocalEnd::Expired.outcome(false), Some(Expired));
        assert_eq!(LocalEnd::Expired.outcome(true), Some(Expired));
        assert_eq!(CallOutcome::from_unexplained(true), Completed);
        assert_eq!(CallOutcome::from_unexplained(false), Failed);
    }

    #[test]
    fn only_unexplained_outcomes_are_provisional() {
        let provisional: Vec<_> = CallOutcome::ALL
            .into_iter()
            .filter(|o| o.is_provisional())
            .collect();
        assert_eq!(provisional, [Completed, Failed]);
    }

    #[test]
    fn wire_spelling_is_snake_case() {
        for o in CallOutcome::ALL {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
            assert_eq!(serde_json::from_str::<CallOutcome>(&json).unwrap(), o);
        }
        assert_eq!(NoAnswer.as_str(), "no_answer");
        assert_eq!(MaxDuration.to_string(), "max_duration");
    }
}
