//! Who a request acts for, and the key its per-client limits count under.
//!
//! A host with its own login puts a [`Principal`] in the request's extensions (an Axum
//! or Actix middleware, before sipdial's routes); a grant-verifying authorizer makes one
//! from the token it verified. Without either the request is anonymous, and the limits
//! count it by the client's address: [`ClientAddr`], which the adapters put in from the
//! connection, or the right-most untrusted `X-Forwarded-For` hop when the peer is one of
//! the host's [`TrustedProxies`]. Trusting the header from anyone else would let every
//! request name a fresh address and dodge the limits.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

use crate::ValidationError;

/// Most bytes of a principal's subject: it is a limit key and a log field.
pub const MAX_SUBJECT_LEN: usize = 256;

/// The user a request acts for, as the host's login or a verified grant named it.
///
/// The subject is an identifier, not a secret: it may appear in logs and in limit keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    subject: Arc<str>,
}

impl Principal {
    /// A principal named `subject` (1 to [`MAX_SUBJECT_LEN`] bytes, no control
    /// characters: it ends up in log lines and store keys).
    pub fn new(subject: impl AsRef<str>) -> Result<Self, ValidationError> {
        let s = subject.as_ref();
        if s.is_empty() {
            return Err(ValidationError::new("subject", "must not be empty"));
        }
        if s.len() > MAX_SUBJECT_LEN {
            return Err(ValidationError::new(
                "subject",
                format!("must be at most {MAX_SUBJECT_LEN} bytes"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "subject",
                "must not contain control characters",
            ));
        }
        Ok(Self { subject: s.into() })
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Principal").field(&self.subject()).finish()
    }
}

/// The peer address of the connection a request came on. The adapters insert it into
/// the request's extensions; a host serving the Tower service itself inserts it too
/// (without it, anonymous requests share one limit bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Proxies whose `X-Forwarded-For` is believed. Empty by default: the header is then
/// ignored, since any client can send it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// Trusts no proxy.
    pub fn none() -> Self {
        Self::default()
    }

    /// Trusts the given networks (`10.0.0.0/8`, `127.0.0.1/32`, `::1/128`; a bare
    /// address means just that host).
    pub fn parse<I, S>(nets: I) -> Result<Self, ValidationError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for n in nets {
            let n = n.as_ref().trim();
            let net = match n.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => n.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    ValidationError::new(
                        "trusted_proxies",
                        "must be IP addresses or networks (CIDR)",
                    )
                })?,
            };
            out.push(net);
        }
        Ok(Self { nets: out })
    }

    /// Whether `addr` is a trusted proxy.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&addr))
    }

    /// The address the request came from: the connection's peer, or, when that peer is
    /// trusted, the right-most `X-Forwarded-For` hop that is not itself trusted (hops
    /// to its left were written by the client and prove nothing). `None` when the
    /// adapter put no [`ClientAddr`] in.
    pub fn client_ip(&self, head: &http::request::Parts) -> Option<IpAddr> {
        let peer = head.extensions.get::<ClientAddr>()?.0.ip();
        if !self.contains(peer) {
            return Some(peer);
        }
        let mut hops = head
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        while let Some(hop) = hops.pop() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.contains(ip) => continue,
                Ok(ip) => return Some(ip),
                // A garbled hop: nothing to its left can be trusted either.
                Err(_) => return Some(peer),
            }
        }
        Some(peer)
    }
}

/// Who per-client limits count a request against: its principal, or its address when
/// anonymous.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A named principal.
    Subject(Arc<str>),
    /// An anonymous client by address.
    Addr(IpAddr),
    /// An anonymous client whose address nobody told us (no [`ClientAddr`]).
    Unknown,
}

impl ClientKey {
    /// The key of a request: the principal in its extensions, else its address.
    pub fn of(head: &http::request::Parts, proxies: &TrustedProxies) -> Self {
        if let Some(p) = head.extensions.get::<Principal>() {
            return ClientKey::Subject(Arc::clone(&p.subject));
        }
        match proxies.client_ip(head) {
            Some(ip) => ClientKey::Addr(ip),
            None => ClientKey::Unknown,
        }
    }

    /// A compact, printable form for store keys (`s:alice`, `a:192.0.2.1`, `u`).
    pub fn to_key(&self) -> String {
        match self {
            ClientKey::Subject(s) => format!("s:{s}"),
            ClientKey::Addr(ip) => format!("a:{ip}"),
            ClientKey::Unknown => "u".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(peer: &str, xff: &[&str]) -> http::request::Parts {
        let mut b = http::Request::builder();
        for v in xff {
            b = b.header("x-forwarded-for", *v);
        }
        let (mut parts, ()) = b.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ClientAddr(format!("{peer}:5000").parse().unwrap()));
        parts
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::none();
        let h = head("192.0.2.7", &["203.0.113.9"]);
        assert_eq!(none.client_ip(&h), Some("192.0.2.7".parse().unwrap()));
        let proxy = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let h = head("10.1.2.3", &["198.51.100.1, 203.0.113.9", "10.9.9.9"]);
        // The right-most untrusted hop wins; the client-written left part is ignored.
        assert_eq!(proxy.client_ip(&h), Some("203.0.113.9".parse().unwrap()));
        let h = head("10.1.2.3", &["garbage"]);
        assert_eq!(proxy.client_ip(&h), Some("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn the_key_prefers_the_principal() {
        let mut h = head("192.0.2.7", &[]);
        assert_eq!(
            ClientKey::of(&h, &TrustedProxies::none()).to_key(),
            "a:192.0.2.7"
        );
        h.extensions.insert(Principal::new("alice").unwrap());
        assert_eq!(
            ClientKey::of(&h, &TrustedProxies::none()).to_key(),
            "s:alice"
        );
        let bare = http::Request::new(()).into_parts().0;
        assert_eq!(ClientKey::of(&bare, &TrustedProxies::none()).to_key(), "u");
    }

    #[test]
    fn subjects_are_validated() {
        assert!(Principal::new("").is_err());
        assert!(Principal::new("a\nb").is_err());
        assert!(Principal::new("x".repeat(MAX_SUBJECT_LEN + 1)).is_err());
        assert_eq!(
            format!("{:?}", Principal::new("bob").unwrap()),
            "Principal(\"bob\")"
        );
        assert!(TrustedProxies::parse(["not an ip"]).is_err());
        assert!(TrustedProxies::parse(["::1", "127.0.0.1/32"]).is_ok());
    }
}
