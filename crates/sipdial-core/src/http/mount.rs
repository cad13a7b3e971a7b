//! Where the host mounted the API: the part of the request path in front of the API's
//! own prefix, which the host's router consumed before the request reached us.
//!
//! Framework adapters learn it from their router (axum's original URI, actix's match
//! info) and hand it over as a request extension; the core then answers below
//! `{mount}{prefix}` and writes every URL it emits (`Location`, the served OpenAPI
//! document's server) with the mount in front, so a client following them stays
//! inside the host's path. Without the extension the mount is empty: the bare Tower
//! service and layer see the whole path.

use std::sync::Arc;

/// The host's mount path as a request extension: `""` at the root, `/api`, `/v1/api`,
/// `/t/acme`, never with a trailing `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MountPath(Arc<str>);

impl MountPath {
    /// A mount at `path`; a trailing `/` is dropped, so `/` is the root.
    pub fn new(path: &str) -> Self {
        Self(Arc::from(path.trim_end_matches('/')))
    }

    /// The mount implied by a router that stripped it: `original` is the path the
    /// client sent, `seen` what the router passed on (e.g. `/api/sip/dial` and
    /// `/sip/dial` give `/api`). A `seen` that is not a suffix of `original` (a router
    /// that rewrote the path) gives the root, the only mount we can vouch for.
    pub fn from_stripped(original: &str, seen: &str) -> Self {
        if let Some(mount) = original.strip_suffix(seen) {
            return Self::new(mount);
        }
        // A request for the mount itself (`/api`) reaches the nested router as `/`.
        if seen == "/" {
            return Self::new(original);
        }
        Self::default()
    }

    /// The path, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::MountPath;

    #[test]
    fn the_mount_is_what_the_router_stripped() {
        assert_eq!(
            MountPath::from_stripped("/api/sip/dial", "/sip/dial").as_str(),
            "/api"
        );
        assert_eq!(
            MountPath::from_stripped("/v1/api/sip", "/sip").as_str(),
            "/v1/api"
        );
        assert_eq!(
            MountPath::from_stripped("/sip/dial", "/sip/dial").as_str(),
            ""
        );
        assert_eq!(MountPath::from_stripped("/api", "/").as_str(), "/api");
        assert_eq!(MountPath::from_stripped("/api/", "/").as_str(), "/api");
        assert_eq!(MountPath::from_stripped("/a/b", "/c").as_str(), "");
        assert_eq!(MountPath::new("/").as_str(), "");
    }
}
