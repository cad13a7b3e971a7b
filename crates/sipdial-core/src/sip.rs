//! What goes into the SIP INVITE the platform sends: the request URI, the From user and
//! custom headers.
//!
//! These are the values a toll-fraud or header-injection attempt would target, so the
//! rules are strict: no whitespace or control characters anywhere (a CR/LF would start a
//! new SIP header line), no angle brackets or quotes (which would end a name-addr), and
//! bounded sizes.

use std::collections::BTreeMap;

use crate::ValidationError;
use crate::macros::validated_string;

/// Longest SIP URI accepted, in bytes.
pub const MAX_SIP_URI_LEN: usize = 1024;
/// Longest `from` accepted, in bytes.
pub const MAX_SIP_FROM_LEN: usize = 256;
/// Most custom headers on one call.
pub const MAX_SIP_HEADERS: usize = 20;
/// Largest total size of custom header names and values, in bytes.
pub const MAX_SIP_HEADERS_BYTES: usize = 4096;
/// Longest single header value, in bytes.
pub const MAX_SIP_HEADER_VALUE_LEN: usize = 1024;

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
/// caller id the host's trunk presents. `y` is the compact form of `Identity`.
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
];

/// RFC 3261 `unreserved` plus the extra characters allowed in the user part.
fn is_user_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b'%'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
                | b'?'
                | b'/'
        )
}

fn is_param_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b'%'
                | b'['
                | b']'
                | b'/'
                | b':'
                | b'&'
                | b'+'
                | b'$'
                | b'='
        )
}

fn check_host(what: &'static str, host: &str) -> Result<(), ValidationError> {
    if host.is_empty() {
        return Err(ValidationError::new(what, "host must not be empty"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| ValidationError::new(what, "unterminated IPv6 reference"))?;
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| ValidationError::new(what, "invalid IPv6 address"));
    }
    if host.len() > 253 {
        return Err(ValidationError::new(what, "host is too long"));
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(ValidationError::new(
                what,
                "host has an empty or overlong label",
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(ValidationError::new(
                what,
                "host may only contain ASCII letters, digits, '-' and '.'",
            ));
        }
    }
    Ok(())
}

fn check_port(what: &'static str, port: &str) -> Result<(), ValidationError> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(ValidationError::new(
            what,
            "port must be a number from 1 to 65535",
        )),
    }
}

/// Splits `host[:port]`, respecting IPv6 brackets.
fn split_host_port(hostport: &str) -> (&str, Option<&str>) {
    if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(end) => {
                let (h, rest) = hostport.split_at(end + 1);
                match rest.strip_prefix(':') {
                    Some(port) => (h, Some(port)),
                    // Anything else after `]` is not a port: hand the whole text to the
                    // host check, which refuses it.
                    None if !rest.is_empty() => (hostport, None),
                    None => (h, None),
                }
            }
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    }
}

fn check_no_controls(what: &'static str, value: &str) -> Result<(), ValidationError> {
    if value
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || !c.is_ascii())
    {
        return Err(ValidationError::new(
            what,
            "must be ASCII without whitespace or control characters (CR, LF, NUL, ...)",
        ));
    }
    if value
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'"' | b'\\'))
    {
        return Err(ValidationError::new(
            what,
            "must not contain '<', '>', '\"' or '\\'",
        ));
    }
    Ok(())
}

fn check_user_at_host(what: &'static str, rest: &str) -> Result<(), ValidationError> {
    let (user, hostpart) = rest
        .rsplit_once('@')
        .ok_or_else(|| ValidationError::new(what, "must be of the form user@host"))?;
    if user.is_empty() {
        return Err(ValidationError::new(what, "user part must not be empty"));
    }
    if !user.bytes().all(is_user_char) {
        return Err(ValidationError::new(
            what,
            "user part has a forbidden character",
        ));
    }
    let (hostport, params) = match hostpart.split_once(';') {
        Some((hp, params)) => (hp, Some(params)),
        None => (hostpart, None),
    };
    let (host, port) = split_host_port(hostport);
    check_host(what, host)?;
    if let Some(port) = port {
        check_port(what, port)?;
    }
    if let Some(params) = params {
        for param in params.split(';') {
            let name = param.split_once('=').map_or(param, |(n, _)| n);
            if name.is_empty() {
                return Err(ValidationError::new(what, "empty URI parameter"));
            }
            if !param.bytes().all(is_param_char) {
                return Err(ValidationError::new(
                    what,
                    "URI parameter has a forbidden character",
                ));
            }
        }
    }
    Ok(())
}

fn check_sip_uri(value: &str) -> Result<(), ValidationError> {
    const WHAT: &str = "SIP URI";
    if value.len() > MAX_SIP_URI_LEN {
        return Err(ValidationError::new(
            WHAT,
            format!("must be at most {MAX_SIP_URI_LEN} bytes"),
        ));
    }
    check_no_controls(WHAT, value)?;
    let lower = value
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower == "sips:" {
        &value[5..]
    } else if lower.starts_with("sip:") {
        &value[4..]
    } else {
        return Err(ValidationError::new(WHAT, "must start with sip: or sips:"));
    };
    if rest.contains('?') && rest.rsplit_once('@').is_some_and(|(_, h)| h.contains('?')) {
        return Err(ValidationError::new(
            WHAT,
            "URI headers (?...) are not allowed",
        ));
    }
    check_user_at_host(WHAT, rest)
}

fn check_sip_from(value: &str) -> Result<(), ValidationError> {
    const WHAT: &str = "SIP from";
    if value.len() > MAX_SIP_FROM_LEN {
        return Err(ValidationError::new(
            WHAT,
            format!("must be at most {MAX_SIP_FROM_LEN} bytes"),
        ));
    }
    check_no_controls(WHAT, value)?;
    if value.contains(';') {
        return Err(ValidationError::new(WHAT, "must not carry parameters"));
    }
    check_user_at_host(WHAT, value)
}

validated_string!(
    /// The SIP URI the platform sends its INVITE to: `sip:` or `sips:` then
    /// `user@host[:port]` and optional `;params` (e.g. `;transport=tls`).
    ///
    /// At most 1024 bytes, ASCII, no whitespace or control characters, no URI headers.
    SipUri,
    check_sip_uri
);

impl SipUri {
    /// Whether the URI asks for TLS signalling (`sips:` or `;transport=tls`).
    ///
    /// TLS signalling does not encrypt media: that is [`crate::DialRequest::secure`].
    pub fn is_tls(&self) -> bool {
        let lower = self.0.to_ascii_lowercase();
        lower.starts_with("sips:") || lower.contains(";transport=tls")
    }
}

validated_string!(
    /// The `from` of the INVITE: `user@host`, where a numeric user shows as caller id on
    /// the PSTN (docs/platform-api.md §4).
    SipFrom,
    check_sip_from
);

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
                format!("`{name}` is set by the SIP stack and cannot be overridden"),
            ));
        }
        if value.len() > MAX_SIP_HEADER_VALUE_LEN {
            return Err(ValidationError::new(
                WHAT,
                format!("value of `{name}` is longer than {MAX_SIP_HEADER_VALUE_LEN} bytes"),
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(ValidationError::new(
                WHAT,
                format!("value of `{name}` contains a control character (CR, LF, NUL, ...)"),
            ));
        }
        if self.0.keys().any(|k| k.eq_ignore_ascii_case(&name)) {
            return Err(ValidationError::new(WHAT, format!("`{name}` is set twice")));
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
