//! The API configuration the hostile requests are sent to, and the session and call
//! seeded into it, so that bad requests can name a real session and a live call and
//! be refused for what is wrong with them rather than for an unknown id.

use std::sync::Arc;

use http::Method;
use serde_json::json;
use sipdial_core::api::{Authorizer, SipDialApiBuilder, SipTarget, UriAllowList};
use sipdial_core::fake::{FakeDialer, Operation};
use sipdial_core::testing::{HttpIntegration, TestRequest};
use sipdial_core::{SipAuth, SipDialApi, SipDialer, SipHeaders, SipUri};

/// The mount prefix.
pub const PREFIX: &str = "/sip";
/// The one configured origin allowed to change state.
pub const ALLOWED_ORIGIN: &str = "https://app.example";
/// The SIP host of the targets and of the URI allow-list.
pub const SIP_HOST: &str = "pbx.fixture.example";
/// The default target.
pub const DEFAULT_TARGET: &str = "support";
/// A second target, with host-configured headers.
pub const OTHER_TARGET: &str = "sales";

/// A [`FakeDialer`] and an API over it: two targets (the default one with digest
/// credentials), a URI allow-list for `sip:*@pbx.fixture.example`, one allowed origin,
/// and limits high enough that no bad request is refused for a spent budget.
#[derive(Debug, Clone)]
pub struct HostileFixture {
    /// The dialer; every row asserts what reached it.
    pub dialer: Arc<FakeDialer>,
    /// The API under attack.
    pub api: SipDialApi,
}

impl HostileFixture {
    /// With the default authorizer.
    pub fn new() -> Self {
        Self::configured(|b| b)
    }

    /// With `authorizer`.
    pub fn with_authorizer(authorizer: Arc<dyn Authorizer>) -> Self {
        Self::configured(|b| b.authorizer(authorizer))
    }

    /// With the common configuration changed by `configure`.
    ///
    /// # Panics
    /// When the configuration is refused (a bug of the fixture).
    pub fn configured(configure: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder) -> Self {
        let dialer = Arc::new(FakeDialer::new());
        let uri = |user: &str| SipUri::new(format!("sip:{user}@{SIP_HOST}")).expect("valid URI");
        let mut headers = SipHeaders::new();
        headers.insert("X-Team", "sales").expect("valid header");
        let builder = SipDialApi::builder(dialer.clone() as Arc<dyn SipDialer>)
            .anonymous()
            .prefix(PREFIX)
            .target(
                SipTarget::new(DEFAULT_TARGET, uri("desk"))
                    .label("Support desk")
                    .auth(SipAuth::new("desk", "hostile-fixture-password")),
            )
            .target(
                SipTarget::new(OTHER_TARGET, uri("sales"))
                    .label("Sales")
                    .headers(headers),
            )
            .default_target(DEFAULT_TARGET)
            .allow_uri(UriAllowList::new().allow(format!("sip:*@{SIP_HOST}")))
            .allowed_origins([ALLOWED_ORIGIN])
            .max_active_calls_per_session(50)
            .dials_per_minute(500)
            .max_active_calls_per_client(usize::MAX / 2)
            .client_dials_per_minute(u32::MAX)
            .client_sessions_per_minute(u32::MAX)
            .max_active_calls_total(usize::MAX / 2)
            .dials_per_minute_total(u32::MAX);
        let api = configure(builder).build().expect("fixture configuration");
        Self { dialer, api }
    }

    /// How many dial, hang-up and DTMF requests reached the dialer.
    pub fn call_control_counts(&self) -> [usize; 3] {
        [Operation::Dial, Operation::HangUp, Operation::PlayDtmf].map(|op| self.dialer.count(op))
    }

    /// How many requests of any kind reached the dialer.
    pub fn dialer_requests(&self) -> usize {
        self.dialer.recorded().len()
    }
}

impl Default for HostileFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// A session and a live call in it, created through the form under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The session id.
    pub session: String,
    /// The call id.
    pub call: String,
}

/// `{prefix}{path}`.
pub fn path(p: &str) -> String {
    format!("{PREFIX}{p}")
}

/// Creates the session of `room` and dials the default target into it through `http`,
/// with `headers` (e.g. the identity an authorizer reads) on both requests.
///
/// # Panics
/// When either request fails: the form cannot serve valid requests.
pub async fn seed<I: HttpIntegration>(
    http: &I,
    room: &str,
    headers: &[(&'static str, &str)],
) -> Seed {
    let with = |mut req: TestRequest| {
        for (name, value) in headers {
            req = req.header(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_str(value).expect("header value"),
            );
        }
        req
    };
    let res = http
        .send(with(
            TestRequest::new(Method::POST, path("/session")).json(&json!({ "room": room })),
        ))
        .await;
    assert_eq!(res.status, 200, "seeding a session: {}", res.text());
    let session = res.json().expect("JSON")["sessionId"]
        .as_str()
        .expect("sessionId")
        .to_owned();
    let res = http
        .send(with(
            TestRequest::new(Method::POST, path("/dial")).json(&json!({ "sessionId": session })),
        ))
        .await;
    assert_eq!(res.status, 201, "seeding a call: {}", res.text());
    let call = res.json().expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    Seed { session, call }
}
