//! The route table: the one list of what the API serves. Routing, the 404/405 answers
//! and the OpenAPI document are all derived from it, so they cannot drift apart.

use http::{HeaderValue, Method};

use crate::http::ApiError;

/// Which handler a route goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RouteId {
    CreateSession,
    ListTargets,
    IssueToken,
    Dial,
    ListCalls,
    GetCall,
    HangUp,
    HangUpAction,
    PlayDtmf,
    Mute,
    Callbacks,
    Events,
    OpenApi,
}

/// One route: method, path template below the prefix, and what it may answer.
#[derive(Debug)]
pub(crate) struct RouteSpec {
    pub(crate) id: RouteId,
    pub(crate) method: &'static str,
    /// Below the prefix; `{id}` matches one path segment.
    pub(crate) path: &'static str,
    pub(crate) operation_id: &'static str,
    pub(crate) summary: &'static str,
    /// The success status.
    pub(crate) success: u16,
    /// Error statuses the handler can produce (route-level 404/405 aside).
    pub(crate) errors: &'static [u16],
    /// Whether the handler calls the dialer (and so can answer its errors).
    pub(crate) calls_dialer: bool,
}

impl RouteSpec {
    /// Whether the route changes state, and therefore needs the origin check and a
    /// JSON body check.
    pub(crate) fn is_state_changing(&self) -> bool {
        self.method != "GET"
    }

    /// Whether the origin check applies: state-changing routes a browser may call.
    /// Platform callbacks are server-to-server (no page can forge a useful one
    /// through a visitor's browser: they are JSON, which a cross-site form cannot
    /// send) and carry their own signature.
    pub(crate) fn checks_origin(&self) -> bool {
        self.is_state_changing() && self.id != RouteId::Callbacks
    }
}

/// What any call into the dialer can answer (see `ApiError: From<DialError>`).
const DIALER_ERRORS: &[u16] = &[400, 404, 409, 429, 502, 504];

/// The whole API.
pub(crate) static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        id: RouteId::CreateSession,
        method: "POST",
        path: "/session",
        operation_id: "createSession",
        summary: "Get or create the routed session of a room",
        success: 200,
        errors: &[400, 403, 413, 415, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::ListTargets,
        method: "GET",
        path: "/targets",
        operation_id: "listTargets",
        summary: "The SIP targets the host configured, by name and label",
        success: 200,
        errors: &[403],
        calls_dialer: false,
    },
    RouteSpec {
        id: RouteId::IssueToken,
        method: "POST",
        path: "/token",
        operation_id: "issueToken",
        summary: "A client token for a session this server created",
        success: 200,
        errors: &[400, 403, 404, 413, 415, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::Dial,
        method: "POST",
        path: "/dial",
        operation_id: "dial",
        summary: "Dial a configured SIP target into a session",
        success: 201,
        errors: &[400, 403, 404, 409, 413, 415, 422, 429, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::ListCalls,
        method: "GET",
        path: "/calls",
        operation_id: "listCalls",
        summary: "A session's calls (active ones unless all=true)",
        success: 200,
        errors: &[400, 403, 404, 500, 503],
        calls_dialer: false,
    },
    RouteSpec {
        id: RouteId::GetCall,
        method: "GET",
        path: "/calls/{id}",
        operation_id: "getCall",
        summary: "One call",
        success: 200,
        errors: &[403, 404, 500, 503],
        calls_dialer: false,
    },
    RouteSpec {
        id: RouteId::HangUp,
        method: "DELETE",
        path: "/calls/{id}",
        operation_id: "hangUp",
        summary: "Deprecated alias of POST /calls/{id}/hangup: hangs up, and the call stays readable as ended",
        success: 204,
        errors: &[403, 404, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::HangUpAction,
        method: "POST",
        path: "/calls/{id}/hangup",
        operation_id: "hangUpCall",
        summary: "Hang up a call; its record stays readable as ended (idempotent: an ended call answers 204 too)",
        success: 204,
        errors: &[400, 403, 404, 413, 415, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::PlayDtmf,
        method: "POST",
        path: "/calls/{id}/dtmf",
        operation_id: "playDtmf",
        summary: "Play DTMF digits into a call",
        success: 204,
        errors: &[400, 403, 404, 409, 413, 415, 429, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::Mute,
        method: "POST",
        path: "/calls/{id}/mute",
        operation_id: "muteCall",
        summary: "Force-mute a call's SIP stream in the session",
        success: 204,
        errors: &[400, 403, 404, 409, 413, 415, 500, 503],
        calls_dialer: true,
    },
    RouteSpec {
        id: RouteId::Callbacks,
        method: "POST",
        path: "/callbacks",
        operation_id: "receiveCallback",
        summary: "Receive a platform callback (SIP call and session monitoring events)",
        success: 200,
        errors: &[400, 401, 403, 413, 415, 500, 503],
        calls_dialer: false,
    },
    RouteSpec {
        id: RouteId::Events,
        method: "GET",
        path: "/events",
        operation_id: "watchEvents",
        summary: "Server-Sent Events of a session's call changes",
        success: 200,
        errors: &[400, 403, 404, 429, 500, 503],
        calls_dialer: false,
    },
    RouteSpec {
        id: RouteId::OpenApi,
        method: "GET",
        path: "/openapi.json",
        operation_id: "getOpenApi",
        summary: "This document, its server URL being where the client reached the API",
        success: 200,
        errors: &[],
        calls_dialer: false,
    },
];

/// A matched route and its path parameter.
#[derive(Debug)]
pub(crate) struct Matched<'a> {
    pub(crate) spec: &'static RouteSpec,
    pub(crate) param: Option<&'a str>,
}

fn path_matches<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let mut param = None;
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(param),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() {
                    return None;
                }
                param = Some(ps);
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// Finds the route for `method` on `path` (below the prefix): 404 when no route has
/// the path, 405 with `Allow` when routes have it with other methods.
pub(crate) fn match_route<'a>(method: &Method, path: &'a str) -> Result<Matched<'a>, ApiError> {
    // Most requests name a route without a parameter: one string compare per route
    // finds it, before the segment-by-segment walk that parameters and 405s need.
    if let Some(spec) = ROUTES
        .iter()
        .find(|s| s.method == method.as_str() && !s.path.contains('{') && s.path == path)
    {
        return Ok(Matched { spec, param: None });
    }
    let mut allowed: Vec<&'static str> = Vec::new();
    for spec in ROUTES {
        if let Some(param) = path_matches(spec.path, path) {
            if spec.method == method.as_str() {
                return Ok(Matched { spec, param });
            }
            allowed.push(spec.method);
        }
    }
    if allowed.is_empty() {
        return Err(ApiError::no_route());
    }
    let allow = HeaderValue::from_str(&allowed.join(", ")).unwrap_or(HeaderValue::from_static(""));
    Err(ApiError::method_not_allowed(allow))
}

/// Every status `spec` can answer, sorted (route-level 404/405 aside).
pub(crate) fn statuses(spec: &RouteSpec) -> Vec<u16> {
    let dialer = if spec.calls_dialer {
        DIALER_ERRORS
    } else {
        &[]
    };
    let mut all: Vec<u16> = std::iter::once(spec.success)
        .chain(spec.errors.iter().copied())
        .chain(dialer.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_and_extracts_the_id() {
        let m = match_route(&Method::DELETE, "/calls/abc").unwrap();
        assert_eq!(m.spec.id, RouteId::HangUp);
        assert_eq!(m.param, Some("abc"));
        let m = match_route(&Method::POST, "/calls/abc/dtmf").unwrap();
        assert_eq!(m.spec.id, RouteId::PlayDtmf);
        let m = match_route(&Method::POST, "/calls/abc/mute").unwrap();
        assert_eq!(m.spec.id, RouteId::Mute);
        assert_eq!(m.param, Some("abc"));
        assert_eq!(
            match_route(&Method::GET, "/calls").unwrap().spec.id,
            RouteId::ListCalls
        );
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
        for p in ["", "/", "/calls/", "/calls/a/b", "/nope", "/session/"] {
            assert_eq!(
                match_route(&Method::GET, p).unwrap_err().status(),
                404,
                "{p}"
            );
        }
        let e = match_route(&Method::PUT, "/calls/x").unwrap_err();
        assert_eq!(e.status(), 405);
        let res = e.into_response();
        assert_eq!(res.headers()[http::header::ALLOW], "GET, DELETE");
        let e = match_route(&Method::GET, "/dial").unwrap_err();
        assert_eq!(e.into_response().headers()[http::header::ALLOW], "POST");
    }

    #[test]
    fn the_static_fast_path_agrees_with_the_walk() {
        for spec in ROUTES {
            let method = Method::from_bytes(spec.method.as_bytes()).unwrap();
            let m = match_route(&method, spec.path).unwrap();
            assert_eq!(m.spec.id, spec.id, "{}", spec.path);
            let expected = spec.path.contains('{').then_some("{id}");
            assert_eq!(m.param, expected, "{}", spec.path);
        }
    }
}
