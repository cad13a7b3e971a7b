//! DTMF digits played into a call.

use crate::ValidationError;
use crate::macros::validated_string;

/// Most digits in one play request. The platform documents no limit; each `p` is a
/// 500 ms pause, so this bounds one request to under a minute of tones.
pub const MAX_DTMF_LEN: usize = 64;

fn check_dtmf(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new("DTMF digits", "must not be empty"));
    }
    if value.len() > MAX_DTMF_LEN {
        return Err(ValidationError::new(
            "DTMF digits",
            format!("at most {MAX_DTMF_LEN} digits"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b'p'))
    {
        return Err(ValidationError::new(
            "DTMF digits",
            "may only contain 0-9, '*', '#' and 'p' (a 500 ms pause)",
        ));
    }
    Ok(())
}

validated_string!(
    /// DTMF digits (`^[0-9*#p]+$`, at most [`MAX_DTMF_LEN`]), sent by the platform as
    /// RFC 4733 events.
    Dtmf,
    check_dtmf
);

/// The name the call policies use for [`Dtmf`] (digits sent when a call is answered,
/// `SipTarget::dtmf_after_answer`): the same type, validated the same way.
pub type DtmfDigits = Dtmf;
