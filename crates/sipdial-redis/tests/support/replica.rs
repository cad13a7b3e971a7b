//! Replicas of one host app: each its own `SipDialApi` (its own real `OpenTokDialer`
//! against the one `FakePlatform`, its own connection to the one Redis), served on a
//! socket of its own by Axum or by Actix.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use sipdial_core::api::{Backend, SipDialApiBuilder, SipTarget};
use sipdial_core::testing::{Http1Client, TestRequest, TestResponse, TestStream};
use sipdial_core::{SipDialApi, SipDialer, SipUri};
use sipdial_opentok::{Credentials, OpenTokDialer};
use sipdial_testing::{TEST_API_KEY, TEST_API_SECRET};

/// The API of one replica over `backend`, dialling through the platform at `platform`.
pub fn api(platform: &str, backend: Backend) -> SipDialApi {
    api_with(platform, backend, |b| b)
}

/// [`api`] with more configuration.
pub fn api_with(
    platform: &str,
    backend: Backend,
    configure: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder,
) -> SipDialApi {
    api_over(Arc::new(dialer(platform)), backend, configure)
}

/// The real dialer of a replica, against the platform at `platform`.
pub fn dialer(platform: &str) -> OpenTokDialer {
    OpenTokDialer::builder(Credentials::project(TEST_API_KEY, TEST_API_SECRET))
        .base_url(platform)
        .build()
        .expect("dialer configuration")
}

/// [`api_with`] over `dialer`.
pub fn api_over(
    dialer: Arc<dyn SipDialer>,
    backend: Backend,
    configure: impl FnOnce(SipDialApiBuilder) -> SipDialApiBuilder,
) -> SipDialApi {
    let builder = SipDialApi::builder(dialer)
        .anonymous()
        .prefix("/sip")
        .target(
            SipTarget::new(
                "support",
                SipUri::new("sip:desk@pbx.fleet.example").expect("uri"),
            )
            .label("Support desk"),
        )
        .default_target("support")
        .record_unknown_calls(true)
        // The fake platform's callbacks come unsigned unless a test sets a secret.
        .accept_unsigned_callbacks()
        .sse_heartbeat(std::time::Duration::from_millis(300))
        .backend(backend);
    configure(builder).build().expect("API configuration")
}

enum Server {
    Axum(tokio::task::JoinHandle<()>),
    Actix(
        actix_web::dev::ServerHandle,
        Option<std::thread::JoinHandle<()>>,
    ),
}

/// One running replica.
pub struct Replica {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub api: SipDialApi,
    client: Http1Client,
    server: Server,
}

impl Replica {
    /// `api` behind `sipdial_axum::router`, served by `axum::serve`.
    pub async fn axum(name: &'static str, api: SipDialApi) -> Self {
        let app = sipdial_axum::router(api.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        Self {
            name,
            addr,
            api,
            client: Http1Client::new(addr),
            server: Server::Axum(server),
        }
    }

    /// `api` in `sipdial_actix::scope`, served by an Actix `HttpServer` on a thread of
    /// its own (Actix runs its own runtime).
    pub fn actix(name: &'static str, api: SipDialApi) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let served = api.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new().service(sipdial_actix::scope(served.clone()))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("bind");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle()))
                    .expect("report the address");
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("the actix server started");
        Self {
            name,
            addr,
            api,
            client: Http1Client::new(addr),
            server: Server::Actix(handle, Some(thread)),
        }
    }

    pub fn callback_url(&self) -> String {
        format!("http://{}/sip/callbacks", self.addr)
    }

    pub async fn send(&self, request: TestRequest) -> TestResponse {
        self.client.send(request).await
    }

    pub async fn open(&self, request: TestRequest) -> TestStream {
        self.client.open(request).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(TestRequest::post(format!("/sip{path}")).json(&body))
            .await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(TestRequest::get(format!("/sip{path}"))).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(TestRequest::delete(format!("/sip{path}"))).await
    }

    /// Stops serving (the replica dies); its API and connections go with it.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        match &mut self.server {
            Server::Axum(task) => task.abort(),
            Server::Actix(handle, thread) => {
                let handle = handle.clone();
                if let Some(t) = thread.take() {
                    std::thread::spawn(move || {
                        actix_web::rt::System::new().block_on(handle.stop(false));
                        let _ = t.join();
                    });
                }
            }
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop();
    }
}
