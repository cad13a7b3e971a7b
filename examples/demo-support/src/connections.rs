//! What a client's TCP connection may hold: both demos bound the time a connection may
//! take to send a request head (which is also how long it may sit idle between requests)
//! and how many connections are open at once. Without them one slow client holds a
//! connection, a task and a file descriptor for as long as it likes ("slowloris"), and
//! enough of them exhaust the process.

use std::time::Duration;

/// A request head must be complete within this long after the connection opened or
/// after its previous response: long enough for any real browser or proxy on a slow
/// link, short enough that a client dribbling header bytes is cut.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u32 = 10;

/// Connections served at once. Beyond it new connections wait in the listen backlog
/// (and, once that is full, the kernel refuses them) until one closes: the process never
/// holds more sockets than this plus the backlog. Each open event stream is one
/// connection, so this also caps the streams of browsers that do not share one.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

/// The connection bounds of a demo (`SIPDIAL_HEADER_TIMEOUT_SECS`,
/// `SIPDIAL_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub(crate) header_timeout: Duration,
    pub(crate) max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS.into()),
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

impl ConnectionLimits {
    /// How long a connection may take to send a request head, counted from when it
    /// opened or from its last response (the idle timeout of a kept-alive connection).
    pub fn header_timeout(&self) -> Duration {
        self.header_timeout
    }

    /// The most connections served at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Actix counts `max_connections` per worker thread: the workers to start (at most
    /// `available`, and no more than the bound so that each may hold one) and each one's
    /// share, so that all of them together never serve more than the bound.
    pub fn actix_workers(&self, available: usize) -> (usize, usize) {
        let workers = available.clamp(1, self.max_connections.max(1));
        (workers, self.max_connections / workers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_shares_never_add_up_to_more_than_the_bound() {
        for max in 1..40 {
            for available in 1..10 {
                let limits = ConnectionLimits {
                    max_connections: max,
                    ..ConnectionLimits::default()
                };
                let (workers, each) = limits.actix_workers(available);
                assert!(workers >= 1 && each >= 1, "{max} {available}");
                assert!(workers * each <= max, "{max} {available}");
                assert!(workers <= available);
            }
        }
    }
}
