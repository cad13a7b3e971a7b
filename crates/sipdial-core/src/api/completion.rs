//! Work that must finish once started, whatever happens to the request that started it.

use http::StatusCode;

use super::error::ApiError;

/// Runs `work` to the end even when the request is dropped midway (the client went
/// away, a host timeout or a hard shutdown cancelled it): once the platform request
/// of a dial is sent a call may be placed and billed, and a call missing from the
/// store could not be hung up, listed or counted against the limits. On a Tokio
/// runtime (every adapter's) it runs as a task of its own; elsewhere, inline.
pub(crate) async fn run_to_completion<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
{
    use tracing::Instrument as _;
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work.await;
    };
    match runtime
        .spawn(work.instrument(tracing::Span::current()))
        .await
    {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )),
    }
}
