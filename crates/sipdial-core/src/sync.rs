//! The one way this crate takes a lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, carrying on after a panic elsewhere poisoned it: every value guarded in
/// this crate is left consistent between statements (maps and counters updated in one
/// step), so refusing all later requests would turn one bug into an outage.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
