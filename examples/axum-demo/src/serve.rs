//! Serving the router over HTTP/1 with the demo's connection bounds. `axum::serve` has
//! neither a header-read timeout nor a connection limit, so the accept loop is hyper's
//! own: a connection is accepted only while a permit is free (the rest wait in the
//! listen backlog), and hyper closes one whose request head is not complete within the
//! header timeout of its opening or of its previous response.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sipdial_demo_support::ConnectionLimits;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits
/// for the open connections to finish their requests (as `axum::serve`'s graceful
/// shutdown does).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout());
    let permits = Arc::new(Semaphore::new(limits.max_connections()));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // The permit comes first: at the bound, the next connection stays unaccepted.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Per-connection failures (a reset before accept, EMFILE): back off
                // briefly rather than spin, and keep serving.
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // What `into_make_service_with_connect_info` would insert: the adapter reads the
        // peer address from it to count a client by its address.
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Timeouts and client resets end the connection; nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
