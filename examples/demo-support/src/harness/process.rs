//! Running a demo binary: start it on an ephemeral port and read its URL, wait for an
//! exit that should happen, stop it with SIGTERM, kill it when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{HttpReply, START_TIMEOUT, http_request};

/// A command for `bin` with a clean environment: demo mode unless `envs` adds
/// credentials, loopback, an ephemeral port.
pub fn demo_command(bin: &str, envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

pub(super) fn collect(reader: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
            t.push_str(&line);
            t.push('\n');
        }
    });
    text
}

/// A demo binary running in the background; killed when dropped.
#[derive(Debug)]
pub struct RunningDemo {
    child: Child,
    url: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl RunningDemo {
    /// Starts `bin` (from `env!("CARGO_BIN_EXE_...")`) and waits for its
    /// `listening on http://...` line. Panics with the demo's output when it exits or
    /// stays silent for [`START_TIMEOUT`].
    pub fn start(bin: &str, envs: &[(&str, &str)]) -> Self {
        let mut child = demo_command(bin, envs)
            .spawn()
            .expect("spawn the demo binary");
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        let stdout_pipe = child.stdout.take().expect("piped stdout");
        let stdout = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                {
                    let mut t = sink.lock().unwrap_or_else(|e| e.into_inner());
                    t.push_str(&line);
                    t.push('\n');
                }
                if let Some((_, url)) = line.split_once(" listening on ") {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    std::thread::sleep(Duration::from_millis(100));
                    panic!(
                        "{bin} exited ({status:?}) before printing its URL\nstderr:\n{}",
                        stderr.lock().unwrap_or_else(|e| e.into_inner())
                    );
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "{bin} printed no URL within {START_TIMEOUT:?}\nstderr:\n{}",
                    stderr.lock().unwrap_or_else(|e| e.into_inner())
                );
            }
        };
        Self {
            child,
            url,
            stdout,
            stderr,
        }
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything the demo wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Everything the demo logged to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until stderr contains `needle` (logs are written asynchronously to the
    /// stdout line), up to five seconds; returns whether it appeared.
    pub fn wait_for_stderr(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// One HTTP/1.1 request to the demo.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> HttpReply {
        http_request(&self.url, method, path, body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> HttpReply {
        self.request("GET", path, None)
    }

    /// Sends SIGTERM and waits (up to ten seconds) for the process to exit.
    pub fn terminate(mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status =
            wait_with_timeout(&mut self.child, Duration::from_secs(10)).unwrap_or_else(|| {
                panic!(
                    "the demo did not stop within 10 s of SIGTERM\nstderr:\n{}",
                    self.stderr()
                )
            });
        (status, started.elapsed())
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(super) fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// How a demo run that should fail ended.
#[derive(Debug)]
pub struct Exited {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

/// Runs `bin` with `envs` and waits (up to [`START_TIMEOUT`]) for it to exit by itself,
/// as it must on a configuration error. Panics if it starts serving instead.
pub fn run_to_exit(bin: &str, envs: &[(&str, &str)]) -> Exited {
    let mut child = demo_command(bin, envs)
        .spawn()
        .expect("spawn the demo binary");
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let status = match wait_with_timeout(&mut child, START_TIMEOUT) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{bin} kept running with {envs:?}\nstdout:\n{}",
                stdout.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
    };
    // The reader threads finish at EOF, right after the exit.
    std::thread::sleep(Duration::from_millis(100));
    let text = |t: &Arc<Mutex<String>>| t.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Exited {
        status,
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}
