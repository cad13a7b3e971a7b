//! The per-call rate of caller DTMF (`POST /calls/{id}/dtmf`): at most
//! [`DTMF_REQUESTS`] requests per [`DTMF_REQUEST_WINDOW`] and [`DTMF_DIGITS`] digits per
//! [`DTMF_DIGIT_WINDOW`]. A call to an IVR or a PBX with an outside line is a toll-fraud
//! route: whoever controls the call could otherwise key in a whole international
//! number sequence after sequence. Kept in this process's memory (bounded), so each
//! replica of a fleet counts its own requests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::CallId;
use crate::sync::lock;

/// Requests per call per [`DTMF_REQUEST_WINDOW`].
pub const DTMF_REQUESTS: usize = 5;
/// The window of [`DTMF_REQUESTS`].
pub const DTMF_REQUEST_WINDOW: Duration = Duration::from_secs(10);
/// Digits (pauses included) per call per [`DTMF_DIGIT_WINDOW`].
pub const DTMF_DIGITS: usize = 128;
/// The window of [`DTMF_DIGITS`].
pub const DTMF_DIGIT_WINDOW: Duration = Duration::from_secs(60);
/// Calls remembered at most; past it, calls idle for a whole digit window are forgotten
/// first, then the longest idle.
const CAPACITY: usize = 4096;

/// The requests of one call within the digit window: when, and how many digits.
#[derive(Debug, Default)]
struct Sent(VecDeque<(Instant, usize)>);

impl Sent {
    fn forget_before(&mut self, now: Instant) {
        while self
            .0
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= DTMF_DIGIT_WINDOW)
        {
            self.0.pop_front();
        }
    }

    fn last(&self) -> Option<Instant> {
        self.0.back().map(|(t, _)| *t)
    }

    /// How long until `digits` more fit, or `None` when they fit now.
    fn wait_for(&self, digits: usize, now: Instant) -> Option<Duration> {
        let recent: Vec<Instant> = self
            .0
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| now.saturating_duration_since(*t) < DTMF_REQUEST_WINDOW)
            .collect();
        if recent.len() >= DTMF_REQUESTS {
            let oldest = recent[recent.len() - DTMF_REQUESTS];
            return Some(DTMF_REQUEST_WINDOW.saturating_sub(now.saturating_duration_since(oldest)));
        }
        let total: usize = self.0.iter().map(|(_, n)| n).sum();
        if total + digits <= DTMF_DIGITS {
            return None;
        }
        // Wait until enough of the oldest digits leave the window.
        let mut freed = 0;
        for (t, n) in &self.0 {
            freed += n;
            if total - freed + digits <= DTMF_DIGITS {
                return Some(DTMF_DIGIT_WINDOW.saturating_sub(now.saturating_duration_since(*t)));
            }
        }
        Some(DTMF_DIGIT_WINDOW)
    }
}

/// The DTMF budget of every call this process played digits into.
#[derive(Debug, Default)]
pub(crate) struct DtmfRate {
    calls: Mutex<HashMap<CallId, Sent>>,
}

impl DtmfRate {
    /// Takes `digits` from `call`'s budget, or says how long to wait (nothing taken).
    pub(crate) fn take(&self, call: &CallId, digits: usize) -> Result<(), Duration> {
        self.take_at(call, digits, Instant::now())
    }

    fn take_at(&self, call: &CallId, digits: usize, now: Instant) -> Result<(), Duration> {
        let mut calls = lock(&self.calls);
        if calls.len() >= CAPACITY && !calls.contains_key(call) {
            calls.retain(|_, s| {
                s.last()
                    .is_some_and(|t| now.saturating_duration_since(t) < DTMF_DIGIT_WINDOW)
            });
            if calls.len() >= CAPACITY
                && let Some(idle) = calls
                    .iter()
                    .min_by_key(|(_, s)| s.last())
                    .map(|(id, _)| id.clone())
            {
                calls.remove(&idle);
            }
        }
        let sent = calls.entry(call.clone()).or_default();
        sent.forget_before(now);
        if let Some(wait) = sent.wait_for(digits, now) {
            return Err(wait.max(Duration::from_secs(1)));
        }
        sent.0.push_back((now, digits));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CallId {
        CallId::new(s).unwrap()
    }

    #[test]
    fn five_requests_per_ten_seconds_per_call() {
        let rate = DtmfRate::default();
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(
                rate.take_at(&id("a"), 1, t0 + Duration::from_secs(i))
                    .is_ok()
            );
        }
        let wait = rate
            .take_at(&id("a"), 1, t0 + Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(5));
        assert!(rate.take_at(&id("b"), 1, t0).is_ok(), "per call");
        assert!(
            rate.take_at(&id("a"), 1, t0 + Duration::from_secs(10))
                .is_ok()
        );
    }

    #[test]
    fn one_hundred_twenty_eight_digits_per_minute_per_call() {
        let rate = DtmfRate::default();
        let t0 = Instant::now();
        assert!(rate.take_at(&id("a"), 64, t0).is_ok());
        assert!(
            rate.take_at(&id("a"), 64, t0 + Duration::from_secs(11))
                .is_ok()
        );
        let wait = rate
            .take_at(&id("a"), 1, t0 + Duration::from_secs(22))
            .unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(38),
            "until the first 64 leave the minute"
        );
        assert!(
            rate.take_at(&id("a"), 1, t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn the_map_stays_bounded() {
        let rate = DtmfRate::default();
        let t0 = Instant::now();
        for i in 0..(CAPACITY + 10) {
            assert!(rate.take_at(&id(&format!("c{i}")), 1, t0).is_ok());
        }
        assert!(lock(&rate.calls).len() <= CAPACITY);
    }
}
