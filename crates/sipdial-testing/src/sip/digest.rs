//! Digest algorithm names between the wire and rsipstack.
//!
//! rsipstack 0.7 computes SHA-256 digests but spells the algorithm `SHA256` (no
//! hyphen) and fails to parse the RFC 7616 spelling `SHA-256` a server sends. This
//! inspector renames it on the way in (challenges) and back on the way out
//! (`Authorization`), so SHA-256 challenges are answered. A challenge naming any
//! other algorithm rsipstack cannot compute is remembered per Call-ID, so the call
//! ends with an error that names the algorithm instead of a parse failure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rsipstack::sip::{HasHeaders as _, Header, SipMessage};
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;

use crate::sync::lock;

/// Algorithms rsipstack computes, in its own spelling, by their wire name (lowercase).
fn to_stack(wire: &str) -> Option<&'static str> {
    match wire.to_ascii_lowercase().as_str() {
        "md5" => Some("MD5"),
        "md5-sess" => Some("MD5-sess"),
        "sha-256" | "sha256" => Some("SHA256"),
        "sha-256-sess" | "sha256-sess" => Some("SHA256-sess"),
        _ => None,
    }
}

/// The RFC 7616 spelling of rsipstack's name.
fn to_wire(stack: &str) -> Option<&'static str> {
    match stack {
        "SHA256" => Some("SHA-256"),
        "SHA256-sess" => Some("SHA-256-sess"),
        _ => None,
    }
}

/// The byte range of the `algorithm` parameter's value in a header value, without
/// quotes.
fn algorithm_span(value: &str) -> Option<(usize, usize)> {
    let lower = value.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("algorithm") {
        let start = from + pos;
        from = start + "algorithm".len();
        let before_ok = start == 0 || matches!(lower.as_bytes()[start - 1], b' ' | b',' | b'\t');
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let eq = lower.len() - rest.len();
        let mut begin = eq + 1;
        while lower.as_bytes().get(begin) == Some(&b' ') {
            begin += 1;
        }
        let quoted = lower.as_bytes().get(begin) == Some(&b'"');
        if quoted {
            begin += 1;
        }
        let end = lower[begin..]
            .find(|c: char| {
                if quoted {
                    c == '"'
                } else {
                    c == ',' || c.is_whitespace()
                }
            })
            .map_or(lower.len(), |e| begin + e);
        return Some((begin, end));
    }
    None
}

/// `value` with its algorithm renamed by `rename`; `Err(name)` when `rename` has no
/// name for it.
fn rename_algorithm(
    value: &str,
    rename: impl Fn(&str) -> Option<&'static str>,
) -> Result<Option<String>, String> {
    let Some((begin, end)) = algorithm_span(value) else {
        return Ok(None);
    };
    let name = &value[begin..end];
    match rename(name) {
        Some(new) if new == name => Ok(None),
        Some(new) => Ok(Some(format!("{}{new}{}", &value[..begin], &value[end..]))),
        None => Err(name.to_owned()),
    }
}

/// Call-IDs whose challenge named an algorithm rsipstack cannot answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unsupported(Arc<Mutex<HashMap<String, String>>>);

impl Unsupported {
    /// The algorithm that made the call with `call_id` fail, once (forgets it).
    pub(crate) fn take(&self, call_id: &str) -> Option<String> {
        lock(&self.0).remove(call_id)
    }
}

/// The [`MessageInspector`] installed on the gateway's endpoint.
pub(crate) struct AlgorithmNames {
    pub(crate) unsupported: Unsupported,
}

impl MessageInspector for AlgorithmNames {
    fn before_send(&self, mut msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        // Only rsipstack's own spellings are renamed; anything else goes out as it is.
        if let SipMessage::Request(req) = &mut msg {
            for h in req.headers_mut().iter_mut() {
                match h {
                    Header::Authorization(a) => {
                        if let Ok(Some(v)) = rename_algorithm(a.value(), to_wire) {
                            a.replace(v);
                        }
                    }
                    Header::ProxyAuthorization(a) => {
                        if let Ok(Some(v)) = rename_algorithm(a.value(), to_wire) {
                            a.replace(v);
                        }
                    }
                    _ => {}
                }
            }
        }
        msg
    }

    fn after_received(&self, mut msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        let SipMessage::Response(resp) = &mut msg else {
            return msg;
        };
        let call_id = resp
            .headers()
            .iter()
            .find_map(|h| match h {
                Header::CallId(c) => Some(c.value().to_owned()),
                _ => None,
            })
            .unwrap_or_default();
        let mut unknown = None;
        for h in resp.headers_mut().iter_mut() {
            let renamed = match h {
                Header::WwwAuthenticate(c) => {
                    rename_algorithm(c.value(), to_stack).map(|v| v.map(|v| c.replace(v)))
                }
                Header::ProxyAuthenticate(c) => {
                    rename_algorithm(c.value(), to_stack).map(|v| v.map(|v| c.replace(v)))
                }
                _ => Ok(None),
            };
            if let Err(name) = renamed {
                unknown.get_or_insert(name);
            }
        }
        if let Some(name) = unknown {
            lock(&self.unsupported.0).insert(call_id, name);
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_sha256_both_ways() {
        let challenge = r#"Digest realm="pbx", nonce="abc", algorithm=SHA-256, qop="auth""#;
        let v = rename_algorithm(challenge, to_stack).unwrap().unwrap();
        assert!(v.contains("algorithm=SHA256,"), "{v}");
        let quoted = r#"Digest realm="pbx", algorithm="sha-256-sess", nonce="n""#;
        let v = rename_algorithm(quoted, to_stack).unwrap().unwrap();
        assert!(v.contains(r#"algorithm="SHA256-sess""#), "{v}");
        assert_eq!(
            rename_algorithm(r#"Digest realm="x", nonce="y""#, to_stack),
            Ok(None)
        );
        assert_eq!(
            rename_algorithm(r#"Digest realm="x", algorithm=MD5"#, to_stack),
            Ok(None)
        );
        assert_eq!(
            rename_algorithm(r#"Digest realm="x", algorithm=SHA-512-256"#, to_stack),
            Err("SHA-512-256".to_owned())
        );
        let auth = r#"Digest username="u", algorithm=SHA256, response="r""#;
        let v = rename_algorithm(auth, to_wire).unwrap().unwrap();
        assert!(v.contains("algorithm=SHA-256,"), "{v}");
        // MD5 has no other spelling: left alone.
        assert!(rename_algorithm(r#"Digest algorithm=MD5"#, to_wire).is_err());
    }

    #[test]
    fn ignores_lookalike_parameters() {
        let v = r#"Digest realm="algorithm=x", nonce="n", xalgorithm=1"#;
        assert_eq!(rename_algorithm(v, to_stack), Ok(None));
    }
}
