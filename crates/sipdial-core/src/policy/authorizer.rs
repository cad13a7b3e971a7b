//! The [`Authorizer`] plugin: the host's say on every action, with the request head (its
//! cookies, headers and the extensions earlier middleware put there) and the action's
//! arguments.
//!
//! It runs after the request was parsed and validated, so it sees typed values, and
//! before anything reaches the dialer, so a denial costs the platform nothing.

use std::borrow::Cow;

use async_trait::async_trait;

use crate::{CallId, Role, Room, SessionId};

/// What a request wants to do, with its validated arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `POST /session`: get or create the session of `room`.
    CreateSession {
        /// The room.
        room: Room,
    },
    /// `GET /targets`: list the configured SIP targets.
    ListTargets,
    /// `POST /token`: a client token for `session_id` with the requested `role`.
    IssueToken {
        /// The session the token is for.
        session_id: SessionId,
        /// The role the caller asked for (publisher when it asked for none).
        role: Role,
    },
    /// `POST /dial`: place a SIP call into `session_id`.
    Dial {
        /// The session the SIP leg joins.
        session_id: SessionId,
        /// The configured target whose settings are used, when one applies.
        target: Option<String>,
        /// Whether the caller supplied its own URI (already matched by the allow-list).
        custom_uri: bool,
    },
    /// `DELETE /calls/{id}`: hang up a call.
    HangUp {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
    },
    /// `POST /calls/{id}/dtmf`: play digits into a call.
    PlayDtmf {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
    },
    /// `POST /calls/{id}/mute`: force-mute a call's SIP stream. The default
    /// authorizer treats it like [`Action::HangUp`]: whoever may end a call may mute it.
    Mute {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
    },
    /// `GET /calls?sessionId=`: list a session's calls.
    ListCalls {
        /// The session.
        session_id: SessionId,
        /// Whether ended calls were asked for too.
        include_ended: bool,
    },
    /// `GET /calls/{id}`: read one call.
    GetCall {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
    },
    /// `GET /events?sessionId=`: watch a session's call changes (a read).
    WatchEvents {
        /// The session.
        session_id: SessionId,
    },
    /// `POST /callbacks`: a platform callback (after its signature, when one is
    /// configured, was verified). Hosts can restrict it further, e.g. by source
    /// address.
    ReceiveCallback,
}

impl Action {
    /// A short name for logs (`dial`, `issue_token`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateSession { .. } => "create_session",
            Action::ListTargets => "list_targets",
            Action::IssueToken { .. } => "issue_token",
            Action::Dial { .. } => "dial",
            Action::HangUp { .. } => "hang_up",
            Action::PlayDtmf { .. } => "play_dtmf",
            Action::Mute { .. } => "mute",
            Action::ListCalls { .. } => "list_calls",
            Action::GetCall { .. } => "get_call",
            Action::WatchEvents { .. } => "watch_events",
            Action::ReceiveCallback => "receive_callback",
        }
    }
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Go ahead, and mint the token with this role instead of the requested one (only
    /// meaningful for [`Action::IssueToken`]; treated as [`Decision::Allow`] elsewhere).
    AllowWithRole(Role),
    /// Refuse with 403. The reason is shown to the caller: keep it free of secrets.
    Deny(Cow<'static, str>),
}

impl Decision {
    /// A denial with `reason`.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Decision::Deny(reason.into())
    }
}

/// Decides whether a request may perform its [`Action`].
///
/// `head` is the whole request head, extensions included, so a host can read the user
/// its own session middleware attached. Implementations must be cheap to share and
/// safe to call concurrently.
#[async_trait]
pub trait Authorizer: Send + Sync + 'static {
    /// Allows, allows with a different token role, or denies.
    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision;
}

/// The default policy: everything is allowed except moderator tokens, which could
/// force-disconnect or mute everyone, SIP legs included.
///
/// Hosts that serve the API to the open internet should plug in their own
/// [`Authorizer`]: anyone who can reach the routes can otherwise dial the configured
/// targets (within the per-session limits).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultAuthorizer;

#[async_trait]
impl Authorizer for DefaultAuthorizer {
    async fn authorize(&self, _head: &http::request::Parts, action: &Action) -> Decision {
        match action {
            Action::IssueToken {
                role: Role::Moderator,
                ..
            } => Decision::deny("moderator tokens are not granted by this server"),
            _ => Decision::Allow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> http::request::Parts {
        http::Request::new(()).into_parts().0
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("the default authorizer never waits")
    }

    #[test]
    fn default_denies_moderator_and_allows_the_rest() {
        let sid = SessionId::new("1_abc").unwrap();
        let moderator = Action::IssueToken {
            session_id: sid.clone(),
            role: Role::Moderator,
        };
        assert!(matches!(
            block_on(DefaultAuthorizer.authorize(&head(), &moderator)),
            Decision::Deny(_)
        ));
        let publisher = Action::IssueToken {
            session_id: sid.clone(),
            role: Role::Publisher,
        };
        assert_eq!(
            block_on(DefaultAuthorizer.authorize(&head(), &publisher)),
            Decision::Allow
        );
        let dial = Action::Dial {
            session_id: sid,
            target: None,
            custom_uri: false,
        };
        assert_eq!(
            block_on(DefaultAuthorizer.authorize(&head(), &dial)),
            Decision::Allow
        );
    }
}
