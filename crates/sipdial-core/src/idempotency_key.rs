//! The `Idempotency-Key` a client sends with `POST /dial` (IETF draft "The
//! Idempotency-Key HTTP Header Field"): a retried dial with the same key answers the
//! first one's call instead of placing another.
//!
//! The key becomes part of a store key (a Redis key, an in-memory map key) and may be
//! logged, so its length and characters are bounded: UUIDs, ULIDs and the tokens
//! client libraries make all fit.

use crate::ValidationError;
use crate::macros::validated_string;

/// Longest idempotency key accepted. Stripe allows 255; 128 holds a UUID or a ULID with
/// room for a client's own prefix, and keeps the store keys short.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

fn check_key(value: &str) -> Result<(), ValidationError> {
    const WHAT: &str = "Idempotency-Key";
    if value.is_empty() {
        return Err(ValidationError::new(WHAT, "must not be empty"));
    }
    if value.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(ValidationError::new(
            WHAT,
            format!("must be at most {MAX_IDEMPOTENCY_KEY_LEN} characters"),
        ));
    }
    // No separator of our store keys (`|`, `:` is fine inside the last part), no space,
    // quote or control character: a key is an opaque token, never text to interpret.
    if !value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b'+' | b'/' | b'=')
    }) {
        return Err(ValidationError::new(
            WHAT,
            "may only contain ASCII letters, digits and - _ . ~ : + / =",
        ));
    }
    Ok(())
}

validated_string!(
    /// A validated idempotency key: 1 to [`MAX_IDEMPOTENCY_KEY_LEN`] of
    /// `A-Z a-z 0-9 - _ . ~ : + / =` (UUIDs, ULIDs, base64 tokens). The header's
    /// structured-field form, the key in double quotes, is accepted by
    /// [`IdempotencyKey::from_header`].
    IdempotencyKey,
    check_key
);

impl IdempotencyKey {
    /// The key of a header value: the draft's sf-string form (`"8e03978e-…"`) or the
    /// bare token most clients send.
    pub fn from_header(value: &str) -> Result<Self, ValidationError> {
        let bare = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Self::new(bare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_tokens() {
        for good in [
            "8e03978e-40d5-43e8-bc93-6894a57f9324",
            "01HZX3K8Q1",
            "a",
            "client:42/retry=1+x",
        ] {
            assert!(IdempotencyKey::new(good).is_ok(), "{good}");
        }
        let long = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1);
        for bad in ["", "a b", "a|b", "a\nb", "ä", "\"q\"", long.as_str()] {
            assert!(IdempotencyKey::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            IdempotencyKey::from_header("\"abc\"").unwrap().as_str(),
            "abc"
        );
        assert!(IdempotencyKey::from_header("\"\"").is_err());
    }
}
