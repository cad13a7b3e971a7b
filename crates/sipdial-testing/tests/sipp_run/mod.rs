//! Running SIPp as the far end: one UAS scenario per run, on a free loopback port, with
//! a call count (`-m 1`) and a global timeout, stopped by its PID when dropped.
//!
//! Without `sipp` on the PATH the SIPp tests print a loud SKIPPED, and fail under
//! `CI=true` (`.ci/run` installs Debian's `sip-tester`).
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// UDP or TCP, as SIPp's `-t` and the dialed URI's `;transport=` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub const BOTH: [Transport; 2] = [Transport::Udp, Transport::Tcp];

    fn sipp_flag(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }
}

/// Whether SIPp can run here; prints SKIPPED (or panics under CI) when it cannot.
pub fn available(test: &str) -> bool {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sipp is not installed but CI=true: install Debian's sip-tester"
        );
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED {test}: `sipp` not found (apt-get install sip-tester)\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    ok
}

/// A port free on loopback for both UDP and TCP (SIPp binds the one its transport uses).
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// One SIPp UAS process.
pub struct Sipp {
    child: Child,
    pub port: u16,
    pub transport: Transport,
    log: PathBuf,
    errors: PathBuf,
}

impl Sipp {
    /// Starts `scenario` (a file in tests/sipp/) as a UAS for one call.
    pub async fn uas(scenario_file: &str, transport: Transport) -> Sipp {
        let port = free_port();
        let media = free_port();
        let dir = std::env::temp_dir();
        let stem = format!("sipdial-sipp-{}-{port}", std::process::id());
        let log = dir.join(format!("{stem}.out"));
        let errors = dir.join(format!("{stem}.errors"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(scenario(scenario_file))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mp", &media.to_string()])
            .args(["-t", transport.sipp_flag()])
            .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin"])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(&errors)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sipp");
        let sipp = Sipp {
            child,
            port,
            transport,
            log,
            errors,
        };
        sipp.wait_listening().await;
        sipp
    }

    /// Waits until SIPp has bound its port (it is then taken for us).
    async fn wait_listening(&self) {
        for _ in 0..100 {
            let taken = match self.transport {
                Transport::Udp => UdpSocket::bind(("127.0.0.1", self.port)).is_err(),
                Transport::Tcp => TcpListener::bind(("127.0.0.1", self.port)).is_err(),
            };
            if taken {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("sipp did not bind 127.0.0.1:{}", self.port);
    }

    /// The URI that reaches the scenario as `user`.
    pub fn uri(&self, user: &str) -> String {
        match self.transport {
            Transport::Udp => format!("sip:{user}@127.0.0.1:{}", self.port),
            Transport::Tcp => format!("sip:{user}@127.0.0.1:{};transport=tcp", self.port),
        }
    }

    /// Waits for SIPp to finish its one call; panics with its error log unless it
    /// exits 0 (every call successful).
    pub async fn expect_success(mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "sipp still running; {}",
                self.diagnostics()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            status.success(),
            "sipp exited with {status}; {}",
            self.diagnostics()
        );
    }

    fn diagnostics(&self) -> String {
        let errors = std::fs::read_to_string(&self.errors).unwrap_or_default();
        let screen = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = screen
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        format!("errors:\n{errors}\nscreen (tail):\n{tail}")
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        // Stopped by its own PID, never by name.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(&self.errors);
    }
}
