//! Where a dial's INVITE goes: the dialed URI's host and port over UDP, or TCP with
//! `;transport=tcp`, unless a route sends every INVITE to one place (for URIs whose
//! host is not local, e.g. `sip:alice@pbx.example.com` when the PBX is on loopback).

use std::net::SocketAddr;

use rsipstack::sip::{HostWithPort, Param, Transport, Uri};
use rsipstack::transport::SipAddr;

/// Why a dialed URI cannot be called by the emulation (the call is then destroyed with
/// this reason, like a gateway that cannot reach its target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unroutable(pub(crate) String);

/// The Request-URI and the next hop of one call.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) uri: Uri,
    pub(crate) next_hop: SipAddr,
}

/// Resolves the dialed `uri` (already validated by the REST route) to its next hop;
/// `route` replaces the host and port, never the transport.
pub(crate) fn resolve(uri: &str, route: Option<SocketAddr>) -> Result<Target, Unroutable> {
    let parsed = Uri::try_from(uri)
        .map_err(|_| Unroutable(format!("the SIP gateway cannot parse the URI {uri:?}")))?;
    let transport = parsed
        .params
        .iter()
        .find_map(|p| match p {
            Param::Transport(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(Transport::Udp);
    let transport = match transport {
        Transport::Udp | Transport::Tcp => transport,
        // Signalling security is not emulated: the call is placed over plain TCP, so a
        // far end that insists on TLS refuses it (docs/sip-emulation.md).
        Transport::Tls => {
            tracing::warn!(%uri, "SIP over TLS is not emulated: placing the call over TCP");
            Transport::Tcp
        }
        other => {
            return Err(Unroutable(format!(
                "transport {other} is not emulated (UDP and TCP only; see docs/sip-emulation.md)"
            )));
        }
    };
    let addr = match route {
        Some(route) => HostWithPort::from(route),
        None => {
            let mut hp = parsed.host_with_port.clone();
            if hp.port.is_none() {
                hp.port = Some(5060.into());
            }
            hp
        }
    };
    Ok(Target {
        uri: parsed,
        next_hop: SipAddr::new(transport, addr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_transport_host_and_route() {
        let t = resolve("sip:bob@127.0.0.1:5070", None).unwrap();
        assert_eq!(t.next_hop.r#type, Some(Transport::Udp));
        assert_eq!(t.next_hop.addr.to_string(), "127.0.0.1:5070");
        let t = resolve("sip:bob@127.0.0.1:5070;transport=tcp", None).unwrap();
        assert_eq!(t.next_hop.r#type, Some(Transport::Tcp));
        let t = resolve("sip:bob@pbx.example.com", None).unwrap();
        assert_eq!(t.next_hop.addr.to_string(), "pbx.example.com:5060");
        let route: SocketAddr = "127.0.0.1:5099".parse().unwrap();
        let t = resolve("sip:bob@pbx.example.com;transport=tcp", Some(route)).unwrap();
        assert_eq!(t.next_hop.addr.to_string(), "127.0.0.1:5099");
        assert_eq!(t.next_hop.r#type, Some(Transport::Tcp));
        assert_eq!(t.uri.host_with_port.to_string(), "pbx.example.com");
        let t = resolve("sip:bob@example.com;transport=tls", None).unwrap();
        assert_eq!(
            t.next_hop.r#type,
            Some(Transport::Tcp),
            "TLS is placed over TCP"
        );
        let err = resolve("sip:bob@example.com;transport=ws", None).unwrap_err();
        assert!(err.0.contains("not emulated"), "{err:?}");
    }
}
