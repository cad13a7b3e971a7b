//! A far end on a raw UDP socket, for hand-made SIP.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

const WITHIN: Duration = Duration::from_secs(5);

/// A SIP request as the raw far end received it.
pub struct Received {
    pub text: String,
}

impl Received {
    pub fn method(&self) -> &str {
        self.text.split(' ').next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> String {
        self.text
            .lines()
            .find(|l| {
                l.split_once(':')
                    .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            })
            .map(|l| l.to_owned())
            .unwrap_or_default()
    }

    /// A response to this request: its Via, From, Call-ID, CSeq; To with our tag.
    pub fn response(&self, status: &str, extra: &str, body: &str) -> String {
        let to = self.header("To");
        let to = if to.contains(";tag=") {
            to
        } else {
            format!("{to};tag=rawfarend")
        };
        format!(
            "SIP/2.0 {status}\r\n{}\r\n{}\r\n{to}\r\n{}\r\n{}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            self.header("Via"),
            self.header("From"),
            self.header("Call-ID"),
            self.header("CSeq"),
            body.len()
        )
    }
}

/// A far end on a raw UDP socket.
pub struct RawFarEnd {
    pub socket: UdpSocket,
}

impl RawFarEnd {
    pub async fn bind() -> Self {
        Self {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    pub fn uri(&self) -> String {
        format!("sip:raw@{}", self.socket.local_addr().unwrap())
    }

    /// The next request (responses, e.g. to our BYE, are skipped), with its sender.
    pub async fn request(&self) -> (Received, SocketAddr) {
        let mut buf = vec![0u8; 65_535];
        loop {
            let (n, from) = tokio::time::timeout(WITHIN, self.socket.recv_from(&mut buf))
                .await
                .expect("a request within 5 s")
                .unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !text.starts_with("SIP/2.0") {
                return (Received { text }, from);
            }
        }
    }

    /// The next request with `method`, skipping retransmissions of others.
    pub async fn expect(&self, method: &str) -> (Received, SocketAddr) {
        loop {
            let (r, from) = self.request().await;
            if r.method() == method {
                return (r, from);
            }
        }
    }

    pub async fn send(&self, to: SocketAddr, datagram: impl AsRef<[u8]>) {
        self.socket.send_to(datagram.as_ref(), to).await.unwrap();
    }
}

pub fn sdp_answer() -> &'static str {
    "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
}

pub const SDP: &str = "Content-Type: application/sdp\r\n";

pub fn contact(far: &RawFarEnd) -> String {
    format!("Contact: <{}>\r\n", far.uri())
}
