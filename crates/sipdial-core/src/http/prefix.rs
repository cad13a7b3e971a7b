//! The rule every path the API is served under follows (its own prefix, and the mount
//! path hosts read from their configuration), in one place.

use crate::policy::config_error::ApiConfigError;

/// Normalises a path prefix the way the builder checks the API's own prefix:
/// `/segment[/segment…]` of URL-safe characters, or empty (`""` or `"/"`) for the
/// root. Hosts that take a mount path from their configuration use it to refuse the
/// same paths at start-up.
pub fn normalize_path_prefix(prefix: &str) -> Result<String, ApiConfigError> {
    let p = prefix.strip_suffix('/').unwrap_or(prefix);
    if p.is_empty() {
        return Ok(String::new());
    }
    if !p.starts_with('/') {
        return Err(ApiConfigError::Prefix(
            "must be empty or start with '/' and name at least one segment",
        ));
    }
    if p.split('/')
        .skip(1)
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(ApiConfigError::Prefix(
            "must not contain empty, '.' or '..' segments",
        ));
    }
    if !p
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
    {
        return Err(ApiConfigError::Prefix(
            "may only contain ASCII letters, digits, '/', '-', '_', '.' and '~'",
        ));
    }
    Ok(p.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_or_refused() {
        assert_eq!(normalize_path_prefix("/sip/").unwrap(), "/sip");
        assert_eq!(normalize_path_prefix("/api/sip").unwrap(), "/api/sip");
        assert_eq!(normalize_path_prefix("").unwrap(), "");
        assert_eq!(normalize_path_prefix("/").unwrap(), "");
        for bad in ["sip", "//", "/a//b", "/a/../b", "/a b", "/a?x"] {
            assert!(normalize_path_prefix(bad).is_err(), "{bad}");
        }
    }
}
