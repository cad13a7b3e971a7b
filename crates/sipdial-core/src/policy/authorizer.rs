//! The [`Authorizer`] plugin: the host's say on every user-facing action, with the
//! request head (its cookies, headers and the extensions earlier middleware put there),
//! the action's arguments and the room the action touches.
//!
//! It runs in two steps. [`Authorizer::authenticate`] runs first, before any session
//! or call is looked up, so that a caller without credentials gets 401 whatever id it
//! names and learns nothing about which ids exist. [`Authorizer::authorize`] runs after
//! the request was parsed and validated, so it sees typed values, and before anything
//! reaches the dialer, so a denial costs the platform nothing.
//!
//! The platform's callbacks are not user actions: they are authorized by their
//! signature alone and never reach an authorizer.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{CallId, Role, Room, SessionId};

/// What a request wants to do, with its validated arguments and the room it touches.
///
/// `room` is the room whose session the action addresses, looked up by sipdial (so an
/// authorizer needs no access to the store); `None` when the session was never created
/// through `POST /session` (a session only known from a callback) or does not exist.
/// Match with `..`: fields and variants may be added, and an authorizer should deny
/// what it does not name.
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
        /// The session's room.
        room: Option<Room>,
    },
    /// `POST /dial`: place a SIP call into `session_id`.
    Dial {
        /// The session the SIP leg joins.
        session_id: SessionId,
        /// The configured target whose settings are used, when one applies.
        target: Option<String>,
        /// Whether the caller supplied its own URI (already matched by the allow-list).
        custom_uri: bool,
        /// The session's room.
        room: Option<Room>,
    },
    /// `DELETE /calls/{id}`: hang up a call.
    HangUp {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
        /// The session's room.
        room: Option<Room>,
    },
    /// `POST /calls/{id}/dtmf`: play digits into a call.
    PlayDtmf {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
        /// The session's room.
        room: Option<Room>,
    },
    /// `POST /calls/{id}/mute`: force-mute a call's SIP stream.
    Mute {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
        /// The session's room.
        room: Option<Room>,
    },
    /// `GET /calls?sessionId=`: list a session's calls.
    ListCalls {
        /// The session.
        session_id: SessionId,
        /// Whether ended calls were asked for too.
        include_ended: bool,
        /// The session's room.
        room: Option<Room>,
    },
    /// `GET /calls/{id}`: read one call.
    GetCall {
        /// The call.
        call_id: CallId,
        /// The session the call is in.
        session_id: SessionId,
        /// The session's room.
        room: Option<Room>,
    },
    /// `GET /events?sessionId=`: watch a session's call changes (a read).
    WatchEvents {
        /// The session.
        session_id: SessionId,
        /// The session's room.
        room: Option<Room>,
    },
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
        }
    }

    /// The session the action addresses (none for creating one or listing targets).
    pub fn session(&self) -> Option<&SessionId> {
        match self {
            Action::CreateSession { .. } | Action::ListTargets => None,
            Action::IssueToken { session_id, .. }
            | Action::Dial { session_id, .. }
            | Action::HangUp { session_id, .. }
            | Action::PlayDtmf { session_id, .. }
            | Action::Mute { session_id, .. }
            | Action::ListCalls { session_id, .. }
            | Action::GetCall { session_id, .. }
            | Action::WatchEvents { session_id, .. } => Some(session_id),
        }
    }

    /// The call the action addresses, for the `/calls/{id}` routes.
    pub fn call(&self) -> Option<&CallId> {
        match self {
            Action::HangUp { call_id, .. }
            | Action::PlayDtmf { call_id, .. }
            | Action::Mute { call_id, .. }
            | Action::GetCall { call_id, .. } => Some(call_id),
            _ => None,
        }
    }

    /// The room the action touches: the one asked for by `CreateSession`, else the room
    /// of the addressed session (`None` when it has none or the session is unknown).
    pub fn room(&self) -> Option<&Room> {
        match self {
            Action::CreateSession { room } => Some(room),
            Action::ListTargets => None,
            Action::IssueToken { room, .. }
            | Action::Dial { room, .. }
            | Action::HangUp { room, .. }
            | Action::PlayDtmf { room, .. }
            | Action::Mute { room, .. }
            | Action::ListCalls { room, .. }
            | Action::GetCall { room, .. }
            | Action::WatchEvents { room, .. } => room.as_ref(),
        }
    }
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Go ahead, and mint the token with this role instead of the requested one (only
    /// meaningful for [`Action::IssueToken`]; treated as [`Decision::Allow`] elsewhere).
    AllowWithRole(Role),
    /// Refuse with 403. The reason is shown to the caller: keep it free of secrets.
    /// Prefer [`Decision::NotFound`] for a session or call the caller may not know of:
    /// a 403 confirms that it exists.
    Deny(Cow<'static, str>),
    /// Refuse with 401 `unauthenticated` and `WWW-Authenticate: Bearer`: the request
    /// carries no credentials the host accepts.
    Unauthenticated,
    /// Refuse with the same 404 a session or call that does not exist gets, so a
    /// stranger cannot tell the two apart.
    NotFound,
}

impl Decision {
    /// A denial with `reason`.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Decision::Deny(reason.into())
    }

    /// Whether the request may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow | Decision::AllowWithRole(_))
    }
}

/// The caller is not authenticated: [`Authorizer::authenticate`]'s refusal, answered
/// 401 before any session or call is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthenticated;

/// Decides whether a request may perform its [`Action`].
///
/// `head` is the whole request head, extensions included, so a host can read the user
/// its own session middleware attached (a [`Principal`](crate::api::Principal), or its
/// own type). Implementations must be cheap to share and safe to call concurrently.
/// Compose with [`AuthorizerExt::and`]: `SafeDefaults.and(host_rules)`.
#[async_trait]
pub trait Authorizer: Send + Sync + 'static {
    /// Checks who the request is from, before any id it names is looked up, and may
    /// put what it verified into the extensions (a grant-verifying authorizer puts the
    /// [`Principal`](crate::api::Principal) there, so the limits count per subject).
    /// `Err` answers 401 whatever the request addresses. The default accepts every
    /// request: hosts whose login middleware already ran decide in
    /// [`Authorizer::authorize`].
    async fn authenticate(&self, head: &mut http::request::Parts) -> Result<(), Unauthenticated> {
        let _ = head;
        Ok(())
    }

    /// Allows, allows with a different token role, or refuses (403, 401 or 404).
    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision;

    /// Whether decisions read [`Action::room`]. When `false`, sipdial skips looking the
    /// room up (a store read per request: one more round trip with a shared store) and
    /// the actions carry `room: None`. Default `true`.
    fn reads_rooms(&self) -> bool {
        true
    }
}

#[async_trait]
impl<A: Authorizer + ?Sized> Authorizer for Arc<A> {
    async fn authenticate(&self, head: &mut http::request::Parts) -> Result<(), Unauthenticated> {
        (**self).authenticate(head).await
    }

    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        (**self).authorize(head, action).await
    }

    fn reads_rooms(&self) -> bool {
        (**self).reads_rooms()
    }
}

/// Composition of authorizers.
pub trait AuthorizerExt: Authorizer + Sized {
    /// Both must allow: `self` is asked first and its refusal stands; when both allow
    /// with a role, the token gets the weaker one. Typically
    /// `SafeDefaults.and(host_rules)`: sipdial's rules with the host's on top.
    fn and<B: Authorizer>(self, other: B) -> Both<Self, B> {
        Both(self, other)
    }
}

impl<A: Authorizer> AuthorizerExt for A {}

/// Two authorizers that must both allow; see [`AuthorizerExt::and`].
#[derive(Debug, Clone, Copy)]
pub struct Both<A, B>(A, B);

/// How much a role may do, to keep the weaker of two.
fn power(role: Role) -> u8 {
    match role {
        Role::Subscriber => 0,
        Role::PublisherOnly => 1,
        Role::Publisher => 2,
        Role::Moderator => 3,
    }
}

#[async_trait]
impl<A: Authorizer, B: Authorizer> Authorizer for Both<A, B> {
    async fn authenticate(&self, head: &mut http::request::Parts) -> Result<(), Unauthenticated> {
        self.0.authenticate(head).await?;
        self.1.authenticate(head).await
    }

    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        let first = self.0.authorize(head, action).await;
        if !first.is_allowed() {
            return first;
        }
        let second = self.1.authorize(head, action).await;
        match (first, second) {
            (Decision::AllowWithRole(a), Decision::AllowWithRole(b)) => {
                Decision::AllowWithRole(if power(b) < power(a) { b } else { a })
            }
            (Decision::AllowWithRole(a), Decision::Allow) => Decision::AllowWithRole(a),
            (_, second) => second,
        }
    }

    fn reads_rooms(&self) -> bool {
        self.0.reads_rooms() || self.1.reads_rooms()
    }
}

/// sipdial's own rules, meant to sit under the host's (`SafeDefaults.and(rules)`) and,
/// alone, the authorizer of [`anonymous`](crate::api::SipDialApiBuilder::anonymous)
/// mode: no moderator tokens (a moderator can force-disconnect or mute everyone, SIP
/// legs included); every other action is left to the host.
///
/// Its match names every action, with no catch-all: an action added to sipdial gets a
/// decision here in the same change, never an accidental allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeDefaults;

#[async_trait]
impl Authorizer for SafeDefaults {
    async fn authorize(&self, _head: &http::request::Parts, action: &Action) -> Decision {
        match action {
            Action::IssueToken {
                role: Role::Moderator,
                ..
            } => Decision::deny("moderator tokens are not granted by this server"),
            Action::CreateSession { .. }
            | Action::ListTargets
            | Action::IssueToken { .. }
            | Action::Dial { .. }
            | Action::HangUp { .. }
            | Action::PlayDtmf { .. }
            | Action::Mute { .. }
            | Action::ListCalls { .. }
            | Action::GetCall { .. }
            | Action::WatchEvents { .. } => Decision::Allow,
        }
    }

    fn reads_rooms(&self) -> bool {
        false
    }
}

/// The former name of [`SafeDefaults`].
#[deprecated(note = "renamed SafeDefaults; choose it through `SipDialApiBuilder::anonymous`")]
pub type DefaultAuthorizer = SafeDefaults;

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
            room: None,
        };
        assert!(matches!(
            block_on(SafeDefaults.authorize(&head(), &moderator)),
            Decision::Deny(_)
        ));
        let publisher = Action::IssueToken {
            session_id: sid.clone(),
            role: Role::Publisher,
            room: None,
        };
        assert_eq!(
            block_on(SafeDefaults.authorize(&head(), &publisher)),
            Decision::Allow
        );
        let dial = Action::Dial {
            session_id: sid,
            target: None,
            custom_uri: false,
            room: None,
        };
        assert_eq!(
            block_on(SafeDefaults.authorize(&head(), &dial)),
            Decision::Allow
        );
    }

    struct Fixed(Decision);

    #[async_trait]
    impl Authorizer for Fixed {
        async fn authorize(&self, _: &http::request::Parts, _: &Action) -> Decision {
            self.0.clone()
        }
    }

    #[test]
    fn and_needs_both_and_keeps_the_weaker_role() {
        let action = Action::IssueToken {
            session_id: SessionId::new("1_abc").unwrap(),
            role: Role::Moderator,
            room: Some(Room::new("r").unwrap()),
        };
        assert_eq!(action.session().map(SessionId::as_str), Some("1_abc"));
        assert_eq!(action.room().map(Room::as_str), Some("r"));
        assert_eq!(action.call(), None);
        // The safe defaults' refusal stands whatever the host says.
        let both = SafeDefaults.and(Fixed(Decision::AllowWithRole(Role::Moderator)));
        assert!(matches!(
            block_on(both.authorize(&head(), &action)),
            Decision::Deny(_)
        ));
        let roles = Fixed(Decision::AllowWithRole(Role::Publisher))
            .and(Fixed(Decision::AllowWithRole(Role::Subscriber)));
        assert_eq!(
            block_on(roles.authorize(&head(), &action)),
            Decision::AllowWithRole(Role::Subscriber)
        );
        // The anonymous API skips the room lookup; any rule on top asks for it.
        assert!(!SafeDefaults.reads_rooms());
        assert!(SafeDefaults.and(Fixed(Decision::Allow)).reads_rooms());
        let host_refuses = Fixed(Decision::Allow).and(Fixed(Decision::NotFound));
        assert_eq!(
            block_on(host_refuses.authorize(&head(), &action)),
            Decision::NotFound
        );
    }
}
