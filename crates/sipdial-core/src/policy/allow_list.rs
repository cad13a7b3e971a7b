//! The allow-list of caller-supplied SIP URIs: the toll-fraud guard of `POST /dial`
//! when a caller passes its own `uri`.

use crate::SipUri;
use crate::policy::config_error::ApiConfigError;

/// URIs a caller may dial by passing its own `uri` (the toll-fraud guard).
///
/// Each pattern is `sip:USER@HOST[:PORT]` or `sips:…`, where `USER` may contain
/// wildcards: `*` is 1 to [`MAX_WILDCARD_DIGITS`] digits (`sip:+1555*@gw.example.com`:
/// a number prefix; never letters, so no `9011…;` tricks and no unbounded run), and
/// `**`, for a pattern that means it, 1 to [`MAX_WILDCARD_USER`] letters, digits and
/// `-_.!~*'()+` (`sip:**@pbx.example.com`: any extension or name on that PBX). A URI
/// matches when its scheme, host (case-insensitively) and port are the pattern's
/// exactly (no port in the pattern means none in the URI) and its user matches. A URI carrying parameters
/// other than `transport` and `user` never matches: `;maddr=` would send the INVITE
/// to another host than the one checked.
#[derive(Debug, Clone, Default)]
pub struct UriAllowList {
    patterns: Vec<String>,
}

impl UriAllowList {
    /// An empty list (matches nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pattern (checked in `build()`).
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.patterns.push(pattern.into());
        self
    }

    pub(crate) fn compile(&self) -> Result<Vec<UriPattern>, ApiConfigError> {
        self.patterns.iter().map(|p| UriPattern::parse(p)).collect()
    }
}

/// Most digits one `*` matches (E.164 numbers have at most 15, plus room for prefixes).
pub const MAX_WILDCARD_DIGITS: usize = 20;
/// Most characters one `**` matches.
pub const MAX_WILDCARD_USER: usize = 64;

/// Characters a caller URI's user part may never carry, whatever the allow-list says:
/// `,` `;` `?` `&` `=` `/` separate dial strings, parameters and headers on PBXs and
/// gateways (`+1555,9011…` dials on after the answer), and `%` escapes could smuggle
/// any of them past a pattern.
pub const CALLER_USER_FORBIDDEN: &[char] = &[',', ';', '?', '%', '&', '=', '/'];

/// Why a caller-supplied URI is refused before the allow-list is asked: a user part
/// with one of [`CALLER_USER_FORBIDDEN`].
pub(crate) fn caller_uri_refusal(uri: &SipUri) -> Option<String> {
    let parts = split_uri(uri.as_str())?;
    parts
        .user
        .chars()
        .find(|c| CALLER_USER_FORBIDDEN.contains(c))
        .map(|c| format!("the user part may not contain {c:?}"))
}

/// One piece of a user pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Literal(u8),
    /// `*`: 1 to [`MAX_WILDCARD_DIGITS`] digits.
    Digits,
    /// `**`: 1 to [`MAX_WILDCARD_USER`] safe user characters.
    Any,
}

#[derive(Debug, Clone)]
pub(crate) struct UriPattern {
    secure: bool,
    user: Vec<Piece>,
    hostport: String,
}

fn pieces(user: &str) -> Vec<Piece> {
    let b = user.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'*', Some(b'*')) => {
                out.push(Piece::Any);
                i += 2;
            }
            (b'*', _) => {
                out.push(Piece::Digits);
                i += 1;
            }
            (c, _) => {
                out.push(Piece::Literal(c));
                i += 1;
            }
        }
    }
    out
}

fn safe_user_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' | b'+'
        )
}

/// A SIP URI split into the parts the allow-list compares.
struct UriParts<'a> {
    secure: bool,
    user: &'a str,
    hostport: &'a str,
    params: Option<&'a str>,
}

fn split_uri(s: &str) -> Option<UriParts<'_>> {
    let lower = s.get(..5)?.to_ascii_lowercase();
    let (secure, rest) = if lower == "sips:" {
        (true, &s[5..])
    } else if lower.starts_with("sip:") {
        (false, &s[4..])
    } else {
        return None;
    };
    let (user, hostpart) = rest.rsplit_once('@')?;
    let (hostport, params) = match hostpart.split_once(';') {
        Some((h, p)) => (h, Some(p)),
        None => (hostpart, None),
    };
    Some(UriParts {
        secure,
        user,
        hostport,
        params,
    })
}

impl UriPattern {
    fn parse(pattern: &str) -> Result<Self, ApiConfigError> {
        let err = |reason: &str| ApiConfigError::UriPattern {
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
        };
        // The pattern must be a valid SIP URI once its wildcards are filled in, which
        // reuses every rule SipUri enforces on hosts and user characters.
        SipUri::new(pattern.replace('*', "0")).map_err(|e| err(e.reason()))?;
        let parts = split_uri(pattern).ok_or_else(|| err("must be sip:USER@HOST[:PORT]"))?;
        if parts.params.is_some() {
            return Err(err("must not carry URI parameters"));
        }
        if parts.hostport.contains('*') {
            return Err(err("wildcards are only allowed in the user part"));
        }
        if parts.user.contains("***") {
            return Err(err("`*` is digits and `**` any name; `***` is neither"));
        }
        Ok(Self {
            secure: parts.secure,
            user: pieces(parts.user),
            hostport: parts.hostport.to_ascii_lowercase(),
        })
    }

    fn matches(&self, uri: &SipUri) -> bool {
        let Some(parts) = split_uri(uri.as_str()) else {
            return false;
        };
        let params_ok = parts.params.is_none_or(|params| {
            params.split(';').all(|p| {
                let name = p.split_once('=').map_or(p, |(n, _)| n);
                name.eq_ignore_ascii_case("transport") || name.eq_ignore_ascii_case("user")
            })
        });
        params_ok
            && parts.secure == self.secure
            && parts.hostport.eq_ignore_ascii_case(&self.hostport)
            && user_matches(&self.user, parts.user.as_bytes())
    }
}

/// Whether `text` matches the pieces: one pass over the text per piece (a table of
/// the text positions reachable so far), so no pattern can make it backtrack.
fn user_matches(pattern: &[Piece], text: &[u8]) -> bool {
    // reach[j]: the pieces so far can consume exactly text[..j].
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for piece in pattern {
        let mut next = vec![false; text.len() + 1];
        for j in (0..=text.len()).filter(|&j| reach[j]) {
            match *piece {
                Piece::Literal(c) => {
                    if text.get(j) == Some(&c) {
                        next[j + 1] = true;
                    }
                }
                Piece::Digits | Piece::Any => {
                    let (max, ok): (usize, fn(u8) -> bool) = match piece {
                        Piece::Digits => (MAX_WILDCARD_DIGITS, |b: u8| b.is_ascii_digit()),
                        _ => (MAX_WILDCARD_USER, safe_user_char),
                    };
                    for (k, &b) in text[j..].iter().take(max).enumerate() {
                        if !ok(b) {
                            break;
                        }
                        next[j + k + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[text.len()]
}

/// The compiled allow-list.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledAllowList(pub(crate) Vec<UriPattern>);

impl CompiledAllowList {
    pub(crate) fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    pub(crate) fn matches(&self, uri: &SipUri) -> bool {
        self.0.iter().any(|p| p.matches(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> CompiledAllowList {
        let mut l = UriAllowList::new();
        for p in patterns {
            l = l.allow(*p);
        }
        CompiledAllowList(l.compile().unwrap())
    }

    fn uri(s: &str) -> SipUri {
        SipUri::new(s).unwrap()
    }

    #[test]
    fn allow_list_matches_user_globs_on_exact_hosts() {
        let l = list(&["sip:+1555*@gw.example.com", "sips:**@pbx.example.com:5061"]);
        assert!(l.matches(&uri("sip:+15551234@gw.example.com")));
        assert!(l.matches(&uri("sip:+15551234@GW.example.com;transport=tls")));
        assert!(l.matches(&uri("sips:alice@pbx.example.com:5061")));
        assert!(!l.matches(&uri("sip:+14441234@gw.example.com")));
        assert!(!l.matches(&uri("sip:+15551234@gw.example.com.evil.test")));
        assert!(!l.matches(&uri("sip:+15551234@gw.example.com:5070")));
        assert!(!l.matches(&uri("sip:alice@pbx.example.com:5061")));
        assert!(!l.matches(&uri("sip:+15551234@gw.example.com;maddr=evil.test")));
        assert!(!list(&[]).is_enabled());
    }

    #[test]
    fn a_star_is_digits_and_a_double_star_any_name_both_bounded() {
        let m = |p: &str, t: &str| user_matches(&pieces(p), t.as_bytes());
        assert!(m("a*b*c", "a12b3c"));
        assert!(!m("a*b*c", "aXXbYc"), "a single star is digits only");
        assert!(m("a**b**c", "aXXbYc"));
        assert!(!m("*", ""), "at least one digit");
        assert!(m("*1", "111"));
        assert!(m("+1555*", "+155512345678901234567890"));
        assert!(
            !m("+1555*", "+1555123456789012345678901"),
            "at most 20 digits"
        );
        assert!(!m("**", &"a".repeat(65)));
        assert!(!m("**", "a,b"));
        let l = list(&["sip:*@pbx.example.com"]);
        assert!(l.matches(&uri("sip:2001@pbx.example.com")));
        assert!(!l.matches(&uri("sip:alice@pbx.example.com")));
    }

    #[test]
    fn caller_user_parts_refuse_dial_string_separators() {
        for bad in [
            "sip:+1555,9011@gw.example.com",
            "sip:a%2c@gw.example.com",
            "sip:a?b@gw.example.com",
            "sip:a&b@gw.example.com",
            "sip:a=b@gw.example.com",
            "sip:a/b@gw.example.com",
        ] {
            assert!(caller_uri_refusal(&uri(bad)).is_some(), "{bad}");
        }
        assert!(caller_uri_refusal(&uri("sip:+15551234@gw.example.com;transport=tls")).is_none());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in [
            "sip:*@*.example.com",
            "sip:a@b.com;maddr=x",
            "http://x",
            "sip:a b@c.com",
            "sip:***@c.com",
        ] {
            assert!(UriAllowList::new().allow(p).compile().is_err(), "{p}");
        }
    }
}
