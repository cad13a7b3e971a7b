//! Sends a planned request: fresh auth header, timeouts, bounded body, retries of
//! idempotent calls (see [`crate::retry`]), one tracing span.
//!
//! The span carries the operation, method, path (ids only, no query), status and
//! latency. Nothing else is recorded: headers hold the REST JWT and bodies hold the
//! client token and the SIP password.

use std::error::Error as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable as _;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Client, Response};
use sipdial_core::DialError;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::Credentials;
use crate::clock::now_secs;
use crate::retry::RetryPolicy;
use crate::status::{MAX_MESSAGE_CHARS, clean_message, is_no_streams_yet, map_status, retry_after};
use crate::wire::{Body, Planned};

/// Largest answer read from the platform; its documented answers are a few hundred bytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The HTTP side of a dialer.
#[derive(Clone)]
pub(crate) struct Rest {
    pub(crate) client: Client,
    /// Without a trailing slash.
    pub(crate) base_url: String,
    /// `base_url` parsed once: every request's URL is this with its path replaced
    /// (see [`Rest::url_of`]), so the scheme, host and port are not parsed again per
    /// request (a full parse was about 15 % of a dial's instructions).
    pub(crate) base: reqwest::Url,
    /// The dial's path and its URL, joined once: every dial posts to the same URL
    /// (see [`Rest::with_dial_path`]).
    pub(crate) dial: Option<(String, reqwest::Url)>,
    /// Per attempt; also the default total deadline of a retried call.
    pub(crate) timeout: Duration,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryPolicy,
}

/// A 2xx answer, or a stream list's "no streams yet" 404 (see
/// [`is_no_streams_yet`]).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Rest {
    /// Sends `planned` authenticated by `credentials`; non-2xx answers become errors.
    ///
    /// Idempotent operations are retried after transient failures as [`RetryPolicy`]
    /// says, all attempts within one deadline; every other operation is sent once.
    pub(crate) async fn send(
        &self,
        credentials: &Credentials,
        planned: &Planned<'_>,
    ) -> Result<Answer, DialError> {
        let span = tracing::info_span!(
            "opentok.request",
            operation = planned.op.as_str(),
            method = %planned.method,
            path = %planned.path,
            status = Empty,
            latency_ms = Empty,
            attempts = Empty,
        );
        let started = Instant::now();
        let retry = if planned.op.is_idempotent() {
            self.retry
        } else {
            RetryPolicy::none()
        };
        let deadline = started + retry.deadline_or(self.timeout);
        let remaining = || deadline.saturating_duration_since(Instant::now());
        // Attempts made so far, for the span and the log (the closures below share it).
        let attempts = AtomicU32::new(0);
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            let timeout = self.timeout.min(remaining());
            if timeout.is_zero() {
                return Err(Failure::new(None, DialError::Timeout));
            }
            self.exchange(credentials, planned, timeout)
                .instrument(span.clone())
                .await
        })
        .retry(retry.backoff())
        .sleep(tokio::time::sleep)
        .when(|failure| failure.error.is_transient())
        .adjust(|failure, backoff| retry.wait(backoff, failure.retry_after, remaining()))
        .notify(|failure, wait| {
            span.in_scope(|| {
                tracing::info!(
                    status = failure.status,
                    attempt = attempts.load(Ordering::Relaxed),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %failure.error,
                    "retrying an idempotent platform request"
                );
            });
        })
        .await
        .map_err(|failure| (failure.status, failure.error));
        let attempt = attempts.into_inner();
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("latency_ms", latency_ms);
        span.record("attempts", attempt);
        let _entered = span.enter();
        match result {
            Ok(answer) => {
                span.record("status", answer.status);
                tracing::debug!(status = answer.status, latency_ms, "platform answered");
                Ok(answer)
            }
            Err((status, error)) => {
                if let Some(status) = status {
                    span.record("status", status);
                }
                tracing::warn!(status, latency_ms, error = %error, "platform request failed");
                Err(error)
            }
        }
    }

    async fn exchange(
        &self,
        credentials: &Credentials,
        planned: &Planned<'_>,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        let (auth_name, auth_value) = credentials
            .rest_auth_header(now_secs())
            .map_err(|e| Failure::new(None, e))?;
        let url = self.url_of(&planned.path);
        let mut request = self
            .client
            .request(planned.method.clone(), url)
            .timeout(timeout)
            .header(auth_name, auth_value)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, self.user_agent.clone());
        request = match &planned.body {
            Body::Empty => request,
            Body::Json(bytes) => request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes.clone()),
            Body::Form(form) => request
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(form.clone()),
        };
        let response = request
            .send()
            .await
            .map_err(|e| Failure::new(None, transport_error(e)))?;
        let status = response.status();
        // Only a failure reads the headers (`Retry-After`, the error mapping), after
        // the body has consumed the response: copied only then.
        let headers = if status.is_success() {
            HeaderMap::new()
        } else {
            response.headers().clone()
        };
        let body = read_body(response)
            .await
            .map_err(|e| Failure::new(Some(status.as_u16()), e))?;
        if status.is_success() || is_no_streams_yet(planned, status, &body) {
            Ok(Answer {
                status: status.as_u16(),
                body,
            })
        } else {
            Err(Failure {
                status: Some(status.as_u16()),
                error: map_status(planned, status, &headers, &body),
                retry_after: retry_after(&headers),
            })
        }
    }
}

impl Rest {
    /// `{base_url}{path}` as a URL: the same URL as parsing the joined text (the path
    /// goes through the same path parser; planned paths hold only ids and fixed words,
    /// no `?` or `#`).
    fn url_of(&self, path: &str) -> reqwest::Url {
        match &self.dial {
            Some((dial_path, url)) if dial_path == path => url.clone(),
            _ => self.joined(path),
        }
    }

    /// Prepares the URL of the one path every dial posts to.
    pub(crate) fn with_dial_path(mut self, path: String) -> Self {
        let url = self.joined(&path);
        self.dial = Some((path, url));
        self
    }

    fn joined(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        url.set_path(&[self.base.path().trim_end_matches('/'), path].concat());
        url
    }
}

/// One failed attempt: the status (when an answer arrived), the caller's error, and
/// the platform's `Retry-After` (on a 429 or a 503).
struct Failure {
    status: Option<u16>,
    error: DialError,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(status: Option<u16>, error: DialError) -> Self {
        Self {
            status,
            error,
            retry_after: None,
        }
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of the answer.
async fn read_body(mut response: Response) -> Result<Vec<u8>, DialError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(DialError::Upstream {
                status,
                code: None,
                message: Some("the platform's answer is too large".to_owned()),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Maps a reqwest failure: timeouts apart, a short description and the innermost cause
/// (e.g. "Connection refused"), with the URL removed.
pub(crate) fn transport_error(error: reqwest::Error) -> DialError {
    if error.is_timeout() {
        return DialError::Timeout;
    }
    let error = error.without_url();
    let what = if error.is_connect() {
        "could not connect to the platform"
    } else if error.is_body() || error.is_decode() {
        "the connection broke while reading the platform's answer"
    } else if error.is_request() {
        "the request to the platform failed"
    } else {
        "the platform could not be reached"
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source();
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    let message = match innermost {
        Some(c) => format!("{what}: {}", clean_message(&c, &[])),
        None => what.to_owned(),
    };
    DialError::Transport {
        message: message.chars().take(MAX_MESSAGE_CHARS + 64).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest(base_url: &str) -> Rest {
        Rest {
            client: Client::new(),
            base_url: base_url.to_owned(),
            base: reqwest::Url::parse(base_url).unwrap(),
            dial: None,
            timeout: Duration::from_secs(1),
            user_agent: HeaderValue::from_static("t"),
            retry: RetryPolicy::none(),
        }
        .with_dial_path("/v2/project/47000001/dial".to_owned())
    }

    #[test]
    fn request_urls_are_the_joined_text_parsed() {
        for base in [
            "http://127.0.0.1:4010",
            "https://api.opentok.com",
            "https://gateway.example.com/opentok",
            "https://gateway.example.com/a/b",
        ] {
            for path in [
                "/session/create",
                "/v2/project/47000001/dial",
                "/v2/project/47000002/dial",
                "/v2/project/47000001/session/1_MX4-fg/connection/c.d~e_f-g",
                "/v2/project/k/session/s/stream",
            ] {
                assert_eq!(
                    rest(base).url_of(path),
                    reqwest::Url::parse(&format!("{base}{path}")).unwrap(),
                    "{base} {path}"
                );
            }
        }
    }
}
