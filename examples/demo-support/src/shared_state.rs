//! Running the demo as a fleet: with `SIPDIAL_REDIS_URL` set, rooms, calls, limits and
//! live events live in that Redis (`sipdial-redis`), so several copies of the demo
//! behind one load balancer act as one server (`docs/scale-out.md`). Unset, everything
//! stays in this process's memory.

use sipdial_core::api::Backend;
use sipdial_redis::{RedisBackend, RedisOptions};

/// The Redis URL (`redis://127.0.0.1:6379/`); unset keeps the state in memory.
pub const REDIS_URL: &str = "SIPDIAL_REDIS_URL";
/// The key prefix in that Redis (default `sipdial:`), for several apps sharing one.
pub const REDIS_PREFIX: &str = "SIPDIAL_REDIS_PREFIX";

/// The shared backend the environment asks for: `Ok(None)` in memory, `Err` with a
/// message naming the variable when Redis is configured but cannot be used.
pub(crate) fn from_env() -> Result<Option<Backend>, String> {
    from_values(
        std::env::var(REDIS_URL).ok(),
        std::env::var(REDIS_PREFIX).ok(),
    )
}

/// [`from_env`] over the two variables' values.
fn from_values(url: Option<String>, prefix: Option<String>) -> Result<Option<Backend>, String> {
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let mut opts = RedisOptions::default();
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        opts.prefix = prefix;
    }
    let prefix = opts.prefix.clone();
    // The URL may hold a password: never print it.
    let backend = RedisBackend::connect_checked(url.trim(), opts)
        .map_err(|e| format!("{e} (check {REDIS_URL}, or unset it to keep state in memory)"))?;
    tracing::info!(
        prefix,
        "fleet mode: rooms, calls, limits and events are shared through Redis"
    );
    Ok(Some(backend.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_empty_keeps_the_state_in_memory() {
        assert!(from_values(None, None).unwrap().is_none());
        assert!(
            from_values(Some("  ".into()), Some("x:".into()))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_unreachable_redis_names_the_variable_and_hides_the_password() {
        let err = from_values(Some("redis://:pw-hunter2@127.0.0.1:1/".into()), None)
            .expect_err("port 1 does not answer");
        assert!(err.contains(REDIS_URL), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = from_values(Some("not a url".into()), None).expect_err("refused");
        assert!(err.contains(REDIS_URL), "{err}");
    }
}
