//! The crate's one wall clock: JWT `iat`/`exp`, token create and expire times and the
//! legacy token's fields all read the same seconds, so they cannot disagree.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; a clock set before 1970 reads 0 rather than panicking.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
