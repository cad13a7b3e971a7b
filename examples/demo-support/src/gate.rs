//! The demos' front door, in front of every route, written once for both frameworks:
//! each adapter copies a few request fields into an [`Incoming`] and turns a
//! [`Refusal`] into its own response type.
//!
//! - **Host.** A request whose `Host` is not one of the demo's own names is refused with
//!   421. A browser sends the page's own host name, so a page on `attacker.example` whose
//!   DNS name is re-pointed at 127.0.0.1 (DNS rebinding) is same-origin with itself and
//!   passes any Origin check: only the Host tells it apart. The demo's names are the
//!   listening address, `localhost` (with the port) and the hosts of
//!   `SIPDIAL_ALLOWED_ORIGINS`; bound to `0.0.0.0`/`::`, any IP literal with the port too
//!   (rebinding needs a DNS name).
//! - **Access token.** With `SIPDIAL_ACCESS_TOKEN` set, everything but the platform's
//!   callbacks (guarded by their signature) needs it: `Authorization: Bearer <token>`, or
//!   the [`ACCESS_COOKIE`] the page sets after asking for the token once (a form that
//!   sends `?access_token=`, exchanged for the cookie and redirected, so the token leaves
//!   the address bar at once). Compared in constant time; never logged or echoed.

use bytes::Bytes;
use secrecy::{ExposeSecret as _, SecretString};
use std::net::{IpAddr, SocketAddr};

use crate::{CALLBACKS_PATH, DemoConfig};

/// The cookie that carries the access token after the page asked for it (`HttpOnly`,
/// `SameSite=Strict`, scoped to the mount).
pub const ACCESS_COOKIE: &str = "sipdial_access";
/// The query parameter the token form sends to the page, exchanged for the cookie.
pub const ACCESS_QUERY: &str = "access_token";

/// The policy of the small token form: no script at all, a form sent to the page itself.
const FORM_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; \
                        base-uri 'none'; frame-ancestors 'none'";

/// What the gate reads from a request (raw header values, as received).
#[derive(Debug, Clone, Copy, Default)]
pub struct Incoming<'a> {
    /// The request path, without the query.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    /// The `Host` header (or the HTTP/2 authority).
    pub host: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Cookie` header(s), joined with `; ` when there are several.
    pub cookie: Option<&'a str>,
}

/// The answer instead of the route's: status, headers and body.
#[derive(Debug, Clone)]
pub struct Refusal {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Refusal {
    /// The status code (421, 401 or 303).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, names in lowercase.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> Bytes {
        self.body.clone()
    }

    fn json(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        Self {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("cache-control", "no-store".to_owned()),
            ],
            body: Bytes::from(body.to_string()),
        }
    }
}

/// One host name the demo answers to, with the port it is reached on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    /// Lowercase, IPv6 without brackets.
    host: String,
    port: u16,
    /// The port a `Host` without one means (80 for http, 443 for https).
    default_port: u16,
}

/// The checks in front of every route (cheap to clone behind an `Arc`).
#[derive(Debug)]
pub struct Gate {
    names: Vec<Name>,
    /// Bound to an unspecified address: any IP literal on this port is the demo.
    any_ip_on_port: Option<u16>,
    token: Option<SecretString>,
    /// `{mount}/`: the page, where the token form is shown and exchanged.
    page: String,
    mount: String,
    callbacks: String,
}

impl Gate {
    /// The gate of a demo configured by `config`, listening on `local` (the bound
    /// address, so that `PORT=0` gets its real port).
    pub fn new(config: &DemoConfig, local: SocketAddr) -> Self {
        let port = local.port();
        let mut names = vec![Name {
            host: "localhost".to_owned(),
            port,
            default_port: 80,
        }];
        if !local.ip().is_unspecified() {
            names.push(Name {
                host: local.ip().to_string(),
                port,
                default_port: 80,
            });
        }
        names.extend(config.allowed_origins.iter().filter_map(|o| origin_name(o)));
        let mount = config.mount().to_owned();
        Self {
            names,
            any_ip_on_port: local.ip().is_unspecified().then_some(port),
            token: config.access_token.clone(),
            page: format!("{mount}/"),
            callbacks: format!("{mount}{CALLBACKS_PATH}"),
            mount,
        }
    }

    /// `Ok` lets the request through to its route; `Err` is the answer instead.
    pub fn check(&self, req: &Incoming<'_>) -> Result<(), Refusal> {
        if !req.host.is_some_and(|h| self.is_own_host(h)) {
            return Err(Refusal::json(
                421,
                "misdirected_request",
                "this server answers only to its own host names: the listening address, \
                 localhost, and the hosts of SIPDIAL_ALLOWED_ORIGINS",
            ));
        }
        let Some(token) = &self.token else {
            return Ok(());
        };
        if req.path == self.callbacks {
            return Ok(());
        }
        let expected = token.expose_secret().as_bytes();
        let bearer = req.authorization.and_then(bearer_token);
        let cookie = req.cookie.and_then(access_cookie);
        if bearer
            .or(cookie)
            .is_some_and(|t| equal(t.as_bytes(), expected))
        {
            return Ok(());
        }
        let is_page = req.path == self.page || (!self.mount.is_empty() && req.path == self.mount);
        if is_page && bearer.is_none() {
            return Err(match req.query.and_then(query_token) {
                Some(given) if equal(given.as_bytes(), expected) => self.exchange(token),
                Some(_) => self.form(true),
                None => self.form(false),
            });
        }
        let mut refusal = Refusal::json(
            401,
            "unauthenticated",
            "this demo needs SIPDIAL_ACCESS_TOKEN: send `Authorization: Bearer <token>`, or \
             open the page and enter the token",
        );
        refusal.headers.push((
            "www-authenticate",
            r#"Bearer realm="sipdial-demo""#.to_owned(),
        ));
        Err(refusal)
    }

    fn is_own_host(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        let named = self
            .names
            .iter()
            .any(|n| n.host.eq_ignore_ascii_case(name) && port.unwrap_or(n.default_port) == n.port);
        named
            || self
                .any_ip_on_port
                .is_some_and(|own| name.parse::<IpAddr>().is_ok() && port.unwrap_or(80) == own)
    }

    /// The right token in the query: the cookie, and the page again without the token
    /// in its address.
    fn exchange(&self, token: &SecretString) -> Refusal {
        Refusal {
            status: 303,
            headers: vec![
                ("location", self.page.clone()),
                (
                    "set-cookie",
                    format!(
                        "{ACCESS_COOKIE}={}; Path={}; HttpOnly; SameSite=Strict",
                        token.expose_secret(),
                        self.page
                    ),
                ),
                ("cache-control", "no-store".to_owned()),
                ("referrer-policy", "no-referrer".to_owned()),
            ],
            body: Bytes::new(),
        }
    }

    /// The page's stand-in until the token is given: one field, no script.
    fn form(&self, wrong: bool) -> Refusal {
        let note = if wrong {
            r#"<p class="error" id="access-error" role="alert">That is not the access token.</p>"#
        } else {
            ""
        };
        let html = format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <link rel="icon" href="data:,">
  <title>Access token · sipdial</title>
  <style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}input,button{{font:inherit;padding:.4rem}}.error{{color:#a00}}</style>
</head>
<body>
  <main>
    <h1>SIP Interconnect</h1>
    <p>This demo is protected: enter the access token it was started with
    (<code>SIPDIAL_ACCESS_TOKEN</code>).</p>
    {note}
    <form method="get" action="{action}">
      <label for="access-token">Access token</label>
      <input id="access-token" name="{ACCESS_QUERY}" type="password" autocomplete="current-password" required>
      <button type="submit" id="access-submit">Continue</button>
    </form>
  </main>
</body>
</html>
"#,
            action = html_attr(&self.page),
        );
        Refusal {
            status: 401,
            headers: vec![
                ("content-type", "text/html; charset=utf-8".to_owned()),
                ("cache-control", "no-store".to_owned()),
                ("x-content-type-options", "nosniff".to_owned()),
                ("referrer-policy", "no-referrer".to_owned()),
                ("content-security-policy", FORM_CSP.to_owned()),
            ],
            body: Bytes::from(html),
        }
    }
}

/// `a == b` in time that depends only on the lengths.
fn equal(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// `Bearer <token>` (scheme case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// The value of [`ACCESS_COOKIE`] in a `Cookie` header.
fn access_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == ACCESS_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}

/// The token the form sent as `?access_token=`, percent-decoded (the token's own
/// alphabet needs no decoding; anything else just fails to match).
fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == ACCESS_QUERY)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// `host[:port]` / `[v6][:port]` → (host without brackets, port). `None` when malformed.
fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return None,
            None => (value, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((host, port))
}

/// An origin of `SIPDIAL_ALLOWED_ORIGINS` (`scheme://host[:port]`, checked at start-up)
/// as a host name.
fn origin_name(origin: &str) -> Option<Name> {
    let (default_port, rest) = if let Some(rest) = origin.strip_prefix("https://") {
        (443, rest)
    } else {
        (80, origin.strip_prefix("http://")?)
    };
    let (host, port) = split_host(rest)?;
    Some(Name {
        host: host.to_ascii_lowercase(),
        port: port.unwrap_or(default_port),
        default_port,
    })
}

/// Escapes text for a double-quoted HTML attribute.
fn html_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config_from;

    const TOKEN: &str = "tok-0123456789abcdef";

    fn gate(pairs: &[(&'static str, &str)], local: &str) -> Gate {
        Gate::new(&config_from(pairs, None).unwrap(), local.parse().unwrap())
    }

    fn host(gate: &Gate, host: &str) -> u16 {
        let req = Incoming {
            path: "/sip/targets",
            host: Some(host),
            ..Incoming::default()
        };
        gate.check(&req).err().map_or(200, |r| r.status())
    }

    #[test]
    fn only_the_demos_own_host_names_pass() {
        let g = gate(
            &[(
                "SIPDIAL_ALLOWED_ORIGINS",
                "https://demo.example.com, http://lan.example:8080",
            )],
            "127.0.0.1:3000",
        );
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST:3000",
            "demo.example.com",
            "demo.example.com:443",
            "lan.example:8080",
        ] {
            assert_eq!(host(&g, ok), 200, "{ok}");
        }
        for bad in [
            "attacker.example:3000",
            "localhost:3001",
            "localhost",
            "127.0.0.1",
            "demo.example.com:3000",
            "lan.example",
            "10.0.0.1:3000",
            "",
            "[::1]:3000",
            "127.0.0.1:3000:1",
        ] {
            assert_eq!(host(&g, bad), 421, "{bad}");
        }
        let none = g.check(&Incoming::default()).unwrap_err();
        assert_eq!(none.status(), 421);
        assert!(String::from_utf8_lossy(&none.body()).contains("misdirected_request"));
    }

    #[test]
    fn an_unspecified_bind_accepts_ip_literals_on_its_port() {
        let g = gate(&[], "0.0.0.0:8000");
        for ok in ["192.168.1.20:8000", "[fe80::1]:8000", "localhost:8000"] {
            assert_eq!(host(&g, ok), 200, "{ok}");
        }
        for bad in [
            "192.168.1.20:8001",
            "rebound.example:8000",
            "0.0.0.0.example:8000",
        ] {
            assert_eq!(host(&g, bad), 421, "{bad}");
        }
        assert_eq!(host(&gate(&[], "[::1]:80"), "[::1]"), 200);
    }

    fn ask(
        g: &Gate,
        path: &str,
        query: Option<&str>,
        auth: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<(), Refusal> {
        g.check(&Incoming {
            path,
            query,
            host: Some("localhost:3000"),
            authorization: auth,
            cookie,
        })
    }

    #[test]
    fn the_token_guards_everything_but_the_callbacks() {
        let g = gate(
            &[("SIPDIAL_ACCESS_TOKEN", TOKEN), ("SIPDIAL_MOUNT", "/app")],
            "127.0.0.1:3000",
        );
        let bearer = format!("Bearer {TOKEN}");
        let cookie = format!("theme=dark; {ACCESS_COOKIE}={TOKEN}");
        for path in ["/app/sip/targets", "/app/metrics", "/app/assets/app.js"] {
            let refused = ask(&g, path, None, None, None).unwrap_err();
            assert_eq!(refused.status(), 401, "{path}");
            assert!(
                String::from_utf8_lossy(&refused.body()).contains(r#""code":"unauthenticated""#)
            );
            assert!(ask(&g, path, None, Some(&bearer), None).is_ok());
            assert!(ask(&g, path, None, Some(&format!("bearer  {TOKEN} ")), None).is_ok());
            assert!(ask(&g, path, None, None, Some(&cookie)).is_ok());
            assert_eq!(
                ask(&g, path, None, Some("Bearer tok-0123456789abcdeX"), None)
                    .unwrap_err()
                    .status(),
                401
            );
            assert_eq!(
                ask(&g, path, None, None, Some("sipdial_access=tok"))
                    .unwrap_err()
                    .status(),
                401
            );
            // The query exchange is the page's only.
            let q = format!("access_token={TOKEN}");
            assert_eq!(
                ask(&g, path, Some(&q), None, None).unwrap_err().status(),
                401
            );
        }
        assert!(ask(&g, "/app/sip/callbacks", None, None, None).is_ok());
        // The root, outside the mount, is not the callback route.
        assert_eq!(
            ask(&g, "/sip/callbacks", None, None, None)
                .unwrap_err()
                .status(),
            401
        );
    }

    #[test]
    fn the_page_asks_once_then_sets_the_cookie() {
        let g = gate(
            &[("SIPDIAL_ACCESS_TOKEN", TOKEN), ("SIPDIAL_MOUNT", "/app")],
            "127.0.0.1:3000",
        );
        for page in ["/app/", "/app"] {
            let form = ask(&g, page, None, None, None).unwrap_err();
            assert_eq!(form.status(), 401);
            let html = String::from_utf8_lossy(&form.body()).into_owned();
            assert!(
                html.contains(r#"<form method="get" action="/app/">"#),
                "{html}"
            );
            assert!(html.contains(r#"name="access_token""#) && !html.contains("<script"));
            assert!(!html.contains(TOKEN));
            let wrong = ask(&g, page, Some("access_token=nope"), None, None).unwrap_err();
            assert_eq!(wrong.status(), 401);
            assert!(String::from_utf8_lossy(&wrong.body()).contains("access-error"));
        }
        let q = format!("x=1&access_token={}", TOKEN.replace('-', "%2D"));
        let exchanged = ask(&g, "/app/", Some(&q), None, None).unwrap_err();
        assert_eq!(exchanged.status(), 303);
        let header = |name| {
            exchanged
                .headers()
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("location"), Some("/app/"));
        assert_eq!(
            header("set-cookie").unwrap(),
            format!("{ACCESS_COOKIE}={TOKEN}; Path=/app/; HttpOnly; SameSite=Strict")
        );
        assert!(
            ask(
                &g,
                "/app/",
                None,
                None,
                Some(&format!("{ACCESS_COOKIE}={TOKEN}"))
            )
            .is_ok()
        );
    }

    #[test]
    fn without_a_token_only_the_host_is_checked() {
        let g = gate(&[], "127.0.0.1:3000");
        assert!(ask(&g, "/sip/dial", None, None, None).is_ok());
        assert!(ask(&g, "/", None, None, None).is_ok());
    }
}
