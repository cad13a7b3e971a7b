//! Grants, as LiveKit's access tokens carry a `VideoGrant`/`SIPGrant`: the host signs a
//! short-lived JWT saying who the bearer is and what it may do in which rooms
//! ([`Grant`]), and [`GrantAuthorizer`] verifies it on every request
//! (`Authorization: Bearer <jwt>`), so sipdial needs no user database and a leaked
//! token is worth its rooms and actions until it expires.
//!
//! The claims (`aud` is always `sipdial`, so another JWT signed with the same key for
//! some other service is not accepted here):
//!
//! ```json
//! {"sub": "alice", "aud": "sipdial", "iat": 1700000000, "exp": 1700000600,
//!  "sipdial": {"rooms": ["team-a"], "allRooms": false, "createSession": true,
//!              "token": {"roles": ["publisher"]},
//!              "dial": {"targets": ["pstn"], "allTargets": false, "customUri": false},
//!              "control": true, "read": true, "events": true}}
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::policy::authorizer::{Action, Authorizer, Decision, Unauthenticated};
use crate::policy::principal::Principal;
use crate::{Role, Room, Timestamp};

/// The audience every grant names.
const AUDIENCE: &str = "sipdial";

/// Fewest bytes of an HS256 key: the hash's own size (RFC 7518 §3.2).
pub const MIN_HS256_KEY_LEN: usize = 32;

/// Why a grant could not be signed or a verifier built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// An HS256 key shorter than [`MIN_HS256_KEY_LEN`] bytes.
    #[error("an HS256 key must be at least {MIN_HS256_KEY_LEN} bytes")]
    ShortKey,
    /// A PEM key that does not parse as the algorithm's key.
    #[error("the key is not a valid {0} PEM key")]
    Pem(&'static str),
    /// Signing failed.
    #[error("the grant could not be signed")]
    Sign,
}

/// What the bearer may do when it mints client tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenGrant {
    #[serde(default)]
    roles: Vec<Role>,
}

/// What the bearer may dial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DialGrant {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    all_targets: bool,
    #[serde(default)]
    custom_uri: bool,
}

/// The `sipdial` claim: the rooms and the actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SipGrant {
    #[serde(default)]
    rooms: Vec<Room>,
    #[serde(default)]
    all_rooms: bool,
    #[serde(default)]
    create_session: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<TokenGrant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dial: Option<DialGrant>,
    #[serde(default)]
    control: bool,
    #[serde(default)]
    read: bool,
    #[serde(default)]
    events: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    aud: String,
    iat: u64,
    exp: u64,
    sipdial: SipGrant,
}

/// A grant: who, which rooms, which actions. The host builds one per user and signs
/// it (`Grant::new("alice").room(room).dial(["pstn"]).sign_hs256(key, ttl)`); a
/// verified one sits in the request's extensions, next to its [`Principal`], for a
/// host authorizer composed on top of [`GrantAuthorizer`] to read.
///
/// Nothing is granted unless named: a fresh grant covers no room and no action.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Grant {
    subject: String,
    issued_at: Option<u64>,
    sip: SipGrant,
}

impl Grant {
    /// A grant for `subject` (the user, as the limits and logs name it) that allows
    /// nothing yet.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            issued_at: None,
            sip: SipGrant::default(),
        }
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Covers `room` (its session, that session's calls and their events).
    pub fn room(mut self, room: Room) -> Self {
        self.sip.rooms.push(room);
        self
    }

    /// Covers every room, and sessions without a room.
    pub fn all_rooms(mut self) -> Self {
        self.sip.all_rooms = true;
        self
    }

    /// May get or create the session of a covered room (`POST /session`).
    pub fn create_session(mut self) -> Self {
        self.sip.create_session = true;
        self
    }

    /// May mint client tokens with these roles (`POST /token`). A request for another
    /// role answers 403.
    pub fn token_roles(mut self, roles: impl IntoIterator<Item = Role>) -> Self {
        self.sip.token.get_or_insert_default().roles.extend(roles);
        self
    }

    /// May dial the named targets (`POST /dial`), and list the targets.
    pub fn dial<I, S>(mut self, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let dial = self.sip.dial.get_or_insert_default();
        dial.targets.extend(targets.into_iter().map(Into::into));
        self
    }

    /// May dial every configured target.
    pub fn dial_any_target(mut self) -> Self {
        self.sip.dial.get_or_insert_default().all_targets = true;
        self
    }

    /// May dial a URI of its own (still matched by the server's allow-list).
    pub fn custom_uri(mut self) -> Self {
        self.sip.dial.get_or_insert_default().custom_uri = true;
        self
    }

    /// May hang up, mute and send DTMF to calls in covered rooms.
    pub fn control(mut self) -> Self {
        self.sip.control = true;
        self
    }

    /// May list and read calls in covered rooms.
    pub fn read(mut self) -> Self {
        self.sip.read = true;
        self
    }

    /// May subscribe to covered rooms' call events (`GET /events`).
    pub fn events(mut self) -> Self {
        self.sip.events = true;
        self
    }

    /// Counts the lifetime from `unix_secs` instead of now (a host minting ahead, or a
    /// test minting an expired grant).
    pub fn issued_at(mut self, unix_secs: u64) -> Self {
        self.issued_at = Some(unix_secs);
        self
    }

    fn claims(&self, ttl: Duration) -> Claims {
        let iat = self.issued_at.unwrap_or_else(|| Timestamp::now().as_secs());
        Claims {
            sub: self.subject.clone(),
            aud: AUDIENCE.to_owned(),
            iat,
            exp: iat.saturating_add(ttl.as_secs()),
            sipdial: self.sip.clone(),
        }
    }

    fn sign(&self, alg: Algorithm, key: &EncodingKey, ttl: Duration) -> Result<String, GrantError> {
        crate::jwt::ensure_crypto_provider();
        jsonwebtoken::encode(&Header::new(alg), &self.claims(ttl), key)
            .map_err(|_| GrantError::Sign)
    }

    /// Signs the grant with a shared key (at least [`MIN_HS256_KEY_LEN`] bytes), valid
    /// for `ttl`. Keep it short (minutes): a grant cannot be revoked before it expires.
    pub fn sign_hs256(&self, key: &[u8], ttl: Duration) -> Result<String, GrantError> {
        if key.len() < MIN_HS256_KEY_LEN {
            return Err(GrantError::ShortKey);
        }
        self.sign(Algorithm::HS256, &EncodingKey::from_secret(key), ttl)
    }

    /// Signs the grant with an ECDSA P-256 private key (PKCS#8 PEM), valid for `ttl`;
    /// the server holds only the public key ([`GrantAuthorizer::es256_pem`]).
    pub fn sign_es256(&self, private_pem: &[u8], ttl: Duration) -> Result<String, GrantError> {
        let key = EncodingKey::from_ec_pem(private_pem).map_err(|_| GrantError::Pem("ES256"))?;
        self.sign(Algorithm::ES256, &key, ttl)
    }

    /// Signs the grant with an RSA private key (PEM), valid for `ttl`; the server holds
    /// only the public key ([`GrantAuthorizer::rs256_pem`]).
    pub fn sign_rs256(&self, private_pem: &[u8], ttl: Duration) -> Result<String, GrantError> {
        let key = EncodingKey::from_rsa_pem(private_pem).map_err(|_| GrantError::Pem("RS256"))?;
        self.sign(Algorithm::RS256, &key, ttl)
    }

    fn covers(&self, room: Option<&Room>) -> bool {
        self.sip.all_rooms || room.is_some_and(|r| self.sip.rooms.contains(r))
    }

    /// What this grant says about `action`: a session or call outside its rooms is
    /// [`Decision::NotFound`] (never confirming it exists), an action it does not
    /// name a [`Decision::Deny`].
    pub fn decide(&self, action: &Action) -> Decision {
        let dial = self.sip.dial.as_ref();
        match action {
            Action::CreateSession { room } => {
                if !self.sip.create_session {
                    Decision::deny("the grant does not allow creating sessions")
                } else if !self.covers(Some(room)) {
                    Decision::deny("the grant does not cover this room")
                } else {
                    Decision::Allow
                }
            }
            Action::ListTargets => match dial {
                Some(_) => Decision::Allow,
                None => Decision::deny("the grant does not allow dialing"),
            },
            _ if !self.covers(action.room()) => Decision::NotFound,
            Action::IssueToken { role, .. } => match &self.sip.token {
                Some(t) if t.roles.contains(role) => Decision::Allow,
                Some(_) => Decision::deny("the grant does not allow this role"),
                None => Decision::deny("the grant does not allow minting tokens"),
            },
            Action::Dial {
                target, custom_uri, ..
            } => match dial {
                None => Decision::deny("the grant does not allow dialing"),
                Some(d) if *custom_uri && !d.custom_uri => {
                    Decision::deny("the grant does not allow custom URIs")
                }
                Some(d)
                    if !*custom_uri
                        && !d.all_targets
                        && !target.as_ref().is_some_and(|t| d.targets.contains(t)) =>
                {
                    Decision::deny("the grant does not allow this target")
                }
                Some(_) => Decision::Allow,
            },
            Action::HangUp { .. } | Action::PlayDtmf { .. } | Action::Mute { .. } => {
                if self.sip.control {
                    Decision::Allow
                } else {
                    Decision::deny("the grant does not allow controlling calls")
                }
            }
            Action::ListCalls { .. } | Action::GetCall { .. } => {
                if self.sip.read {
                    Decision::Allow
                } else {
                    Decision::deny("the grant does not allow reading calls")
                }
            }
            Action::WatchEvents { .. } => {
                if self.sip.events {
                    Decision::Allow
                } else {
                    Decision::deny("the grant does not allow subscribing to events")
                }
            }
        }
    }
}

/// The ready-made authorizer for hosts without a login of their own in front of
/// sipdial: verifies `Authorization: Bearer <grant>` (expired, garbled, unsigned or
/// signed with another key: 401 `unauthenticated`, the caller not told which), puts
/// the grant's subject in the request as its [`Principal`] (the per-client limits
/// count it) and the [`Grant`] beside it, and decides by [`Grant::decide`].
///
/// Compose host rules on top with [`AuthorizerExt::and`](crate::api::AuthorizerExt::and);
/// put it on top of [`SafeDefaults`](crate::api::SafeDefaults) to refuse moderator
/// tokens whatever a grant says.
#[derive(Clone)]
pub struct GrantAuthorizer {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for GrantAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantAuthorizer")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl GrantAuthorizer {
    fn with(key: DecodingKey, alg: Algorithm) -> Self {
        crate::jwt::ensure_crypto_provider();
        let mut validation = Validation::new(alg);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        // The host's clock and ours are usually one clock; a minute of grace would
        // make every grant live a minute longer than the host chose.
        validation.leeway = 0;
        Self {
            key: Arc::new(key),
            validation: Arc::new(validation),
        }
    }

    /// Verifies HS256 grants signed with `key` (at least [`MIN_HS256_KEY_LEN`] bytes).
    pub fn hs256(key: &[u8]) -> Result<Self, GrantError> {
        if key.len() < MIN_HS256_KEY_LEN {
            return Err(GrantError::ShortKey);
        }
        Ok(Self::with(DecodingKey::from_secret(key), Algorithm::HS256))
    }

    /// Verifies ES256 grants against an ECDSA P-256 public key (PEM).
    pub fn es256_pem(public_pem: &[u8]) -> Result<Self, GrantError> {
        let key = DecodingKey::from_ec_pem(public_pem).map_err(|_| GrantError::Pem("ES256"))?;
        Ok(Self::with(key, Algorithm::ES256))
    }

    /// Verifies RS256 grants against an RSA public key (PEM).
    pub fn rs256_pem(public_pem: &[u8]) -> Result<Self, GrantError> {
        let key = DecodingKey::from_rsa_pem(public_pem).map_err(|_| GrantError::Pem("RS256"))?;
        Ok(Self::with(key, Algorithm::RS256))
    }

    /// The verified grant of `head`'s bearer token, if it carries a valid one.
    fn verify(&self, head: &http::request::Parts) -> Option<Grant> {
        let value = head
            .headers
            .get(http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let data =
            jsonwebtoken::decode::<Claims>(token.trim(), &self.key, &self.validation).ok()?;
        Some(Grant {
            subject: data.claims.sub,
            issued_at: Some(data.claims.iat),
            sip: data.claims.sipdial,
        })
    }
}

#[async_trait]
impl Authorizer for GrantAuthorizer {
    async fn authenticate(&self, head: &mut http::request::Parts) -> Result<(), Unauthenticated> {
        let grant = self.verify(head).ok_or(Unauthenticated)?;
        let principal = Principal::new(grant.subject()).map_err(|_| Unauthenticated)?;
        head.extensions.insert(principal);
        head.extensions.insert(grant);
        Ok(())
    }

    async fn authorize(&self, head: &http::request::Parts, action: &Action) -> Decision {
        match head.extensions.get::<Grant>() {
            Some(grant) => grant.decide(action),
            None => Decision::Unauthenticated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CallId, SessionId};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn head(auth: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder();
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn now<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("never waits")
    }

    fn room(r: &str) -> Room {
        Room::new(r).unwrap()
    }

    #[test]
    fn a_signed_grant_authenticates_and_names_the_principal() {
        let auth = GrantAuthorizer::hs256(KEY).unwrap();
        let jwt = Grant::new("alice")
            .room(room("team-a"))
            .read()
            .sign_hs256(KEY, Duration::from_secs(60))
            .unwrap();
        let mut h = head(Some(&format!("Bearer {jwt}")));
        now(auth.authenticate(&mut h)).unwrap();
        assert_eq!(h.extensions.get::<Principal>().unwrap().subject(), "alice");
        let get = |r: &str| Action::GetCall {
            call_id: CallId::new("c1").unwrap(),
            session_id: SessionId::new("1_s").unwrap(),
            room: Some(room(r)),
        };
        assert_eq!(now(auth.authorize(&h, &get("team-a"))), Decision::Allow);
        assert_eq!(now(auth.authorize(&h, &get("team-b"))), Decision::NotFound);
        let hang_up = Action::HangUp {
            call_id: CallId::new("c1").unwrap(),
            session_id: SessionId::new("1_s").unwrap(),
            room: Some(room("team-a")),
        };
        assert!(matches!(
            now(auth.authorize(&h, &hang_up)),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn bad_tokens_are_unauthenticated() {
        let auth = GrantAuthorizer::hs256(KEY).unwrap();
        let other = b"another key, also 32 bytes long!";
        let wrong_key = Grant::new("a")
            .all_rooms()
            .sign_hs256(other, Duration::from_secs(60))
            .unwrap();
        let expired = Grant::new("a")
            .all_rooms()
            .issued_at(Timestamp::now().as_secs() - 120)
            .sign_hs256(KEY, Duration::from_secs(60))
            .unwrap();
        for value in [
            None,
            Some("Bearer".to_owned()),
            Some("Bearer garbage".to_owned()),
            Some(format!("Bearer {wrong_key}")),
            Some(format!("Bearer {expired}")),
            Some(format!(
                "Basic {}",
                Grant::new("a")
                    .sign_hs256(KEY, Duration::from_secs(60))
                    .unwrap()
            )),
        ] {
            let mut h = head(value.as_deref());
            assert_eq!(
                now(auth.authenticate(&mut h)),
                Err(Unauthenticated),
                "{value:?}"
            );
            assert!(h.extensions.get::<Principal>().is_none());
        }
        assert_eq!(
            GrantAuthorizer::hs256(b"short").unwrap_err(),
            GrantError::ShortKey
        );
        assert_eq!(
            Grant::new("a").sign_hs256(b"short", Duration::from_secs(1)),
            Err(GrantError::ShortKey)
        );
    }

    #[test]
    fn dial_and_token_rules() {
        let g = Grant::new("bob")
            .room(room("r"))
            .dial(["pstn"])
            .token_roles([Role::Subscriber]);
        let dial = |target: Option<&str>, custom_uri: bool| Action::Dial {
            session_id: SessionId::new("1_s").unwrap(),
            target: target.map(str::to_owned),
            custom_uri,
            room: Some(room("r")),
        };
        assert_eq!(g.decide(&dial(Some("pstn"), false)), Decision::Allow);
        assert!(matches!(
            g.decide(&dial(Some("office"), false)),
            Decision::Deny(_)
        ));
        assert!(matches!(g.decide(&dial(None, true)), Decision::Deny(_)));
        assert_eq!(
            g.clone().custom_uri().decide(&dial(None, true)),
            Decision::Allow
        );
        let token = |role| Action::IssueToken {
            session_id: SessionId::new("1_s").unwrap(),
            role,
            room: Some(room("r")),
        };
        assert_eq!(g.decide(&token(Role::Subscriber)), Decision::Allow);
        assert!(matches!(
            g.decide(&token(Role::Publisher)),
            Decision::Deny(_)
        ));
        // A session without a room is covered by all-rooms grants only.
        let roomless = Action::WatchEvents {
            session_id: SessionId::new("1_s").unwrap(),
            room: None,
        };
        assert_eq!(g.decide(&roomless), Decision::NotFound);
        assert_eq!(
            Grant::new("x").all_rooms().events().decide(&roomless),
            Decision::Allow
        );
        assert!(matches!(
            g.decide(&Action::CreateSession { room: room("r") }),
            Decision::Deny(_)
        ));
    }

    /// A throwaway P-256 key pair made for this test only.
    const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgheD52TvH5PvUfoGI\nKf3EEsm0PYw70BS3Hf5qcDRmSLGhRANCAASzF4JNF3AMPjQiccOgMKDbSELEG3gm\nwccADHeugyUF03PGGeNZdpg6huMuXv/fc9NAlhCXuJra8rgAaZ7Q/5qZ\n-----END PRIVATE KEY-----";
    const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsxeCTRdwDD40InHDoDCg20hCxBt4\nJsHHAAx3roMlBdNzxhnjWXaYOobjLl7/33PTQJYQl7ia2vK4AGme0P+amQ==\n-----END PUBLIC KEY-----";

    #[test]
    fn es256_grants_verify_against_the_public_key_only() {
        let auth = GrantAuthorizer::es256_pem(EC_PUBLIC.as_bytes()).unwrap();
        let jwt = Grant::new("carol")
            .all_rooms()
            .read()
            .sign_es256(EC_PRIVATE.as_bytes(), Duration::from_secs(60))
            .unwrap();
        let mut h = head(Some(&format!("Bearer {jwt}")));
        now(auth.authenticate(&mut h)).unwrap();
        assert_eq!(h.extensions.get::<Grant>().unwrap().subject(), "carol");
        // An HS256 token (alg confusion: the public key used as an HMAC secret) is refused.
        let forged = Grant::new("mallory")
            .all_rooms()
            .sign_hs256(EC_PUBLIC.as_bytes(), Duration::from_secs(60))
            .unwrap();
        let mut h = head(Some(&format!("Bearer {forged}")));
        assert_eq!(now(auth.authenticate(&mut h)), Err(Unauthenticated));
        assert!(GrantAuthorizer::es256_pem(b"not a key").is_err());
        assert!(GrantAuthorizer::rs256_pem(EC_PUBLIC.as_bytes()).is_err());
    }
}
