#![doc = include_str!("../README.md")]

mod auth;
mod body;
mod callbacks;
mod client_token;
mod clock;
mod credentials;
mod error;
mod faults;
mod jwt;
mod recorded;
mod redis_server;
mod routes;
mod server;
#[cfg(feature = "sip")]
pub mod sip;
mod sip_legs;
mod state;
mod sync;
pub mod tokens;

pub use auth::{AuthKind, MAX_REST_JWT_LIFETIME_SECS};
pub use callbacks::{CallProgress, CallScript, CallbackRecord, Delivery, DeliveryOutcome};
pub use client_token::TokenFormat;
pub use credentials::{
    TEST_API_KEY, TEST_API_SECRET, TEST_APPLICATION_ID, TEST_PRIVATE_KEY_PEM, TEST_PUBLIC_KEY_PEM,
};
pub use faults::{Fault, FaultRule};
pub use recorded::RecordedRequest;
pub use redis_server::RedisServer;
pub use server::{FakePlatform, FakePlatformBuilder};
#[cfg(feature = "sip")]
pub use sip::SipConfig;
pub use state::{
    ConnectionKind, ConnectionSnapshot, MediaMode, SessionSnapshot, SipCallState, SipLeg,
    StreamSnapshot,
};
