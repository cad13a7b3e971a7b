//! One rsipstack user agent on loopback (or the address given): a UDP socket and a TCP
//! listener on the same port, the transaction endpoint serving them, and a dialog layer.
//! Both the gateway (it places calls) and the demo endpoint (it answers them) run one.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::platform::CancellationToken;
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{TcpListenerConnection, TransportLayer};

/// A running user agent. Dropping it does not stop it: call [`Stack::stop`].
pub(crate) struct Stack {
    pub(crate) dialogs: Arc<DialogLayer>,
    pub(crate) cancel: CancellationToken,
    pub(crate) addr: SocketAddr,
}

fn io_error(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

impl Stack {
    /// Binds UDP at `bind` and TCP at the same address and port (an ephemeral port when
    /// `bind` has port 0), starts serving, and hands back the transactions that start
    /// outside any of our transactions (new requests, in-dialog requests).
    pub(crate) async fn start(
        bind: SocketAddr,
        user_agent: &str,
        inspector: Option<Box<dyn MessageInspector>>,
    ) -> std::io::Result<(Self, TransactionReceiver)> {
        let bind = free_for_both(bind)?;
        let cancel = CancellationToken::new();
        let transports = TransportLayer::new(cancel.child_token());
        let udp = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
            .await
            .map_err(|e| io_error("cannot bind the SIP UDP socket", e))?;
        let addr = udp
            .get_addr()
            .get_socketaddr()
            .map_err(|e| io_error("the SIP UDP socket has no address", e))?;
        let tcp = TcpListenerConnection::new(addr, None)
            .await
            .map_err(|e| io_error("cannot bind the SIP TCP listener", e))?;
        transports.add_transport(udp.into());
        transports.add_transport(tcp.into());
        let mut builder = EndpointBuilder::new();
        builder
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transports)
            .with_user_agent(user_agent);
        if let Some(inspector) = inspector {
            builder.with_inspector(inspector);
        }
        let endpoint = builder.build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| io_error("no SIP transaction receiver", e))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        tokio::spawn(async move { endpoint.serve().await });
        // rsipstack binds the TCP listener only once the endpoint's serve task runs: wait
        // for it, so that the address handed out accepts TCP at once (on a busy machine
        // a caller's first connect otherwise met a closed port).
        listening(addr).await?;
        Ok((
            Self {
                dialogs,
                cancel,
                addr,
            },
            incoming,
        ))
    }

    /// Closes the sockets and ends every task of this user agent.
    pub(crate) fn stop(&self) {
        self.cancel.cancel();
    }
}

/// Waits until `addr` accepts a TCP connection (at most two seconds).
async fn listening(addr: std::net::SocketAddr) -> std::io::Result<()> {
    let mut last = None;
    for _ in 0..200 {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the SIP TCP listener did not start")))
}

/// `bind` with port 0 replaced by a port free for TCP as well as UDP. The OS picks an
/// ephemeral UDP port without regard to TCP, and on a busy machine that port was now and
/// then some TCP connection's local port: rsipstack's TCP listener then failed to bind
/// (it only logs that) and the stack took no TCP at all. A port the OS hands out for a
/// TCP listener is, at that moment, in no TCP use.
fn free_for_both(bind: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr> {
    if bind.port() != 0 {
        return Ok(bind);
    }
    let mut last = None;
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind(bind)?;
        let addr = tcp.local_addr()?;
        match std::net::UdpSocket::bind(addr) {
            Ok(_) => return Ok(addr),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no port free for TCP and UDP")))
}
