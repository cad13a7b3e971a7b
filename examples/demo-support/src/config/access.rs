//! Who may use a demo, read at start-up: the access token and the refusals that keep a
//! real-mode demo from starting open to the network or to forged callbacks.

use std::net::IpAddr;

use secrecy::SecretString;

use super::{Lookup, parse_bool, vars};
use crate::ConfigError;

/// Shortest access token accepted: it is the only thing between the network and calls
/// that cost money.
pub const MIN_ACCESS_TOKEN_LEN: usize = 16;

/// What [`from_lookup`] decided.
pub(super) struct Access {
    pub(super) token: Option<SecretString>,
    pub(super) allow_unsigned_callbacks: bool,
}

/// Reads `SIPDIAL_ACCESS_TOKEN` and `SIPDIAL_ALLOW_UNSIGNED_CALLBACKS` and refuses the
/// two real-mode set-ups that leave the money open: listening beyond loopback with no
/// token, and accepting unsigned callbacks without saying so.
pub(super) fn from_lookup(
    lookup: Lookup<'_>,
    host: IpAddr,
    real: bool,
    signed_callbacks: bool,
) -> Result<Access, ConfigError> {
    let token = match lookup(vars::ACCESS_TOKEN)? {
        None => None,
        Some(token) => Some(check_token(token)?),
    };
    let allow_unsigned_callbacks = lookup(vars::ALLOW_UNSIGNED_CALLBACKS)?
        .map(|v| parse_bool(vars::ALLOW_UNSIGNED_CALLBACKS, &v))
        .transpose()?
        .unwrap_or(false);
    if real && token.is_none() && !host.is_loopback() {
        return Err(ConfigError::invalid(
            vars::ACCESS_TOKEN,
            "must be set in real mode when HOST is not a loopback address: anyone who \
             reaches the port could otherwise place calls on your account (e.g. \
             `SIPDIAL_ACCESS_TOKEN=$(openssl rand -hex 24)`)",
        ));
    }
    if real && !signed_callbacks && !allow_unsigned_callbacks {
        return Err(ConfigError::invalid(
            vars::CALLBACK_SECRET,
            "must be set in real mode: turn on signed callbacks in the project's dashboard \
             and set it to their signature secret (or set \
             SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1 to accept forgeable unsigned callbacks)",
        ));
    }
    Ok(Access {
        token,
        allow_unsigned_callbacks,
    })
}

/// The token travels in a header, a query string and a cookie, so it is limited to
/// characters all three carry verbatim (URL-unreserved).
fn check_token(token: String) -> Result<SecretString, ConfigError> {
    let token = token.trim();
    let alphabet_ok = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if token.len() < MIN_ACCESS_TOKEN_LEN || token.len() > 256 || !alphabet_ok {
        return Err(ConfigError::invalid(
            vars::ACCESS_TOKEN,
            format!(
                "must be {MIN_ACCESS_TOKEN_LEN} to 256 characters of A-Z a-z 0-9 - . _ ~ \
                 (e.g. `openssl rand -hex 24`)"
            ),
        ));
    }
    Ok(SecretString::from(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config_from;
    use sipdial_opentok::Credentials;

    fn creds() -> Option<Credentials> {
        Some(Credentials::project(
            "123456",
            "1234567890abcdef1234567890abcdef1234567890",
        ))
    }

    const SIGNED: (&str, &str) = ("SIPDIAL_CALLBACK_SECRET", "whsec-0123456789abcdef");
    const TOKEN: (&str, &str) = ("SIPDIAL_ACCESS_TOKEN", "tok-0123456789abcdef_X~.");

    #[test]
    fn real_mode_beyond_loopback_needs_the_token() {
        for host in ["0.0.0.0", "::", "10.1.2.3"] {
            let err = config_from(&[("HOST", host), SIGNED], creds()).unwrap_err();
            assert_eq!(err.variable(), Some("SIPDIAL_ACCESS_TOKEN"), "{host}");
            let ok = config_from(&[("HOST", host), SIGNED, TOKEN], creds()).unwrap();
            assert!(ok.requires_access_token());
        }
        for host in ["127.0.0.1", "::1", "localhost"] {
            assert!(
                config_from(&[("HOST", host), SIGNED], creds()).is_ok(),
                "{host}"
            );
        }
        // Demo mode stays open, even beyond loopback (it places no paid call).
        let open = config_from(&[("HOST", "0.0.0.0")], None).unwrap();
        assert!(!open.requires_access_token());
    }

    #[test]
    fn real_mode_needs_signed_callbacks_unless_told_otherwise() {
        let err = config_from(&[], creds()).unwrap_err();
        assert_eq!(err.variable(), Some("SIPDIAL_CALLBACK_SECRET"));
        assert!(err.to_string().contains("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS"));
        let c = config_from(&[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "1")], creds()).unwrap();
        assert!(c.allows_unsigned_callbacks() && !c.verifies_callbacks());
        let err = config_from(&[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "0")], creds()).unwrap_err();
        assert_eq!(err.variable(), Some("SIPDIAL_CALLBACK_SECRET"));
        let err =
            config_from(&[("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS", "sure")], creds()).unwrap_err();
        assert_eq!(err.variable(), Some("SIPDIAL_ALLOW_UNSIGNED_CALLBACKS"));
    }

    #[test]
    fn the_token_is_checked_and_never_shown() {
        for bad in [
            "short-TOPSECRET",
            "TOPSECRET with spaces",
            "TOPSECRET;0123456789",
            "TOPSECRET=0123456789",
        ] {
            let err = config_from(&[("SIPDIAL_ACCESS_TOKEN", bad)], None).unwrap_err();
            assert_eq!(err.variable(), Some("SIPDIAL_ACCESS_TOKEN"), "{bad}");
            assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        }
        let c = config_from(&[TOKEN], None).unwrap();
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }
}
