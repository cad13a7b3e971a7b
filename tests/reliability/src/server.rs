//! [`AppServer`]: the API mounted in an Axum app, served over loopback HTTP with
//! graceful shutdown, as a host would run it.

use std::net::SocketAddr;

use sipdial_core::SipDialApi;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running Axum server with the API under its prefix.
#[derive(Debug)]
pub struct AppServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl AppServer {
    /// Serves `api` on an ephemeral loopback port, on the current runtime.
    pub async fn start(api: SipDialApi) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app: axum::Router = sipdial_axum::router(api);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts a graceful shutdown: no new connections; requests in flight finish.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether the server has exited.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the server to exit (after [`Self::begin_shutdown`]).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}
