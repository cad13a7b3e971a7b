//! An in-memory [`SipDialer`] that behaves like the platform without a network: for the
//! HTTP API's tests, the adapters' conformance suite and the demos' offline mode.
//!
//! It mints session ids in the platform's format and real HS256 client tokens (through
//! the same [`crate::session_format`] and [`crate::jwt`] code as the real dialer), so
//! whatever inspects them sees what production would produce. It answers with the
//! platform's errors (unknown session → not found, relayed session → conflict, a
//! connection hung up twice → not found), records every request, and lets a test
//! script failures and delays per operation.

mod progression;
mod script;
mod state;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::jwt::{ClientTokenClaims, ensure_crypto_provider};
use crate::session_format::{self, SessionIdParts};
use crate::{
    ArchiveMode, CallId, ClientToken, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget,
    PlatformInfo, SessionId, SessionOptions, SipCall, SipDialer, StreamId, StreamInfo, Timestamp,
    TokenOptions,
};

pub use progression::CallProgression;
pub use script::{Operation, Recorded, Script};
use state::State;

/// The API key of [`FakeDialer::new`], the same as the fake platform's test project.
const DEFAULT_API_KEY: &str = "123456";
/// The secret of [`FakeDialer::new`]: a published test value, never a real one.
const DEFAULT_API_SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

/// The in-memory dialer. Share it as `Arc<FakeDialer>`: the test keeps one handle to
/// script and inspect, the code under test gets the other as `Arc<dyn SipDialer>`.
pub struct FakeDialer {
    api_key: String,
    api_secret: SecretString,
    state: Arc<Mutex<State>>,
    sinks: Arc<progression::Sinks>,
    progression: Option<CallProgression>,
}

/// Configures a [`FakeDialer`] for another project key or secret, or a call
/// progression.
pub struct FakeDialerBuilder {
    api_key: String,
    api_secret: SecretString,
    progression: Option<CallProgression>,
}

impl FakeDialerBuilder {
    /// The project key session ids and tokens are issued for.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = api_key.into();
        self
    }

    /// The secret client tokens are signed with.
    pub fn api_secret(mut self, api_secret: impl Into<String>) -> Self {
        self.api_secret = SecretString::from(api_secret.into());
        self
    }

    /// After each dial, report ringing, answered (and optionally a far-end hang-up)
    /// on this schedule to the attached HTTP API, as the platform's callbacks would.
    /// Without it (the default) calls stay `dialing` until hung up.
    pub fn progression(mut self, progression: CallProgression) -> Self {
        self.progression = Some(progression);
        self
    }

    /// The dialer, with no sessions, calls or scripts.
    pub fn build(self) -> FakeDialer {
        FakeDialer {
            api_key: self.api_key,
            api_secret: self.api_secret,
            state: Arc::new(Mutex::new(State::default())),
            sinks: Arc::new(progression::Sinks::default()),
            progression: self.progression,
        }
    }
}

impl std::fmt::Debug for FakeDialerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDialerBuilder")
            .field("api_key", &self.api_key)
            .field("api_secret", &"[REDACTED]")
            .field("progression", &self.progression)
            .finish()
    }
}

impl Default for FakeDialer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FakeDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("FakeDialer")
            .field("api_key", &self.api_key)
            .field("api_secret", &"[REDACTED]")
            .field("sessions", &state.session_count())
            .field("active_calls", &state.calls().len())
            .field("recorded", &state.recorded.len())
            .finish()
    }
}

impl FakeDialer {
    /// A dialer for the test project `123456` with a fixed demo secret.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts configuring a dialer; unset values are those of [`FakeDialer::new`].
    pub fn builder() -> FakeDialerBuilder {
        FakeDialerBuilder {
            api_key: DEFAULT_API_KEY.to_owned(),
            api_secret: SecretString::from(DEFAULT_API_SECRET.to_owned()),
            progression: None,
        }
    }

    /// Applies `script` to the next call of `op` only. Several one-shot scripts for the
    /// same operation apply in the order given, before any standing script.
    pub fn script_once(&self, op: Operation, script: Script) {
        self.lock().scripts.push_once(op, script);
    }

    /// Applies `script` to every call of `op` until [`FakeDialer::clear_scripts`],
    /// replacing an earlier standing script for `op`.
    pub fn script_always(&self, op: Operation, script: Script) {
        self.lock().scripts.set_always(op, script);
    }

    /// Drops every pending script.
    pub fn clear_scripts(&self) {
        self.lock().scripts.clear();
    }

    /// Every request so far, oldest first, including those a script failed.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.lock().recorded.clone()
    }

    /// How many requests for `op` were made so far.
    pub fn count(&self, op: Operation) -> usize {
        self.lock().recorded.iter().filter(|r| r.op == op).count()
    }

    /// The platform loses a leg and every callback about it: the call leaves the
    /// session (List Connections no longer has it) and no event is sent, as when the
    /// far end hung up while the callback URL was down. What reconciliation is for.
    /// False when there was no such leg. Not recorded: it is test setup.
    pub fn drop_leg(&self, session: &SessionId, connection: &ConnectionId) -> bool {
        self.lock().remove_call(session, connection).is_ok()
    }

    /// Creates a relayed (peer-to-peer) session, which the platform refuses to dial
    /// into: [`SipDialer::dial`] answers [`DialError::Conflict`]. Not recorded, as it
    /// is test setup rather than a request.
    pub fn create_relayed_session(&self) -> SessionId {
        let id = self
            .mint_session_id(None)
            .unwrap_or_else(|_| self.fallback_session_id());
        self.lock().add_session(id.clone(), false);
        id
    }

    /// The calls that are up, oldest first.
    pub fn active_calls(&self) -> Vec<SipCall> {
        self.lock().calls()
    }

    /// Whether `stream` (a SIP leg) was force-muted.
    pub fn is_muted(&self, stream: &StreamId) -> bool {
        self.lock().is_muted(stream)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// Records the request and takes the script that applies to it.
    fn begin(
        &self,
        op: Operation,
        session_id: Option<&SessionId>,
        detail: String,
    ) -> Option<Script> {
        let mut state = self.lock();
        state.recorded.push(Recorded {
            op,
            session_id: session_id.cloned(),
            detail,
        });
        state.scripts.next(op)
    }

    /// Records the request, then runs its script (if any) without holding the lock.
    async fn enter(
        &self,
        op: Operation,
        session_id: Option<&SessionId>,
        detail: String,
    ) -> Result<(), DialError> {
        match self.begin(op, session_id, detail) {
            None => Ok(()),
            Some(Script::Fail(e)) => Err(e),
            Some(Script::Delay(d)) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }

    /// A session id in the platform format for this dialer's key.
    fn mint_session_id(
        &self,
        location: Option<std::net::Ipv4Addr>,
    ) -> Result<SessionId, DialError> {
        let parts = SessionIdParts {
            api_key: self.api_key.clone(),
            location: location.map(|l| l.to_string()).unwrap_or_default(),
            create_time: Timestamp::now().as_millis().to_string(),
            random: rand::random::<f64>().to_string(),
        };
        session_format::encode(&parts).map_err(|e| DialError::Config {
            message: format!("the fake's API key cannot form a session id: {e}"),
        })
    }

    /// For keys that cannot be encoded (a `~`, or too long): still a unique, valid id.
    fn fallback_session_id(&self) -> SessionId {
        SessionId::new(format!("fake-{}", uuid::Uuid::new_v4()))
            .expect("a uuid is a valid session id")
    }

    /// Checks the dial's token like the platform does at connect time: signed with
    /// this project's secret, issued by its key, not expired, and for this session.
    fn verify_token(&self, token: &ClientToken, session: &SessionId) -> Result<(), DialError> {
        ensure_crypto_provider();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[&self.api_key]);
        let key =
            jsonwebtoken::DecodingKey::from_secret(self.api_secret.expose_secret().as_bytes());
        let data =
            jsonwebtoken::decode::<ClientTokenClaims>(token.expose_secret(), &key, &validation)
                .map_err(|e| {
                    DialError::invalid(
                        "token",
                        format!("not a valid client token for this project ({:?})", e.kind()),
                    )
                })?;
        if data.claims.session_id != session.as_str() {
            return Err(DialError::invalid(
                "token",
                "the token was issued for another session",
            ));
        }
        Ok(())
    }

    fn new_call(session_id: SessionId) -> Result<SipCall, DialError> {
        let uuid = || uuid::Uuid::new_v4().to_string();
        Ok(SipCall {
            id: CallId::new(uuid())?,
            connection_id: ConnectionId::new(uuid())?,
            stream_id: StreamId::new(uuid())?,
            session_id,
            created_at: Timestamp::now(),
        })
    }
}

fn unix_now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl SipDialer for FakeDialer {
    fn platform(&self) -> PlatformInfo {
        PlatformInfo {
            api_key: self.api_key.clone(),
        }
    }

    async fn create_session(&self, options: SessionOptions) -> Result<SessionId, DialError> {
        let detail = format!(
            "location={} archive_mode={} e2ee={}",
            options
                .location
                .map_or_else(|| "-".to_owned(), |l| l.to_string()),
            match options.archive_mode {
                ArchiveMode::Manual => "manual",
                ArchiveMode::Always => "always",
            },
            options.e2ee
        );
        self.enter(Operation::CreateSession, None, detail).await?;
        let id = self.mint_session_id(options.location)?;
        self.lock().add_session(id.clone(), true);
        Ok(id)
    }

    fn issue_token(
        &self,
        session: &SessionId,
        options: TokenOptions,
    ) -> Result<ClientToken, DialError> {
        let detail = format!(
            "role={} data={:?} expiry={:?} layout={:?}",
            options.role,
            options.data.as_ref().map(|d| d.as_str()),
            options.expiry.map(|e| e.unix_secs()),
            options.layout_classes.joined()
        );
        match self.begin(Operation::IssueToken, Some(session), detail) {
            None => {}
            Some(Script::Fail(e)) => return Err(e),
            Some(Script::Delay(d)) => std::thread::sleep(d),
        }
        // Like the SDKs: a session id that names another key cannot get a token here.
        if let Some(parts) = session_format::decode(session)
            && parts.api_key != self.api_key
        {
            return Err(DialError::invalid(
                "session_id",
                "the session belongs to another API key",
            ));
        }
        let claims = ClientTokenClaims::new(
            &self.api_key,
            session,
            &options,
            unix_now_secs(),
            rand::random::<f64>(),
        );
        claims.sign_hs256(self.api_secret.expose_secret().as_bytes())
    }

    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError> {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let detail = format!(
            "uri={} from={} headers={:?} auth_user={} secure={} video={} observe_force_mute={} streams={:?}",
            request.uri,
            request.from.as_ref().map_or("-", |f| f.as_str()),
            headers,
            request.auth.as_ref().map_or("-", |a| a.username.as_str()),
            request.secure,
            request.video,
            request.observe_force_mute,
            request
                .streams
                .iter()
                .map(StreamId::as_str)
                .collect::<Vec<_>>(),
        );
        self.enter(Operation::Dial, Some(&request.session_id), detail)
            .await?;
        self.lock().require_routed(&request.session_id)?;
        self.verify_token(&request.token, &request.session_id)?;
        let call = Self::new_call(request.session_id)?;
        // Sessions are never removed, so the routed check above still holds.
        self.lock().add_call(call.clone());
        if !self.sinks.is_empty() {
            progression::created(&self.sinks, &call);
            if let Some(p) = &self.progression {
                progression::spawn(
                    p.clone(),
                    call.clone(),
                    Arc::clone(&self.state),
                    Arc::clone(&self.sinks),
                );
            }
        }
        Ok(call)
    }

    async fn hang_up(
        &self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<(), DialError> {
        self.enter(
            Operation::HangUp,
            Some(session),
            format!("connection={connection}"),
        )
        .await?;
        let call = self.lock().remove_call(session, connection)?;
        // As the platform: the forced disconnect ends the SIP dialog normally.
        progression::destroyed(&self.sinks, &call, 700, "Normal Clearing", true);
        Ok(())
    }

    async fn play_dtmf(&self, target: &DtmfTarget, digits: &Dtmf) -> Result<(), DialError> {
        let detail = match target {
            DtmfTarget::Session(_) => format!("target=session digits={digits}"),
            DtmfTarget::Connection(_, c) => format!("connection={c} digits={digits}"),
        };
        self.enter(Operation::PlayDtmf, Some(target.session_id()), detail)
            .await?;
        let state = self.lock();
        match target {
            DtmfTarget::Session(s) => state.require_known(s),
            DtmfTarget::Connection(s, c) => state.require_connection(s, c),
        }
    }

    async fn force_mute(&self, session: &SessionId, stream: &StreamId) -> Result<(), DialError> {
        self.enter(
            Operation::ForceMute,
            Some(session),
            format!("stream={stream}"),
        )
        .await?;
        self.lock().mute_stream(session, stream)
    }

    async fn list_streams(&self, session: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        self.enter(Operation::ListStreams, Some(session), String::new())
            .await?;
        self.lock().streams(session)
    }

    fn lists_connections(&self) -> bool {
        true
    }

    async fn list_connections(
        &self,
        session: &SessionId,
    ) -> Result<Vec<crate::ConnectionInfo>, DialError> {
        self.enter(Operation::ListConnections, Some(session), String::new())
            .await?;
        self.lock().connections(session)
    }

    fn attach_events(&self, sink: crate::EventSink) {
        self.sinks.attach(sink);
    }
}
