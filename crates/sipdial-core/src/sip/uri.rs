//! The request URI and the From user: where the INVITE goes and who it says is calling.

use super::{MAX_SIP_FROM_LEN, MAX_SIP_URI_LEN};
use crate::ValidationError;
use crate::macros::validated_string;

/// RFC 3261 `unreserved` plus `%` (the escape that introduces an escaped octet): the
/// characters every part of the URI we accept may hold.
fn is_unreserved_or_escape(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' | b'%'
        )
}

/// The user part: RFC 3261 `user-unreserved` on top of the common set.
fn is_user_char(b: u8) -> bool {
    is_unreserved_or_escape(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b'?' | b'/')
}

/// A URI parameter: RFC 3261 `param-unreserved` on top of the common set.
fn is_param_char(b: u8) -> bool {
    is_unreserved_or_escape(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$' | b'=')
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
