//! The allow-list of caller-supplied SIP URIs: the toll-fraud guard of `POST /dial`
//! when a caller passes its own `uri`.

use crate::SipUri;
use crate::policy::config_error::ApiConfigError;

/// URIs a caller may dial by passing its own `uri` (the toll-fraud guard).
///
/// Each pattern is `sip:USER@HOST[:PORT]` or `sips:…`, where `USER` may contain `*`
/// wildcards (any run of user characters): `sip:*@pbx.example.com`,
/// `sip:+1555*@gw.example.com`. A URI matches when its scheme, host
/// (case-insensitively) and port are the pattern's exactly (no port in the pattern
/// means none in the URI) and its user matches the glob. A URI carrying parameters
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

#[derive(Debug, Clone)]
pub(crate) struct UriPattern {
    secure: bool,
    user: String,
    hostport: String,
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
        Ok(Self {
            secure: parts.secure,
            user: parts.user.to_owned(),
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
            && glob_match(&self.user, parts.user)
    }
}

/// `*` matches any run of characters (including none); everything else literally.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
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
        let l = list(&["sip:+1555*@gw.example.com", "sips:*@pbx.example.com:5061"]);
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
    fn glob_handles_multiple_stars() {
        assert!(glob_match("a*b*c", "aXXbYc"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "aXXc"));
        assert!(glob_match("*1", "111"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in [
            "sip:*@*.example.com",
            "sip:a@b.com;maddr=x",
            "http://x",
            "sip:a b@c.com",
        ] {
            assert!(UriAllowList::new().allow(p).compile().is_err(), "{p}");
        }
    }
}
