//! Work that must finish once started, whatever happens to the request that started it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;

/// Runs `work` to the end even when the request is dropped midway (the client went
/// away, a host timeout or a hard shutdown cancelled it): once the platform request
/// of a dial is sent a call may be placed and billed, and a call missing from the
/// store could not be hung up, listed or counted against the limits.
///
/// The work runs in the request's own task while the request waits for it, and is
/// handed to the runtime as a task of its own only if the request is dropped first
/// ([`FinishOnDrop`]): the same guarantee as spawning it up front, without a task, a
/// join handle and a cross-task wake-up on every dial. On a Tokio runtime (every
/// adapter's) that is how it runs; elsewhere, inline.
pub(crate) async fn run_to_completion<T, E, F>(work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    use tracing::Instrument as _;
    let Ok(runtime) = Handle::try_current() else {
        return work.await;
    };
    FinishOnDrop {
        work: Some(Box::pin(work.instrument(tracing::Span::current()))),
        runtime,
        polling: false,
    }
    .await
}

/// A future polled in place that, dropped before it is done, hands the rest of the
/// work to `runtime` to finish.
struct FinishOnDrop<F: Future + Send + 'static>
where
    F::Output: Send + 'static,
{
    /// `None` once it has answered.
    work: Option<Pin<Box<F>>>,
    runtime: Handle,
    /// Set while the work is being polled: if that poll panics, the work is not
    /// resumed elsewhere (a future must not be polled after panicking); the panic goes
    /// to the request, as a panic of the spawned task did.
    polling: bool,
}

impl<F: Future + Send + 'static> Future for FinishOnDrop<F>
where
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Every field is `Unpin` (the work is boxed).
        let this = self.get_mut();
        let Some(work) = this.work.as_mut() else {
            // Polled again after answering: nothing more will come.
            return Poll::Pending;
        };
        this.polling = true;
        let polled = work.as_mut().poll(cx);
        this.polling = false;
        if polled.is_ready() {
            this.work = None;
        }
        polled
    }
}

impl<F: Future + Send + 'static> Drop for FinishOnDrop<F>
where
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        if self.polling {
            return;
        }
        if let Some(work) = self.work.take() {
            // Detached: nobody waits for the answer any more, only for the work.
            drop(self.runtime.spawn(async move {
                let _ = work.await;
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn answers_in_place() {
        let answer = run_to_completion(async { Ok::<_, std::convert::Infallible>(7) }).await;
        assert_eq!(answer.ok(), Some(7));
    }

    #[tokio::test]
    async fn work_dropped_midway_still_finishes() {
        let done = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let flag = Arc::clone(&done);
        let request = tokio::spawn(run_to_completion(async move {
            let _ = started_tx.send(());
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(())
        }));
        started_rx.await.unwrap();
        // The client goes away: the request's task is cancelled mid-work.
        request.abort();
        assert!(request.await.unwrap_err().is_cancelled());
        assert!(!done.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(done.load(Ordering::SeqCst), "the work was abandoned");
    }
}
