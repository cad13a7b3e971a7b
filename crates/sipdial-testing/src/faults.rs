//! Scripted faults: make the next matching request(s) fail the way a real network or a
//! struggling cloud does, so a client's error handling can be tested.

use std::time::Duration;

use http::Method;

/// What to do to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer `status` without touching any state. `body` defaults to the platform's
    /// `{"code":status,"message":"..."}`; `retry_after` (seconds) adds a `Retry-After`.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The response body, sent as is (JSON content type when it parses as JSON).
        body: Option<String>,
        /// A `Retry-After` header, in seconds.
        retry_after: Option<u64>,
    },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Close the connection without sending any response.
    DropConnection,
    /// Answer 200 with an `application/json` body that is cut off mid-value, without
    /// touching any state.
    MalformedJson,
    /// Handle the request normally, send the head and half the body, then wait this long
    /// before sending the rest.
    SlowBody(Duration),
}

impl Fault {
    /// A [`Fault::Status`] with the default body and no `Retry-After`.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            body: None,
            retry_after: None,
        }
    }
}

/// When a [`Fault`] applies: to requests matching `method` and `path_contains` (both
/// optional), the next `times` of them (`None`: every one, until
/// [`crate::FakePlatform::clear_faults`]).
///
/// Rules are tried in the order they were injected; the first one that matches and is not
/// used up applies, and only one applies per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests with this method.
    pub method: Option<Method>,
    /// Only requests whose path contains this text.
    pub path_contains: Option<String>,
    /// What to do.
    pub fault: Fault,
    /// How many requests it applies to; `None` for all.
    pub times: Option<usize>,
}

impl FaultRule {
    /// `fault` for every request, until cleared. Narrow it with the methods below.
    pub fn new(fault: Fault) -> Self {
        Self {
            method: None,
            path_contains: None,
            fault,
            times: None,
        }
    }

    /// Only requests with `method`.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Only requests whose path contains `text` (e.g. `"/dial"`, `"/session/create"`).
    #[must_use]
    pub fn path_contains(mut self, text: impl Into<String>) -> Self {
        self.path_contains = Some(text.into());
        self
    }

    /// Only the next `n` matching requests.
    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Only the next matching request.
    #[must_use]
    pub fn once(self) -> Self {
        self.times(1)
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.times != Some(0)
            && self.method.as_ref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// Takes the fault for a request, using up one of its rule's `times`.
pub(crate) fn take(rules: &mut Vec<FaultRule>, method: &Method, path: &str) -> Option<Fault> {
    let idx = rules.iter().position(|r| r.matches(method, path))?;
    let rule = &mut rules[idx];
    let fault = rule.fault.clone();
    if let Some(n) = rule.times.as_mut() {
        *n -= 1;
        if *n == 0 {
            rules.remove(idx);
        }
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order_and_are_used_up() {
        let mut rules = vec![
            FaultRule::new(Fault::status(500))
                .method(Method::POST)
                .path_contains("/dial")
                .once(),
            FaultRule::new(Fault::DropConnection).path_contains("/dial"),
        ];
        assert_eq!(take(&mut rules, &Method::GET, "/x"), None);
        assert_eq!(
            take(&mut rules, &Method::POST, "/v2/project/1/dial"),
            Some(Fault::status(500))
        );
        assert_eq!(
            take(&mut rules, &Method::POST, "/v2/project/1/dial"),
            Some(Fault::DropConnection)
        );
        assert_eq!(
            take(&mut rules, &Method::POST, "/v2/project/1/dial"),
            Some(Fault::DropConnection)
        );
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn zero_times_never_matches() {
        let mut rules = vec![FaultRule::new(Fault::MalformedJson).times(0)];
        assert_eq!(take(&mut rules, &Method::GET, "/"), None);
    }
}
