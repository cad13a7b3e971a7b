//! The binaries' checks' requests, sent with the conformance suite's HTTP/1.1 client.

use std::net::ToSocketAddrs;
use std::time::Duration;

use sipdial_core::testing::{Http1Client, TestBody, TestRequest};

/// A parsed HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl HttpReply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to the demo and waits at most 30 s for the whole answer.
///
/// `path` is below `base_url`'s own path, so the same checks run against a demo
/// mounted at `/app`.
pub fn http_request(base_url: &str, method: &str, path: &str, body: Option<&str>) -> HttpReply {
    http_request_with(base_url, method, path, &[], body)
}

/// [`http_request`] with extra request headers; a `Host` among them replaces the
/// URL's authority (the request still goes to the URL's address).
pub fn http_request_with(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpReply {
    let rest = base_url.strip_prefix("http://").expect("an http:// URL");
    let (authority, mount) = rest.split_once('/').unwrap_or((rest, ""));
    let mount = mount.trim_end_matches('/');
    let path = if mount.is_empty() {
        path.to_owned()
    } else {
        format!("/{mount}{path}")
    };
    let addr = authority
        .to_socket_addrs()
        .expect("the demo's address")
        .next()
        .expect("the demo's address");
    let method = http::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or(authority, |(_, v)| *v);
    let mut request = TestRequest::new(method, path).header(
        http::header::HOST,
        http::HeaderValue::from_str(host).expect("a valid Host header"),
    );
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("host") {
            request = request.header(
                http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                http::HeaderValue::from_str(value).expect("a header value"),
            );
        }
    }
    if let Some(b) = body {
        request = request
            .content_type("application/json")
            .body(TestBody::Full(b.to_owned().into()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let reply = runtime
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(30),
                Http1Client::new(addr).send(request),
            )
            .await
        })
        .expect("the demo answered within 30 s");
    HttpReply {
        status: reply.status.as_u16(),
        headers: reply
            .headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect(),
        body: reply.text(),
    }
}
