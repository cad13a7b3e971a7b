//! The crate's one poison-tolerant lock: a panicking test thread must not take the
//! fake down with it, so a poisoned mutex is used as it is.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
