//! What the host configures: a webhook's URL and secret, and the retry policy.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// Fewest characters of a webhook secret: it keys an HMAC, so a short one can be
/// guessed offline from any captured delivery.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 16;

/// A status webhook `build()` refused (inside [`crate::api::ApiConfigError::Webhook`]).
/// `owner` is the target's name, or `default` for the builder's webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookConfigError {
    /// The URL is not an `http(s)://host…` URL.
    #[error("invalid status webhook URL of `{owner}`: {reason}")]
    Url {
        /// Whose webhook.
        owner: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The secret is shorter than [`MIN_WEBHOOK_SECRET_LEN`] characters.
    #[error("the status webhook secret of `{0}` must be at least 16 characters")]
    Secret(String),
    /// A webhook is configured but no transport to send it.
    #[error("a status webhook needs a webhook transport (SipDialApiBuilder::webhook_transport)")]
    NoTransport,
}

/// Where call changes are POSTed and the secret they are signed with (HS256, like the
/// platform's signed callbacks). Checked by `build()`: an `http(s)://` URL and a
/// secret of at least [`MIN_WEBHOOK_SECRET_LEN`] characters. `Debug` shows neither
/// the secret nor the URL's path and query (which may carry the receiver's token).
#[derive(Clone)]
pub struct StatusWebhook {
    pub(crate) url: String,
    pub(crate) secret: SecretString,
}

impl StatusWebhook {
    /// Changes go to `url`, signed with `secret`.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: SecretString::from(secret.into()),
        }
    }

    /// The URL deliveries go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL's host, for logs.
    pub(crate) fn host(&self) -> String {
        self.url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    }

    /// Checks the URL and the secret of the webhook of `owner` (a target, or `None`).
    pub(crate) fn validate(&self, owner: Option<&str>) -> Result<(), WebhookConfigError> {
        let owner = owner.unwrap_or("default").to_owned();
        let bad_url = |reason| WebhookConfigError::Url {
            owner: owner.clone(),
            reason,
        };
        let uri: http::Uri = self
            .url
            .parse()
            .map_err(|_| bad_url("not a valid absolute URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(bad_url("the scheme must be http or https"));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad_url("the URL names no host"));
        }
        if self.secret.expose_secret().chars().count() < MIN_WEBHOOK_SECRET_LEN {
            return Err(WebhookConfigError::Secret(owner));
        }
        Ok(())
    }
}

impl std::fmt::Debug for StatusWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWebhook")
            .field("host", &self.host())
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// How a delivery is retried: after a timeout, a connection error, a 5xx, 408 or
/// 429, waiting `first_backoff` and doubling up to `max_backoff` (each wait drawn
/// between 80 % and 160 % of that, so a fleet's retries do not arrive in lockstep), or
/// what the answer's `Retry-After` asks, up to `max_backoff`; `max_attempts` attempts
/// in all.
/// Any other answer ends the delivery: 2xx delivered, the rest refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookRetry {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt.
    pub first_backoff: Duration,
    /// Longest wait between two attempts before jitter, and the longest `Retry-After`
    /// honoured.
    pub max_backoff: Duration,
}

impl WebhookRetry {
    /// `max_attempts` attempts, waits from `first_backoff` doubling to `max_backoff`.
    pub fn new(max_attempts: u32, first_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            first_backoff,
            max_backoff: max_backoff.max(first_backoff),
        }
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

impl Default for WebhookRetry {
    /// 8 attempts, 1 s doubling to 60 s: about two minutes of waits in all, enough
    /// for a receiver's restart or deploy.
    fn default() -> Self {
        Self::new(8, Duration::from_secs(1), Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_secrets_are_checked() {
        let ok = StatusWebhook::new("https://hooks.example/sip?token=abc", "0123456789abcdef");
        assert!(ok.validate(None).is_ok());
        assert_eq!(ok.host(), "hooks.example");
        for url in [
            "hooks.example/x",
            "ftp://hooks.example/",
            "https://",
            "not a url",
        ] {
            let w = StatusWebhook::new(url, "0123456789abcdef");
            assert!(
                matches!(w.validate(Some("t")), Err(WebhookConfigError::Url { .. })),
                "{url}"
            );
        }
        let short = StatusWebhook::new("http://127.0.0.1:9/", "0123456789abcde");
        assert_eq!(
            short.validate(Some("pbx")),
            Err(WebhookConfigError::Secret("pbx".to_owned()))
        );
    }

    #[test]
    fn debug_hides_the_secret_and_the_path() {
        let w = StatusWebhook::new(
            "https://u:p@hooks.example/sip?token=abc",
            "super-secret-0123456789",
        );
        let shown = format!("{w:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(
            !shown.contains("token") && !shown.contains("u:p"),
            "{shown}"
        );
        assert!(shown.contains("hooks.example"), "{shown}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = WebhookRetry::new(5, Duration::from_millis(100), Duration::from_millis(350));
        let waits: Vec<_> = (1..=4).map(|a| r.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 350, 350]);
    }
}
