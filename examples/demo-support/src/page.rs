//! The sample page: one copy in `examples/assets/`, compiled into every demo binary, with
//! its start-up configuration injected once at start.
//!
//! The configuration travels as JSON inside `<script type="application/json">`, read by
//! `app.js` with `JSON.parse`. Inside a script element the only danger is text that ends
//! the element (`</script>`) or opens a comment (`<!--`), so `<`, `>` and `&` are written
//! as JSON `\u` escapes, which parse back to the same string. U+2028/U+2029 are escaped
//! too, for older JavaScript engines.

use bytes::Bytes;

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const STYLE_CSS: &str = include_str!("../../assets/style.css");

const CONFIG_SLOT: &str = "{{SIPDIAL_CONFIG}}";
const BANNER_SLOT: &str = "{{SIPDIAL_BANNER}}";

/// Shown at the top of the page in demo mode. Static text: nothing from the request or
/// the environment goes into it.
pub const DEMO_BANNER: &str = r#"<p class="demo-banner" id="demo-banner" role="note"><strong>Demo mode.</strong> No Vonage Video credentials are set, so calls go to a local stand-in for the platform, which dials a SIP endpoint bundled in this app over loopback: no real phone is called and there is no video. To use the real cloud, set <code>OPENTOK_API_KEY</code> and <code>OPENTOK_API_SECRET</code> (or <code>VONAGE_APPLICATION_ID</code> and <code>VONAGE_PRIVATE_KEY_PATH</code>) and <code>SIP_URI</code>, then restart.</p>"#;

/// How often the page refreshes its call list, in milliseconds.
pub const POLL_INTERVAL_MS: u64 = 2000;

/// What the page is told at load.
#[derive(Debug, Clone)]
pub struct PageConfig<'a> {
    /// Where the API is, relative to the page (`sip`; `.` for an API at the page's
    /// own path): the page resolves it against its own URL, so it finds the API
    /// wherever the host mounted both.
    pub api_path: &'a str,
    /// Demo mode: show the banner, do not try to connect video.
    pub demo: bool,
    /// Where to load OpenTok.js from.
    pub opentok_js_url: &'a str,
    /// Name of the serving app, shown in the footer.
    pub served_by: &'a str,
}

/// The HTML page with `config` injected.
pub fn render(config: &PageConfig<'_>) -> String {
    let json = serde_json::json!({
        "apiPath": config.api_path,
        "demo": config.demo,
        "opentokJsUrl": config.opentok_js_url,
        "servedBy": config.served_by,
        "pollIntervalMs": POLL_INTERVAL_MS,
    })
    .to_string();
    let banner = if config.demo { DEMO_BANNER } else { "" };
    // One pass over the template, so text inside the injected JSON can never be taken
    // for the next slot.
    let (head, rest) = INDEX_HTML
        .split_once(CONFIG_SLOT)
        .expect("index.html has the config slot");
    let (middle, tail) = rest
        .split_once(BANNER_SLOT)
        .expect("index.html has the banner slot after the config slot");
    let mut out = String::with_capacity(INDEX_HTML.len() + json.len() + banner.len());
    out.push_str(head);
    out.push_str(&escape_for_script(&json));
    out.push_str(middle);
    out.push_str(banner);
    out.push_str(tail);
    out
}

/// The API's prefix as a path relative to the page, which is served at the root of the
/// same mount (`/sip` → `sip`, `""` → `.`).
pub(crate) fn relative_api_path(prefix: &str) -> String {
    match prefix.trim_start_matches('/') {
        "" => ".".to_owned(),
        rest => rest.to_owned(),
    }
}

/// Makes JSON text safe to place inside a `<script>` element.
pub(crate) fn escape_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// One file the demo serves besides the API, with the headers it is served with.
#[derive(Debug, Clone)]
pub struct Asset {
    path: &'static str,
    content_type: &'static str,
    cache_control: &'static str,
    body: Bytes,
    /// From [`content_security_policy`].
    csp: std::sync::Arc<str>,
}

impl Asset {
    /// The request path (`/`, `/assets/app.js`, ...).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The response body (cheap to clone).
    pub fn body(&self) -> Bytes {
        self.body.clone()
    }

    /// Every response header, names in lowercase. The page is rendered from the start-up
    /// configuration, so it is never cached across restarts; the Content-Security-Policy
    /// is [`content_security_policy`].
    pub fn headers(&self) -> [(&'static str, &str); 5] {
        [
            ("content-type", self.content_type),
            ("cache-control", self.cache_control),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("content-security-policy", &self.csp),
        ]
    }
}

/// The page's Content-Security-Policy: scripts only from the demo itself (`app.js`; the
/// start-up configuration is JSON in a `type="application/json"` element, which is never
/// run) and from the origin of `opentok_js_url`, so injected markup cannot run a script;
/// no plugins, no `<base>` hijack, and `frame-ancestors 'none'` keeps another site from
/// framing the Start SIP Call button (clickjacking). Media, connections and images stay
/// open: OpenTok.js reaches the platform's media servers, whose names vary.
pub fn content_security_policy(opentok_js_url: &str) -> String {
    let mut scripts = "'self'".to_owned();
    if let Some(origin) = url_origin(opentok_js_url) {
        scripts.push(' ');
        scripts.push_str(&origin);
    }
    format!("script-src {scripts}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
}

/// `scheme://host[:port]` of an absolute http(s) URL (lowercase scheme and host); `None`
/// for a same-origin path.
fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (!authority.is_empty()).then(|| {
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        )
    })
}

/// The page and its two static files, each served with `csp`.
pub(crate) fn assets(page_html: String, csp: String) -> Vec<Asset> {
    let csp: std::sync::Arc<str> = csp.into();
    vec![
        Asset {
            path: "/",
            content_type: "text/html; charset=utf-8",
            cache_control: "no-store",
            body: Bytes::from(page_html),
            csp: csp.clone(),
        },
        Asset {
            path: "/assets/app.js",
            content_type: "text/javascript; charset=utf-8",
            cache_control: "no-cache",
            body: Bytes::from_static(APP_JS.as_bytes()),
            csp: csp.clone(),
        },
        Asset {
            path: "/assets/style.css",
            content_type: "text/css; charset=utf-8",
            cache_control: "no-cache",
            body: Bytes::from_static(STYLE_CSS.as_bytes()),
            csp,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_json(html: &str) -> serde_json::Value {
        let start = html.find(r#"type="application/json">"#).unwrap() + 24;
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    fn page(demo: bool, served_by: &str) -> String {
        render(&PageConfig {
            api_path: "sip",
            demo,
            opentok_js_url: "https://static.opentok.com/v2/js/opentok.min.js",
            served_by,
        })
    }

    #[test]
    fn demo_page_has_banner_and_config() {
        let html = page(true, "axum-demo");
        assert!(html.contains(r#"id="demo-banner""#));
        assert!(!html.contains("{{"), "every slot is filled");
        let cfg = config_json(&html);
        assert_eq!(cfg["demo"], true);
        assert_eq!(cfg["apiPath"], "sip");
        assert_eq!(relative_api_path("/sip"), "sip");
        assert_eq!(relative_api_path("/a/b"), "a/b");
        assert_eq!(relative_api_path(""), ".");
        assert_eq!(cfg["servedBy"], "axum-demo");
        assert_eq!(
            cfg["opentokJsUrl"],
            "https://static.opentok.com/v2/js/opentok.min.js"
        );
    }

    #[test]
    fn real_page_has_no_banner() {
        let html = page(false, "actix-demo");
        assert!(!html.contains("demo-banner\""));
        assert_eq!(config_json(&html)["demo"], false);
    }

    #[test]
    fn injected_text_cannot_close_the_script_or_fill_a_slot() {
        let evil = "</script><script>alert(1)</script><!-- {{SIPDIAL_BANNER}} & \u{2028}";
        let html = page(false, evil);
        assert_eq!(
            html.matches("</script>").count(),
            INDEX_HTML.matches("</script>").count()
        );
        assert!(!html.contains("<!-- {{"));
        assert!(!html.contains(r#"id="demo-banner""#));
        assert_eq!(
            config_json(&html)["servedBy"],
            evil,
            "the value round-trips exactly"
        );
    }

    #[test]
    fn the_page_keeps_the_original_layout() {
        let html = page(true, "x");
        for heading in [
            "Your Publisher",
            "Start SIP Call",
            "End SIP Calls",
            "WebRTC Streams",
            "SIP Streams",
        ] {
            assert!(html.contains(heading), "{heading}");
        }
        assert!(html.contains(r#"role="alert""#));
        assert!(html.contains(r#"<label for="target">"#));
    }

    #[test]
    fn assets_have_types_and_headers() {
        let list = assets(page(true, "x"), "script-src 'self'".into());
        let paths: Vec<_> = list.iter().map(Asset::path).collect();
        assert_eq!(paths, ["/", "/assets/app.js", "/assets/style.css"]);
        assert!(list[1].body().starts_with(b"// The SIP Interconnect"));
        assert_eq!(list[2].content_type(), "text/css; charset=utf-8");
        assert!(list[0].headers().contains(&("cache-control", "no-store")));
        assert!(!APP_JS.contains("jQuery") && !APP_JS.contains("$.ajax"));
        assert!(list.iter().all(|a| {
            a.headers()
                .contains(&("content-security-policy", "script-src 'self'"))
        }));
    }

    #[test]
    fn scripts_come_only_from_the_page_and_the_opentok_js_origin() {
        assert_eq!(
            content_security_policy("https://static.opentok.com/v2/js/opentok.min.js"),
            "script-src 'self' https://static.opentok.com; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'"
        );
        assert_eq!(
            content_security_policy("HTTP://CDN.Example:8443/ot.js?v=2"),
            "script-src 'self' http://cdn.example:8443; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'"
        );
        assert!(
            content_security_policy("/static/opentok.min.js").starts_with("script-src 'self';")
        );
        // The page runs no inline script: its one <script> without src is inert JSON.
        let html = page(true, "x");
        let inline = html
            .match_indices("<script")
            .filter(|(at, _)| !html[*at..].split('>').next().unwrap_or("").contains("src="))
            .count();
        assert_eq!(inline, 1, "only the JSON configuration");
        assert!(html.contains(r#"<script id="sipdial-config" type="application/json">"#));
    }
}
