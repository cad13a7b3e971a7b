//! The one error of every backend port: each plugin (store, limits, event log,
//! timers, outbox...) fails with it, so it sits below them all.

/// A store that could not answer. Its message goes to logs only; callers get a generic
/// 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("call store error: {message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// An error saying `message` (no secrets: it is logged).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}
