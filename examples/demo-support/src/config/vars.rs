//! Names of the variables the demos read, in one place for the code, the tests and the
//! docs.

/// Address to listen on (default `127.0.0.1`).
pub const HOST: &str = "HOST";
/// Port to listen on (default 3000; 0 picks a free one).
pub const PORT: &str = "PORT";
/// REST endpoint of the video platform (default: the platform's own).
pub const OPENTOK_API_URL: &str = "OPENTOK_API_URL";
/// Where the page loads OpenTok.js from (default: the official CDN).
pub const OPENTOK_JS_URL: &str = "OPENTOK_JS_URL";
/// SIP URI of the default target.
pub const SIP_URI: &str = "SIP_URI";
/// Label of the default target shown on the page.
pub const SIP_LABEL: &str = "SIP_LABEL";
/// `from` of the default target's INVITE.
pub const SIP_FROM: &str = "SIP_FROM";
/// Digest user name of the default target.
pub const SIP_USERNAME: &str = "SIP_USERNAME";
/// Digest password of the default target.
pub const SIP_PASSWORD: &str = "SIP_PASSWORD";
/// Custom INVITE headers of the default target, as a JSON object of strings.
pub const SIP_HEADERS: &str = "SIP_HEADERS";
/// Whether the default target's media is encrypted (`true`/`false`).
pub const SIP_SECURE: &str = "SIP_SECURE";
/// Whether the default target's call carries video (`true`/`false`).
pub const SIP_VIDEO: &str = "SIP_VIDEO";
/// Seconds the default target's calls may ring before sipdial hangs up (`no_answer`).
pub const SIP_RING_TIMEOUT_SECS: &str = "SIP_RING_TIMEOUT_SECS";
/// Seconds the default target's calls may last once answered (`max_duration`).
pub const SIP_MAX_DURATION_SECS: &str = "SIP_MAX_DURATION_SECS";
/// DTMF digits sent once the default target's call is answered (e.g. a conference PIN).
pub const SIP_DTMF_AFTER_ANSWER: &str = "SIP_DTMF_AFTER_ANSWER";
/// Extra named targets, as a JSON object of objects.
pub const SIP_TARGETS: &str = "SIP_TARGETS";
/// Name of the target used when a request names none.
pub const SIP_DEFAULT_TARGET: &str = "SIP_DEFAULT_TARGET";
/// Most active calls per session (the API's default is 3).
pub const MAX_ACTIVE_CALLS: &str = "SIPDIAL_MAX_ACTIVE_CALLS";
/// Most dials per session and minute (the API's default is 6).
pub const DIALS_PER_MINUTE: &str = "SIPDIAL_DIALS_PER_MINUTE";
/// Seconds a connection may take to send a request head, from when it opened or from its
/// last response (default 10): the header-read and idle timeout of both demos.
pub const HEADER_TIMEOUT_SECS: &str = "SIPDIAL_HEADER_TIMEOUT_SECS";
/// Seconds between reconcile checks of a live call against the platform's List
/// Connections, and since its last change before the first (unset: off). A call whose
/// end callback was lost ends within this plus one timer poll of its leg ending.
pub const RECONCILE_SECS: &str = "SIPDIAL_RECONCILE_SECS";
/// Most connections served at once (default 4096); more wait in the listen backlog.
pub const MAX_CONNECTIONS: &str = "SIPDIAL_MAX_CONNECTIONS";
/// Most calls active at once in total, over every room and client (the API's
/// default is 20).
pub const MAX_ACTIVE_CALLS_TOTAL: &str = "SIPDIAL_MAX_ACTIVE_CALLS_TOTAL";
/// Most dials per minute in total (the API's default is 60).
pub const DIALS_PER_MINUTE_TOTAL: &str = "SIPDIAL_DIALS_PER_MINUTE_TOTAL";
/// Most dials per minute of one client, over every room (the API's default is 10).
pub const CLIENT_DIALS_PER_MINUTE: &str = "SIPDIAL_CLIENT_DIALS_PER_MINUTE";
/// Most calls one client has active at once, over every room (the API's default is 5).
pub const CLIENT_MAX_ACTIVE_CALLS: &str = "SIPDIAL_CLIENT_MAX_ACTIVE_CALLS";
/// Most new rooms one client may create a minute (the API's default is 10).
pub const CLIENT_SESSIONS_PER_MINUTE: &str = "SIPDIAL_CLIENT_SESSIONS_PER_MINUTE";
/// Comma-separated proxies (IP addresses or CIDR networks) whose `X-Forwarded-For` is
/// believed when counting a client by its address (default: none).
pub const TRUSTED_PROXIES: &str = "SIPDIAL_TRUSTED_PROXIES";
/// Comma-separated origins allowed to call state-changing routes (default: the
/// request's own host).
pub const ALLOWED_ORIGINS: &str = "SIPDIAL_ALLOWED_ORIGINS";
/// The signature secret of the platform's signed callbacks: when set,
/// `POST /sip/callbacks` accepts only deliveries whose JWT verifies with it.
pub const CALLBACK_SECRET: &str = "SIPDIAL_CALLBACK_SECRET";
/// Where every call change is POSTed, signed (docs/call-lifecycle.md, "Status
/// webhooks"); needs [`STATUS_WEBHOOK_SECRET`].
pub const STATUS_WEBHOOK_URL: &str = "SIPDIAL_STATUS_WEBHOOK_URL";
/// The secret the status webhooks are signed with (at least 16 characters).
pub const STATUS_WEBHOOK_SECRET: &str = "SIPDIAL_STATUS_WEBHOOK_SECRET";
/// Where the app mounts the page and the API (`/app`: page at `/app/`, API at
/// `/app/sip/…`); empty by default.
pub const MOUNT: &str = "SIPDIAL_MOUNT";
/// The shared secret that guards the page, the API and `/metrics` (a `Bearer` header or
/// the cookie the page sets after asking for it once); required in real mode on a
/// non-loopback `HOST`.
pub const ACCESS_TOKEN: &str = "SIPDIAL_ACCESS_TOKEN";
/// `1` lets real mode start without [`CALLBACK_SECRET`], accepting unsigned callbacks
/// (anyone who reaches the callback route can then end or move calls).
pub const ALLOW_UNSIGNED_CALLBACKS: &str = "SIPDIAL_ALLOW_UNSIGNED_CALLBACKS";
