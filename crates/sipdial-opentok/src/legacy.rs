//! The legacy `T1==` client token (docs/platform-api.md §3b), still accepted by the platform
//! and the fallback the SDKs re-added for clients that choke on JWTs (§8.5).
//!
//! `T1==` + base64(`partner_id={key}&sig={hex HMAC-SHA1}:{data}`), where `data` is the
//! URL-encoded token fields and the signature covers exactly those bytes.

use std::fmt::Write as _;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sipdial_core::{ClientToken, SessionId, TokenOptions};

/// What Node's `querystring.escape` leaves alone (the encoding of the SDK test vectors):
/// letters, digits and `-_.!~*'()`; a space becomes `%20`.
const QUERYSTRING: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The fields of a T1 token, fixed so that a token can be reproduced exactly (the §9.2
/// test vector); [`crate::OpenTokDialer::legacy_t1_token`] fills them from the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct T1Fields<'a> {
    /// The session the token is for.
    pub session: &'a SessionId,
    /// Role, connection data, layout classes (the expiry is `expire_time` below).
    pub options: &'a TokenOptions,
    /// Creation time, seconds since the epoch.
    pub create_time: u64,
    /// Random nonce.
    pub nonce: f64,
    /// Expiry, seconds since the epoch.
    pub expire_time: u64,
}

impl T1Fields<'_> {
    /// The URL-encoded data string the signature covers, in Node's field order:
    /// `session_id, create_time, nonce, role, expire_time[, connection_data]
    /// [, initial_layout_class_list]` (optional fields only when set).
    pub fn data_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("session_id", self.session.as_str().to_owned()),
            ("create_time", self.create_time.to_string()),
            ("nonce", self.nonce.to_string()),
            ("role", self.options.role.as_str().to_owned()),
            ("expire_time", self.expire_time.to_string()),
        ];
        if let Some(data) = &self.options.data {
            pairs.push(("connection_data", data.as_str().to_owned()));
        }
        let layout = self.options.layout_classes.joined();
        if !layout.is_empty() {
            pairs.push(("initial_layout_class_list", layout));
        }
        let mut out = String::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            let _ = write!(out, "{k}={}", utf8_percent_encode(v, QUERYSTRING));
        }
        out
    }

    /// Signs the fields for project `api_key` with `api_secret`.
    pub fn sign(&self, api_key: &str, api_secret: &[u8]) -> ClientToken {
        let data = self.data_string();
        let sig = hex_hmac_sha1(api_secret, data.as_bytes());
        let inner = format!("partner_id={api_key}&sig={sig}:{data}");
        ClientToken::new(format!("T1=={}", STANDARD.encode(inner)), self.expire_time)
    }
}

/// Lowercase hex HMAC-SHA1, the T1 signature.
pub(crate) fn hex_hmac_sha1(key: &[u8], message: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&key, message);
    let mut hex = String::with_capacity(40);
    for b in tag.as_ref() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}
