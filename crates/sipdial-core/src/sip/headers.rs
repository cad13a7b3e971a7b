//! Custom INVITE headers: RFC 3261 tokens as names, no control characters in values,
//! and never a header the SIP stack owns or (from a caller) one that sets the caller's
//! identity.

use std::collections::BTreeMap;

use super::{MAX_SIP_HEADER_VALUE_LEN, MAX_SIP_HEADERS, MAX_SIP_HEADERS_BYTES};
use crate::ValidationError;

/// Headers the SIP stack writes itself: letting a caller set them would break the
/// dialog or spoof the caller. Compact forms (RFC 3261 §7.3.3) included.
const RESERVED_HEADERS: &[&str] = &[
    "via",
    "v",
    "from",
    "f",
    "to",
    "t",
    "call-id",
    "i",
    "cseq",
    "contact",
    "m",
    "content-length",
    "l",
    "content-type",
    "c",
    "content-encoding",
    "e",
    "max-forwards",
    "route",
    "record-route",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
    "expires",
    "allow",
    "supported",
    "k",
    "require",
    "proxy-require",
];

/// Headers that tell the far end (or a PSTN gateway) who is calling. A host may put them
/// on a configured target; coming from a browser they would let any visitor choose the
/// caller id the host's trunk presents. `y` is the compact form of `Identity`, `b` of
/// `Referred-By`.
const IDENTITY_HEADERS: &[&str] = &[
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
    "Privacy",
    "Diversion",
    "History-Info",
    "Referred-By",
    "Identity",
    "y",
    "b",
];

/// Whether `name` is an RFC 3261 `token` (the grammar of a header name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// Custom headers added to the INVITE (`X-Customer-Id: 42`, ...).
///
/// Names are RFC 3261 tokens and may not be one of the headers the SIP stack owns
/// (Via, From, To, Call-ID, CSeq, Contact, Content-Length, ... and their compact forms).
/// Values carry no CR, LF, NUL or other control characters. At most
/// [`MAX_SIP_HEADERS`] headers and [`MAX_SIP_HEADERS_BYTES`] bytes in all. Names are
/// compared case-insensitively, so `X-A` and `x-a` cannot both be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct SipHeaders(BTreeMap<String, String>);

/// A header name as an error message may show it: in backticks when it is at most 40
/// letters, digits, `-`, `_` and `.`. RFC 3261 tokens also allow `` ` ``, `'`, `!`, `%`
/// and more, which would let a caller's text shape the message (and a backtick end the
/// quote), and a long one would swell it, so such a name is not echoed: "a header"
/// stands for it, which reads right in every message that uses it.
pub(crate) fn quoted_name(name: &str) -> String {
    if name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        format!("`{name}`")
    } else {
        "a header".to_owned()
    }
}

impl SipHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one header, checking it and the new totals.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), ValidationError> {
        const WHAT: &str = "SIP header";
        let name = name.into();
        let value = value.into();
        if !is_token(&name) {
            return Err(ValidationError::new(
                WHAT,
                "name must be an RFC 3261 token (letters, digits, '-', '.', ...)",
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ValidationError::new(
                WHAT,
                format!(
                    "{} is set by the SIP stack and cannot be overridden",
                    quoted_name(&name)
                ),
            ));
        }
        if value.len() > MAX_SIP_HEADER_VALUE_LEN {
            return Err(ValidationError::new(
                WHAT,
                format!(
                    "value of {} is longer than {MAX_SIP_HEADER_VALUE_LEN} bytes",
                    quoted_name(&name)
                ),
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(ValidationError::new(
                WHAT,
                format!(
                    "value of {} contains a control character (CR, LF, NUL, ...)",
                    quoted_name(&name)
                ),
            ));
        }
        if self.0.keys().any(|k| k.eq_ignore_ascii_case(&name)) {
            return Err(ValidationError::new(
                WHAT,
                format!("{} is set twice", quoted_name(&name)),
            ));
        }
        if self.0.len() + 1 > MAX_SIP_HEADERS {
            return Err(ValidationError::new(
                WHAT,
                format!("at most {MAX_SIP_HEADERS} custom headers"),
            ));
        }
        if self.total_bytes() + name.len() + value.len() > MAX_SIP_HEADERS_BYTES {
            return Err(ValidationError::new(
                WHAT,
                format!("headers may total at most {MAX_SIP_HEADERS_BYTES} bytes"),
            ));
        }
        self.0.insert(name, value);
        Ok(())
    }

    /// Header names and values, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many headers are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no header is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first header that asserts the caller's identity (`P-Asserted-Identity`,
    /// `Remote-Party-ID`, `Diversion`, ...), by its canonical name.
    ///
    /// Valid on a host-configured target, but the HTTP API refuses them from callers:
    /// the caller id a trunk presents is the host's decision, like `from`.
    pub fn identity_header(&self) -> Option<&'static str> {
        IDENTITY_HEADERS
            .iter()
            .copied()
            .find(|name| self.get(name).is_some())
    }

    /// Why a caller (not the host) may never set `name`, whatever a target allows: a
    /// name that is not a token, one the SIP stack owns, one that sets the caller's
    /// identity, or a compact form (one letter: RFC 3261 §7.3.3 gives many headers a
    /// one-letter alias, so `b` is `Referred-By`; callers use the long names).
    pub fn never_from_callers(name: &str) -> Option<&'static str> {
        if !is_token(name) {
            Some("not an RFC 3261 header name")
        } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            Some("the SIP stack sets it")
        } else if IDENTITY_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            Some("it sets the caller's identity")
        } else if name.len() == 1 {
            Some("a compact form")
        } else {
            None
        }
    }

    /// Adds every header of `other` that is not set here yet; fails on the first bad one.
    ///
    /// Used to lay a caller's headers over a host-configured target's headers, where the
    /// host's values win.
    pub fn merge_missing(&mut self, other: &SipHeaders) -> Result<(), ValidationError> {
        for (k, v) in other.iter() {
            if self.get(k).is_none() {
                self.insert(k, v)?;
            }
        }
        Ok(())
    }

    fn total_bytes(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

impl TryFrom<BTreeMap<String, String>> for SipHeaders {
    type Error = ValidationError;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        let mut headers = SipHeaders::new();
        for (k, v) in map {
            headers.insert(k, v)?;
        }
        Ok(headers)
    }
}

impl From<SipHeaders> for BTreeMap<String, String> {
    fn from(h: SipHeaders) -> Self {
        h.0
    }
}
