//! The `Origin` check of state-changing routes (the tower-http CSRF idea, done inside
//! the API so that every adapter gets it): a foreign page must not be able to make a
//! visitor's browser dial.
//!
//! Rules, precisely:
//! - only requests with a state-changing method (anything but GET, HEAD, OPTIONS,
//!   TRACE) that carry an `Origin` header are checked; non-browser clients send none;
//! - `Origin: null` (sandboxed frames, file pages) and unparsable origins are refused;
//! - an origin is allowed when it equals a configured origin (scheme, host
//!   case-insensitively, port with 80/443 filled in for http/https), or
//! - when its host and port equal the request's own `Host` (or URI authority):
//!   scheme-agnostic, because a TLS-terminating proxy hides the scheme; a `Host`
//!   without a port matches only an origin on its scheme's default port.
//!
//! A proxy that rewrites `Host` makes the second rule fail closed; configure the
//! public origin then.

use http::{HeaderMap, Method, Uri, header};

/// A parsed, normalised web origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (one trailing `/` tolerated). Only http and https.
    pub(crate) fn parse(s: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = s.split_once("://").ok_or("must be scheme://host[:port]")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err("scheme must be http or https"),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err("must not carry a path, query, fragment or user info");
        }
        let (host, port) = split_host_port(rest)?;
        Ok(Self {
            scheme,
            host,
            port: port.unwrap_or(default_port),
        })
    }
}

/// Splits and validates `host[:port]`; the host is lower-cased.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or("unterminated IPv6 address")?;
        let (h, rest) = s.split_at(end + 1);
        match rest {
            "" => (h, None),
            _ => (
                h,
                Some(rest.strip_prefix(':').ok_or("junk after IPv6 address")?),
            ),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || !host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':')
        })
    {
        return Err("invalid host");
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| "invalid port")?)
        }
        Some(_) => return Err("invalid port"),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Why a request's origin was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OriginRefusal {
    /// `Origin: null` or an unparsable value.
    Opaque,
    /// A well-formed origin that is neither configured nor the request's own host.
    Foreign,
}

/// The configured origins plus, unless switched off, the same-host rule.
#[derive(Debug, Clone)]
pub(crate) struct OriginPolicy {
    allowed: Vec<Origin>,
    /// Whether an origin equal to the request's own `Host` passes. Convenient (no
    /// configuration behind any host name), but the `Host` header is chosen by whoever
    /// resolved the name: a DNS-rebinding page on `evil.example:3000` that resolves to
    /// this server sends a matching `Host`. Hosts that list their origins can turn it off.
    same_host: bool,
}

impl Default for OriginPolicy {
    fn default() -> Self {
        Self::new(Vec::new(), true)
    }
}

impl OriginPolicy {
    pub(crate) fn new(allowed: Vec<Origin>, same_host: bool) -> Self {
        Self { allowed, same_host }
    }

    /// Whether a request with this head may change state.
    pub(crate) fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(), OriginRefusal> {
        if matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) {
            return Ok(());
        }
        let Some(value) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = value
            .to_str()
            .ok()
            .filter(|v| !v.eq_ignore_ascii_case("null"))
            .and_then(|v| Origin::parse(v).ok())
            .ok_or(OriginRefusal::Opaque)?;
        if self.allowed.contains(&origin) {
            return Ok(());
        }
        if !self.same_host {
            return Err(OriginRefusal::Foreign);
        }
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .and_then(|h| split_host_port(h).ok());
        match own {
            Some((host, port)) if host == origin.host => {
                let default_port = if origin.scheme == "https" { 443 } else { 80 };
                if port.unwrap_or(default_port) == origin.port {
                    Ok(())
                } else {
                    Err(OriginRefusal::Foreign)
                }
            }
            _ => Err(OriginRefusal::Foreign),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        policy: &OriginPolicy,
        method: Method,
        host: Option<&str>,
        origin: Option<&str>,
    ) -> Result<(), OriginRefusal> {
        let mut headers = HeaderMap::new();
        if let Some(h) = host {
            headers.insert(header::HOST, h.parse().unwrap());
        }
        if let Some(o) = origin {
            headers.insert(header::ORIGIN, o.parse().unwrap());
        }
        policy.check(&method, &Uri::from_static("/sip/dial"), &headers)
    }

    #[test]
    fn same_host_is_allowed_scheme_agnostically_with_default_ports() {
        let p = OriginPolicy::default();
        let post = Method::POST;
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("example.com"),
                Some("https://example.com")
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("example.com"),
                Some("http://EXAMPLE.com")
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("Example.com:8443"),
                Some("https://example.com:8443")
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("example.com:443"),
                Some("https://example.com")
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("example.com"),
                Some("http://example.com:8080")
            ),
            Err(OriginRefusal::Foreign)
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("example.com:8080"),
                Some("http://example.com")
            ),
            Err(OriginRefusal::Foreign)
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("example.com"),
                Some("https://evil.example")
            ),
            Err(OriginRefusal::Foreign)
        );
        assert_eq!(
            check(
                &p,
                post.clone(),
                Some("[::1]:3000"),
                Some("http://[::1]:3000")
            ),
            Ok(())
        );
        assert_eq!(
            check(&p, post.clone(), None, Some("http://example.com")),
            Err(OriginRefusal::Foreign)
        );
    }

    #[test]
    fn null_and_garbage_origins_are_refused_and_absent_ones_pass() {
        let p = OriginPolicy::default();
        assert_eq!(
            check(&p, Method::POST, Some("a.test"), Some("null")),
            Err(OriginRefusal::Opaque)
        );
        assert_eq!(
            check(&p, Method::DELETE, Some("a.test"), Some("ftp://a.test")),
            Err(OriginRefusal::Opaque)
        );
        assert_eq!(check(&p, Method::POST, Some("a.test"), None), Ok(()));
        assert_eq!(
            check(
                &p,
                Method::GET,
                Some("a.test"),
                Some("https://evil.example")
            ),
            Ok(())
        );
    }

    #[test]
    fn configured_origins_match_exactly() {
        let p = OriginPolicy::new(vec![Origin::parse("http://localhost:3000").unwrap()], true);
        assert_eq!(
            check(
                &p,
                Method::POST,
                Some("api.internal:8080"),
                Some("http://LOCALHOST:3000")
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &p,
                Method::POST,
                Some("api.internal:8080"),
                Some("https://localhost:3000")
            ),
            Err(OriginRefusal::Foreign)
        );
        assert_eq!(
            check(
                &p,
                Method::POST,
                Some("api.internal:8080"),
                Some("http://localhost:3001")
            ),
            Err(OriginRefusal::Foreign)
        );
    }

    #[test]
    fn origin_parsing_rejects_paths_and_other_schemes() {
        assert!(Origin::parse("http://a.test/x").is_err());
        assert!(Origin::parse("ws://a.test").is_err());
        assert!(Origin::parse("a.test").is_err());
        assert!(Origin::parse("http://a.test:99999").is_err());
        assert_eq!(
            Origin::parse("https://a.test/").unwrap(),
            Origin::parse("https://A.test:443").unwrap()
        );
    }

    #[test]
    fn without_the_same_host_rule_only_listed_origins_pass() {
        let p = OriginPolicy::new(vec![Origin::parse("http://localhost:3000").unwrap()], false);
        assert_eq!(
            check(
                &p,
                Method::POST,
                Some("localhost:3000"),
                Some("http://localhost:3000")
            ),
            Ok(())
        );
        // A rebinding page: its Origin matches the Host the browser sent, but is not listed.
        assert_eq!(
            check(
                &p,
                Method::POST,
                Some("evil.example:3000"),
                Some("http://evil.example:3000")
            ),
            Err(OriginRefusal::Foreign)
        );
        assert_eq!(
            check(
                &OriginPolicy::default(),
                Method::POST,
                Some("evil.example:3000"),
                Some("http://evil.example:3000")
            ),
            Ok(())
        );
    }
}
