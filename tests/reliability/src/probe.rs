//! Counting what could leak: Tokio tasks, TCP sockets to a port, file descriptors and
//! resident memory, read from the runtime and from Linux's `/proc`.
//!
//! Sockets are counted per remote port and only when this process holds a descriptor
//! for them: tests running in parallel each talk to their own fake platform, and sockets
//! the kernel keeps after a close (`TIME_WAIT`, orphaned `FIN_WAIT`) hold no descriptor
//! and are not leaks.

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// Tasks alive on the current Tokio runtime (spawned and not yet finished).
///
/// # Panics
/// Outside a Tokio runtime.
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// Resident set size of this process, in KiB.
pub fn rss_kib() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The socket inodes this process holds descriptors for.
fn own_socket_inodes() -> HashSet<u64> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return HashSet::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// TCP sockets this process has open to remote port `port` on any address: the
/// client side of its connections to a server on that port.
pub fn sockets_to(port: u16) -> usize {
    let own = own_socket_inodes();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    let remote_port = cols.get(2)?.rsplit(':').next()?;
                    let remote_port = u16::from_str_radix(remote_port, 16).ok()?;
                    let inode: u64 = cols.get(9)?.parse().ok()?;
                    Some((remote_port, inode))
                })
                .collect::<Vec<_>>()
        })
        .filter(|&(p, inode)| p == port && inode != 0 && own.contains(&inode))
        .count()
}

/// What [`settle`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Alive tasks of the current runtime.
    pub tasks: usize,
    /// Sockets to the watched port.
    pub sockets: usize,
}

/// Current task and socket counts for a server on `port`.
pub fn counts(port: u16) -> Counts {
    Counts {
        tasks: alive_tasks(),
        sockets: sockets_to(port),
    }
}

/// Waits (up to `within`) until the counts for `port` are at most `limit`; returns the
/// last counts seen, so a caller can assert and print them. Connection tasks end a
/// moment after their last response, hence the wait.
pub async fn settle(port: u16, limit: Counts, within: Duration) -> Counts {
    let until = Instant::now() + within;
    loop {
        let now = counts(port);
        if (now.tasks <= limit.tasks && now.sockets <= limit.sockets) || Instant::now() >= until {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` every 10 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A closed loopback port: bound, noted and released, so a connect is refused.
pub fn closed_port() -> std::io::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_socket_of_this_process_to_a_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(sockets_to(port), 0);
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_server_side, _) = listener.accept().unwrap();
        assert_eq!(sockets_to(port), 1, "only the client side counts");
        drop(client);
        assert_eq!(sockets_to(port), 0);
        assert!(open_fds() > 2);
        assert!(rss_kib() > 0);
    }
}
