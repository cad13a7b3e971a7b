//! A minimal HTTP/1.1 client so a form can be tested over a real socket, where "the
//! client went away" means a closed TCP connection.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::sse::TestStream;
use super::{TestBody, TestRequest, TestResponse};

/// A minimal HTTP/1.1 client (one request per connection, `Connection: close`) for
/// forms served on a real socket: it sends a [`TestRequest`] as a browser would
/// (chunked bodies as `Transfer-Encoding: chunked`) and reads the answer whole
/// ([`Http1Client::send`]) or as a stream ([`Http1Client::open`]).
#[derive(Debug, Clone, Copy)]
pub struct Http1Client {
    addr: SocketAddr,
}

impl Http1Client {
    /// A client of the server at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    async fn start(&self, request: TestRequest) -> Result<Head, String> {
        let mut socket = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        let mut out = format!("{} {} HTTP/1.1\r\n", request.method, request.uri);
        if !request.headers.contains_key(http::header::HOST) {
            out.push_str(&format!("host: {}\r\n", self.addr));
        }
        out.push_str("connection: close\r\n");
        for (name, value) in &request.headers {
            out.push_str(&format!(
                "{name}: {}\r\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        match &request.body {
            TestBody::Empty => {}
            TestBody::Full(b) => bytes.extend_from_slice(b),
            TestBody::Chunked(chunks) => {
                for c in chunks.iter().filter(|c| !c.is_empty()) {
                    bytes.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                    bytes.extend_from_slice(c);
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(b"0\r\n\r\n");
            }
        }
        socket
            .write_all(&bytes)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut reader = BufReader::new(socket);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .await
            .map_err(|e| format!("read status: {e}"))?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut headers = HeaderMap::new();
        loop {
            line.clear();
            reader
                .read_line(&mut line)
                .await
                .map_err(|e| format!("read header: {e}"))?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l
                .split_once(':')
                .ok_or_else(|| format!("bad header line {l:?}"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_str(value.trim()).map_err(|e| e.to_string())?;
            headers.append(name, value);
        }
        let framing = if headers
            .get(http::header::TRANSFER_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"))
        {
            Framing::Chunked
        } else if let Some(len) = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
        {
            Framing::Length(len)
        } else if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            Framing::Length(0)
        } else {
            Framing::UntilClose
        };
        Ok(Head {
            status,
            headers,
            reader: BodyReader { reader, framing },
        })
    }

    /// Sends `request` and reads the whole answer. A failure is reported as status 599
    /// with the reason as body, so the case names it.
    pub async fn send(&self, request: TestRequest) -> TestResponse {
        let failed = |e: String| TestResponse {
            status: StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: Bytes::from(e),
        };
        let mut head = match self.start(request).await {
            Ok(h) => h,
            Err(e) => return failed(e),
        };
        let mut body = BytesMut::new();
        loop {
            match head.reader.next_chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => return failed(e),
            }
        }
        TestResponse {
            status: head.status,
            headers: head.headers,
            body: body.freeze(),
        }
    }

    /// Sends `request` and returns the answer as an open stream; dropping it closes the
    /// connection.
    pub async fn open(&self, request: TestRequest) -> TestStream {
        match self.start(request).await {
            Ok(head) => {
                let chunks = futures_util::stream::unfold(Some(head.reader), |r| async move {
                    let mut reader = r?;
                    match reader.next_chunk().await {
                        Ok(Some(c)) => Some((Ok(c), Some(reader))),
                        Ok(None) => None,
                        Err(e) => Some((Err(e), None)),
                    }
                });
                TestStream::new(head.status, head.headers, chunks)
            }
            Err(e) => TestStream::new(
                StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                HeaderMap::new(),
                futures_util::stream::iter([Err(e)]),
            ),
        }
    }
}

struct Head {
    status: StatusCode,
    headers: HeaderMap,
    reader: BodyReader,
}

enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

struct BodyReader {
    reader: BufReader<TcpStream>,
    framing: Framing,
}

impl BodyReader {
    fn next_chunk(&mut self) -> Pin<Box<dyn Future<Output = Result<Option<Bytes>, String>> + '_>> {
        Box::pin(async move {
            match &mut self.framing {
                Framing::Length(0) => Ok(None),
                Framing::Length(left) => {
                    let mut buf = vec![0; (*left).min(64 * 1024)];
                    let n = self
                        .reader
                        .read(&mut buf)
                        .await
                        .map_err(|e| e.to_string())?;
                    if n == 0 {
                        return Err("connection closed before the body ended".to_owned());
                    }
                    *left -= n;
                    buf.truncate(n);
                    Ok(Some(Bytes::from(buf)))
                }
                Framing::UntilClose => {
                    let mut buf = vec![0; 64 * 1024];
                    let n = self
                        .reader
                        .read(&mut buf)
                        .await
                        .map_err(|e| e.to_string())?;
                    buf.truncate(n);
                    Ok((n > 0).then(|| Bytes::from(buf)))
                }
                Framing::Chunked => {
                    let mut line = String::new();
                    let n = self
                        .reader
                        .read_line(&mut line)
                        .await
                        .map_err(|e| e.to_string())?;
                    if n == 0 {
                        return Err("connection closed inside a chunked body".to_owned());
                    }
                    let size = line.trim().split(';').next().unwrap_or("");
                    let size = usize::from_str_radix(size, 16)
                        .map_err(|_| format!("bad chunk size line {line:?}"))?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        loop {
                            line.clear();
                            let n = self
                                .reader
                                .read_line(&mut line)
                                .await
                                .map_err(|e| e.to_string())?;
                            if n == 0 || line.trim().is_empty() {
                                break;
                            }
                        }
                        self.framing = Framing::Length(0);
                        return Ok(None);
                    }
                    let mut buf = vec![0; size + 2];
                    self.reader
                        .read_exact(&mut buf)
                        .await
                        .map_err(|e| e.to_string())?;
                    buf.truncate(size);
                    Ok(Some(Bytes::from(buf)))
                }
            }
        })
    }
}
