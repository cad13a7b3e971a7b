//! Value parsers: each names its variable in the error and never echoes the value
//! (it may be a secret put in the wrong variable).

use std::net::{IpAddr, Ipv4Addr};

use super::vars;
use crate::ConfigError;

pub(super) fn parse_host(value: &str) -> Result<IpAddr, ConfigError> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value.parse::<IpAddr>().map_err(|_| {
        ConfigError::invalid(
            vars::HOST,
            "must be an IP address such as 127.0.0.1, 0.0.0.0 or ::1 (or `localhost`)",
        )
    })
}

pub(crate) fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::invalid(var, "must be true or false")),
    }
}

pub(super) fn parse_positive(var: &'static str, value: &str) -> Result<u32, ConfigError> {
    match value.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::invalid(
            var,
            "must be a whole number of at least 1",
        )),
    }
}

/// Accepts `http(s)://...` and, when `allow_path` is set, a same-origin absolute path
/// (`/static/opentok.min.js`) for hosts that self-host a script. Rejects anything that
/// could run or break out as markup (`javascript:`, quotes, angle brackets, spaces).
pub(super) fn check_http_url(
    var: &'static str,
    value: String,
    allow_path: bool,
) -> Result<String, ConfigError> {
    let lower = value.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    let path_ok = allow_path && value.starts_with('/') && !value.starts_with("//");
    if !(scheme_ok || path_ok) {
        let expected = if allow_path {
            "must be an http:// or https:// URL or an absolute path starting with /"
        } else {
            "must be an http:// or https:// URL"
        };
        return Err(ConfigError::invalid(var, expected));
    }
    if scheme_ok
        && value
            .split_once("://")
            .is_none_or(|(_, rest)| rest.is_empty() || rest.starts_with('/'))
    {
        return Err(ConfigError::invalid(var, "has no host"));
    }
    if value.len() > 2048
        || value.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\')
        })
    {
        return Err(ConfigError::invalid(
            var,
            "must be at most 2048 characters without spaces, quotes, backslashes or angle brackets",
        ));
    }
    Ok(value)
}

pub(super) fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let rest = item
            .strip_prefix("http://")
            .or_else(|| item.strip_prefix("https://"))
            .ok_or_else(|| {
                ConfigError::invalid(
                    vars::ALLOWED_ORIGINS,
                    "each origin must start with http:// or https://",
                )
            })?;
        let host_ok = !rest.is_empty()
            && rest.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        if !host_ok {
            return Err(ConfigError::invalid(
                vars::ALLOWED_ORIGINS,
                "each origin is scheme://host[:port], without a path",
            ));
        }
        out.push(item.to_owned());
    }
    if out.is_empty() {
        return Err(ConfigError::invalid(
            vars::ALLOWED_ORIGINS,
            "lists no origin (leave it unset to allow the page's own host)",
        ));
    }
    Ok(out)
}
