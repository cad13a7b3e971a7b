//! The gateway: one rsipstack user agent that places a SIP call for every accepted
//! dial, routes in-dialog requests from the far end to their call, and takes the REST
//! API's hang-ups and DTMF to the right call.
//!
//! Like the platform's gateway it takes no calls in: a request that is not part of a
//! dialog it started is refused (docs/platform-api.md §7).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{HeadersExt as _, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use tokio::sync::{mpsc, watch};

use super::SipConfig;
use super::call::{self, Command};
use super::digest::{AlgorithmNames, Unsupported};
use super::stack::Stack;
use crate::callbacks::Lifecycle;
use crate::sip_legs::{Dial, SipLegs};
use crate::sync::lock;

/// What every call task shares.
pub(crate) struct Shared {
    pub(crate) dialogs: Arc<DialogLayer>,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) config: SipConfig,
    pub(crate) local: SocketAddr,
    pub(crate) unsupported: Unsupported,
    pub(crate) calls: Mutex<HashMap<String, mpsc::UnboundedSender<Command>>>,
}

/// The running gateway (see the module documentation).
pub(crate) struct SipGateway {
    shared: Arc<Shared>,
    stack: Stack,
}

impl std::fmt::Debug for SipGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipGateway")
            .field("local", &self.shared.local)
            .finish_non_exhaustive()
    }
}

impl SipGateway {
    /// Binds the gateway's SIP socket and starts serving; it stops when `stop` says so.
    pub(crate) async fn start(
        config: SipConfig,
        lifecycle: Lifecycle,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<Self> {
        let unsupported = Unsupported::default();
        let inspector = AlgorithmNames {
            unsupported: unsupported.clone(),
        };
        let (stack, incoming) = Stack::start(
            config.bind,
            "sipdial-fake-platform",
            Some(Box::new(inspector)),
        )
        .await?;
        let shared = Arc::new(Shared {
            dialogs: Arc::clone(&stack.dialogs),
            lifecycle,
            config,
            local: stack.addr,
            unsupported,
            calls: Mutex::new(HashMap::new()),
        });
        tokio::spawn(route_incoming(Arc::clone(&stack.dialogs), incoming));
        let cancel = stack.cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => cancel.cancel(),
                () = cancel.cancelled() => {}
            }
        });
        tracing::info!(addr = %stack.addr, "fake platform SIP gateway listening (UDP and TCP)");
        Ok(Self { shared, stack })
    }

    /// The address the gateway sends from and listens on (UDP and TCP).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }
}

impl SipLegs for SipGateway {
    fn place(&self, dial: Dial) {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.shared.calls).insert(dial.call_id.clone(), tx);
        let shared = Arc::clone(&self.shared);
        let cancel = self.stack.cancel.clone();
        tokio::spawn(async move {
            let call_id = dial.call_id.clone();
            tokio::select! {
                () = call::run(&shared, dial, rx) => {}
                () = cancel.cancelled() => {}
            }
            lock(&shared.calls).remove(&call_id);
        });
    }

    fn hang_up(&self, call_id: &str) -> bool {
        send(&self.shared, call_id, Command::HangUp)
    }

    fn dtmf(&self, call_id: &str, digits: &str) -> bool {
        send(&self.shared, call_id, Command::Dtmf(digits.to_owned()))
    }
}

fn send(shared: &Shared, call_id: &str, command: Command) -> bool {
    lock(&shared.calls)
        .get(call_id)
        .is_some_and(|tx| tx.send(command).is_ok())
}

impl Drop for SipGateway {
    fn drop(&mut self) {
        self.stack.stop();
    }
}

/// Hands in-dialog requests (BYE, re-INVITE, INFO) to their dialog and refuses the rest.
async fn route_incoming(dialogs: Arc<DialogLayer>, mut incoming: TransactionReceiver) {
    while let Some(mut tx) = incoming.recv().await {
        let in_dialog = tx
            .original
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        if in_dialog && let Some(mut dialog) = dialogs.match_dialog(&tx) {
            tokio::spawn(async move {
                if let Err(e) = dialog.handle(&mut tx).await {
                    tracing::debug!(error = %e, "in-dialog request failed");
                }
            });
            continue;
        }
        let status = match tx.original.method {
            Method::Ack => continue,
            Method::Options if !in_dialog => StatusCode::OK,
            _ if in_dialog => StatusCode::CallTransactionDoesNotExist,
            // No inbound calls: the platform's gateway only talks in dialogs it started.
            _ => StatusCode::Forbidden,
        };
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), tx.reply(status)).await;
        });
    }
}
