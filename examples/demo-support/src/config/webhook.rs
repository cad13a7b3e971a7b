//! The demo's status webhook (docs/call-lifecycle.md, "Status webhooks"): every call
//! change POSTed, signed, to `SIPDIAL_STATUS_WEBHOOK_URL`. Both variables or neither,
//! so a URL without its secret is not silently unsigned (or the other way round).

use sipdial_core::api::webhooks::{MIN_WEBHOOK_SECRET_LEN, StatusWebhook};

use super::parse::check_http_url;
use super::{Lookup, vars};
use crate::ConfigError;

/// The webhook, when both variables are set.
pub(crate) fn from_lookup(lookup: Lookup<'_>) -> Result<Option<StatusWebhook>, ConfigError> {
    let url = lookup(vars::STATUS_WEBHOOK_URL)?;
    let secret = lookup(vars::STATUS_WEBHOOK_SECRET)?;
    let (url, secret) = match (url, secret) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                vars::STATUS_WEBHOOK_SECRET,
                "must be set with SIPDIAL_STATUS_WEBHOOK_URL (the secret the webhooks are signed with)",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                vars::STATUS_WEBHOOK_URL,
                "must be set with SIPDIAL_STATUS_WEBHOOK_SECRET (where the webhooks go)",
            ));
        }
        (Some(url), Some(secret)) => (url, secret),
    };
    let url = check_http_url(vars::STATUS_WEBHOOK_URL, url.trim().to_owned(), false)?;
    let secret = secret.trim();
    if secret.chars().count() < MIN_WEBHOOK_SECRET_LEN {
        return Err(ConfigError::invalid(
            vars::STATUS_WEBHOOK_SECRET,
            format!("is too short (at least {MIN_WEBHOOK_SECRET_LEN} characters)"),
        ));
    }
    Ok(Some(StatusWebhook::new(url, secret)))
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config_from;
    use crate::config::vars::{STATUS_WEBHOOK_SECRET as SECRET, STATUS_WEBHOOK_URL as URL};

    #[test]
    fn both_variables_make_a_webhook_whose_secret_is_never_shown() {
        let c = config_from(
            &[
                (URL, " https://hooks.example.com/sip "),
                (SECRET, " webhook-TOPSECRET-0123 "),
            ],
            None,
        )
        .unwrap();
        let w = c.status_webhook.as_ref().unwrap();
        assert_eq!(w.url(), "https://hooks.example.com/sip");
        assert!(!format!("{c:?}").contains("TOPSECRET"));
        assert!(config_from(&[], None).unwrap().status_webhook.is_none());
    }

    #[test]
    fn half_a_webhook_a_short_secret_or_a_bad_url_is_refused() {
        let err = |pairs: &[(&'static str, &str)]| config_from(pairs, None).unwrap_err();
        assert_eq!(err(&[(URL, "https://h.example/")]).variable(), Some(SECRET));
        assert_eq!(err(&[(SECRET, "0123456789abcdef")]).variable(), Some(URL));
        let short = err(&[(URL, "https://h.example/"), (SECRET, "short-TOPSECRET")]);
        assert_eq!(short.variable(), Some(SECRET));
        assert!(!short.to_string().contains("TOPSECRET"), "{short}");
        let bad = err(&[(URL, "ftp://h.example/"), (SECRET, "0123456789abcdef")]);
        assert_eq!(bad.variable(), Some(URL));
    }
}
