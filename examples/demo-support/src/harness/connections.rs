//! The demos' connection bounds, checked over raw TCP against the binary: a client that
//! sends its request head one byte a second is cut at the header timeout, a kept-alive
//! connection that stays silent after its response is closed at the same timeout, and
//! connections beyond `SIPDIAL_MAX_CONNECTIONS` are not served until one closes.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::RunningDemo;

fn connect(demo: &RunningDemo) -> TcpStream {
    let addr = demo.url().trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&addr).expect("connect to the demo");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

fn host(demo: &RunningDemo) -> String {
    demo.url().trim_start_matches("http://").to_owned()
}

/// Reads one response whose body has a `Content-Length` (the demos' `GET /sip/targets`),
/// leaving the connection open; panics if none arrives within `within`.
fn read_response(stream: &mut TcpStream, within: Duration) -> String {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("a response in time");
        assert!(n > 0, "closed before a whole response: {got:?}");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .expect("a Content-Length");
            if body.len() >= length {
                return text.into_owned();
            }
        }
    }
}

fn get_targets(demo: &RunningDemo) -> Vec<u8> {
    format!(
        "GET /sip/targets HTTP/1.1\r\nHost: {}\r\nUser-Agent: slow\r\nAccept: */*\r\n\r\n",
        host(demo)
    )
    .into_bytes()
}

/// Whether the server has closed `stream`: a read sees the end (after any response it
/// sent first, such as actix's 408) or a reset.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(10)))
        .expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// With a 2 s header timeout: a client sending its head one byte a second (it would
/// need over 70 s) is cut within the timeout plus 2 s of slack, and so is a kept-alive
/// connection that says nothing after its first response. A whole request still works.
pub fn slow_header_client_is_cut(bin: &str) {
    let demo = RunningDemo::start(bin, &[("SIPDIAL_HEADER_TIMEOUT_SECS", "2")]);
    let head = get_targets(&demo);
    assert!(head.len() > 60);

    let mut slow = connect(&demo);
    let started = Instant::now();
    let mut sent = 0;
    let cut_after = loop {
        if closed_by_server(&mut slow) {
            break started.elapsed();
        }
        if sent < head.len() && slow.write_all(&head[sent..=sent]).is_err() {
            break started.elapsed();
        }
        sent += 1;
        // Below 4 s: the timeout is 2 s, and actix's own default (5 s) must not pass.
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "a client sending one header byte a second was still connected after {sent} bytes"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(sent < head.len(), "the whole head was sent before the cut");
    assert!(
        cut_after >= Duration::from_millis(1500),
        "cut too early ({cut_after:?}): the timeout is 2 s"
    );

    // A kept-alive connection that goes silent after its response.
    let mut idle = connect(&demo);
    idle.write_all(&head).expect("send");
    let answer = read_response(&mut idle, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let since = Instant::now();
    while !closed_by_server(&mut idle) {
        assert!(
            since.elapsed() < Duration::from_secs(4),
            "an idle kept-alive connection was still open after {:?}",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Whole requests are unaffected.
    let mut fine = connect(&demo);
    fine.write_all(&head).expect("send");
    let answer = read_response(&mut fine, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// With `SIPDIAL_MAX_CONNECTIONS=2`: two kept-alive connections are served, a third one's
/// request gets no answer while they stay open, and is answered once one of them closes.
pub fn connections_beyond_the_bound_wait(bin: &str) {
    let demo = RunningDemo::start(
        bin,
        &[
            ("SIPDIAL_MAX_CONNECTIONS", "2"),
            ("SIPDIAL_HEADER_TIMEOUT_SECS", "60"),
        ],
    );
    let head = get_targets(&demo);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = connect(&demo);
        c.write_all(&head).expect("send");
        let answer = read_response(&mut c, Duration::from_secs(5));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(c);
    }
    let mut third = connect(&demo);
    third.write_all(&head).expect("send");
    third
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    match third.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a connection beyond the bound was served at once: {other:?}"),
    }
    drop(held.pop());
    let answer = read_response(&mut third, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
