//! The little SDP the emulation needs: an audio offer on a real local RTP port, the
//! far end's media direction (hold is a re-INVITE with `sendonly`/`inactive`, or a zero
//! address or port: docs/platform-api.md §7), and the answer to such a re-INVITE.
//!
//! No media flows: the RTP port is bound so the offer names a port nobody else holds,
//! and so a PBX that probes it sees a live socket.

use std::net::IpAddr;

/// The codecs offered, in preference order: PCMU, PCMA (static payload types) and
/// opus (dynamic 111), plus telephone-event so a PBX sees the usual shape.
const MEDIA_FORMATS: &str = "0 8 111 101";

/// An SDP audio offer (or answer) for `ip`:`rtp_port` with `direction`.
pub(crate) fn audio(ip: IpAddr, rtp_port: u16, session_version: u64, direction: &str) -> String {
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    format!(
        "v=0\r\n\
         o=sipdial-fake 1 {session_version} IN {family} {ip}\r\n\
         s=sipdial fake platform\r\n\
         c=IN {family} {ip}\r\n\
         t=0 0\r\n\
         m=audio {rtp_port} RTP/AVP {MEDIA_FORMATS}\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:111 opus/48000/2\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a={direction}\r\n"
    )
}

/// What the far end's SDP says about its audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Media both ways (`sendrecv`, or no attribute).
    SendRecv,
    /// The far end only sends: it holds us (`sendonly`).
    SendOnly,
    /// The far end only receives (`recvonly`): not a hold.
    RecvOnly,
    /// No media (`inactive`, a zero connection address, or port 0).
    Inactive,
}

impl Direction {
    /// Whether this puts the call on hold, as the platform counts it.
    pub(crate) fn is_hold(self) -> bool {
        matches!(self, Self::SendOnly | Self::Inactive)
    }

    /// The direction attribute of our answer to it.
    pub(crate) fn answer(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "recvonly",
            Self::RecvOnly => "sendonly",
            Self::Inactive => "inactive",
        }
    }
}

/// Whether `body` is an SDP with at least one `m=audio` line: what a 200 to our offer
/// must carry.
pub(crate) fn has_audio(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .is_ok_and(|text| text.lines().any(|l| l.trim_start().starts_with("m=audio")))
}

/// The direction of the first audio stream of `body` (media-level attributes win over
/// session-level ones); `None` when `body` is not an SDP with audio.
pub(crate) fn direction(body: &[u8]) -> Option<Direction> {
    let text = std::str::from_utf8(body).ok()?;
    let mut session_dir = None;
    let mut media_dir = None;
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut zero_addr = false;
    let mut zero_port = false;
    for line in text.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            if seen_audio {
                // Only the first audio stream counts.
                in_audio = false;
                continue;
            }
            in_audio = media.starts_with("audio ");
            if in_audio {
                seen_audio = true;
                zero_port = media.split_whitespace().nth(1) == Some("0");
            }
            continue;
        }
        if let Some(c) = line.strip_prefix("c=")
            && (in_audio || !seen_audio)
        {
            let addr = c.split_whitespace().nth(2).unwrap_or("");
            zero_addr = addr == "0.0.0.0" || addr == "::";
        }
        let dir = match line {
            "a=sendrecv" => Direction::SendRecv,
            "a=sendonly" => Direction::SendOnly,
            "a=recvonly" => Direction::RecvOnly,
            "a=inactive" => Direction::Inactive,
            _ => continue,
        };
        if in_audio {
            media_dir = Some(dir);
        } else if !seen_audio {
            session_dir = Some(dir);
        }
    }
    if !seen_audio {
        return None;
    }
    if zero_addr || zero_port {
        return Some(Direction::Inactive);
    }
    Some(media_dir.or(session_dir).unwrap_or(Direction::SendRecv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdp(extra_session: &str, media: &str, extra_media: &str) -> String {
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n{extra_session}{media}\r\n{extra_media}"
        )
    }

    #[test]
    fn reads_hold_and_resume() {
        let cases = [
            (
                sdp("", "m=audio 4000 RTP/AVP 0", ""),
                Some(Direction::SendRecv),
            ),
            (
                sdp("", "m=audio 4000 RTP/AVP 0", "a=sendonly\r\n"),
                Some(Direction::SendOnly),
            ),
            (
                sdp("a=inactive\r\n", "m=audio 4000 RTP/AVP 0", ""),
                Some(Direction::Inactive),
            ),
            (
                sdp("a=sendonly\r\n", "m=audio 4000 RTP/AVP 0", "a=sendrecv\r\n"),
                Some(Direction::SendRecv),
            ),
            (
                sdp("", "m=audio 0 RTP/AVP 0", ""),
                Some(Direction::Inactive),
            ),
            (
                sdp("", "m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0\r\n"),
                Some(Direction::Inactive),
            ),
            (
                sdp("", "m=audio 4000 RTP/AVP 0", "a=recvonly\r\n"),
                Some(Direction::RecvOnly),
            ),
            (sdp("", "m=video 4000 RTP/AVP 96", ""), None),
            ("not sdp at all".to_owned(), None),
        ];
        for (body, want) in cases {
            assert_eq!(direction(body.as_bytes()), want, "{body}");
        }
        assert_eq!(direction(&[0xff, 0xfe, 0x00]), None);
    }

    #[test]
    fn offer_names_the_port_and_codecs() {
        let offer = audio("127.0.0.1".parse().unwrap(), 40_000, 1, "sendrecv");
        assert!(offer.contains("m=audio 40000 RTP/AVP 0 8 111 101\r\n"));
        assert!(offer.contains("a=rtpmap:111 opus/48000/2"));
        assert!(has_audio(offer.as_bytes()));
        assert_eq!(direction(offer.as_bytes()), Some(Direction::SendRecv));
        assert!(!has_audio(b""));
    }
}
