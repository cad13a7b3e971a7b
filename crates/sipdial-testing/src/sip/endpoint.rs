//! A small answering SIP endpoint (a UAS) for demos and tests: it rings, then answers,
//! like a phone picked up after a few seconds; a call to the user `busy` gets
//! `486 Busy Here`, a call to `decline` gets `603 Decline`, and a call to `noanswer`
//! rings until the caller gives up (for ring timeouts). It logs what it
//! hears (calls, DTMF, hang-ups) through `tracing` and keeps it for inspection.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sipdial_testing::sip::endpoint::{EndpointConfig, SipEndpoint};
//! let phone = SipEndpoint::start(EndpointConfig::default()).await?;
//! println!("dial {}", phone.uri("alice")); // sip:alice@127.0.0.1:PORT
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, HeadersExt as _, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;

use super::sdp;
use super::stack::Stack;
use crate::sync::lock;

/// How the endpoint behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// Where it listens, UDP and TCP on one port (default `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// When it sends `180 Ringing`, from the INVITE.
    pub ring_after: Duration,
    /// When it answers (`200 OK` with SDP), from the INVITE.
    pub answer_after: Duration,
}

impl Default for EndpointConfig {
    /// Rings at 1 s and answers at 3 s: the demo's timing.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ring_after: Duration::from_secs(1),
            answer_after: Duration::from_secs(3),
        }
    }
}

impl EndpointConfig {
    /// Rings at `ring_after` and answers at `answer_after`.
    pub fn timing(ring_after: Duration, answer_after: Duration) -> Self {
        Self {
            ring_after,
            answer_after,
            ..Self::default()
        }
    }
}

/// Something the endpoint saw or did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// An INVITE for `user`, from `from` (the From URI).
    Invited {
        /// The user part of the Request-URI.
        user: String,
        /// The From header's URI.
        from: String,
    },
    /// It sent `180 Ringing`.
    Ringing,
    /// It answered.
    Answered,
    /// It refused the call with this code.
    Refused(u16),
    /// A DTMF digit arrived (SIP INFO `application/dtmf-relay`).
    Dtmf(char),
    /// The call ended (the caller's CANCEL or BYE).
    Ended,
}

/// A running endpoint; stops when dropped.
#[derive(Debug)]
pub struct SipEndpoint {
    stack_cancel: rsipstack::platform::CancellationToken,
    addr: SocketAddr,
    events: Arc<Mutex<Vec<EndpointEvent>>>,
}

impl SipEndpoint {
    /// Binds and starts answering.
    pub async fn start(config: EndpointConfig) -> std::io::Result<Self> {
        let (stack, incoming) = Stack::start(config.bind, "sipdial-demo-endpoint", None).await?;
        let events = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(serve(
            Arc::clone(&stack.dialogs),
            incoming,
            config,
            stack.addr,
            Arc::clone(&events),
        ));
        tracing::info!(addr = %stack.addr, "SIP endpoint listening (UDP and TCP)");
        Ok(Self {
            stack_cancel: stack.cancel.clone(),
            addr: stack.addr,
            events,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A URI that reaches it as `user` (`busy` and `decline` refuse the call,
    /// `noanswer` never answers).
    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.addr)
    }

    /// Everything it saw so far.
    pub fn events(&self) -> Vec<EndpointEvent> {
        lock(&self.events).clone()
    }

    /// Stops listening.
    pub fn shutdown(&self) {
        self.stack_cancel.cancel();
    }
}

impl Drop for SipEndpoint {
    fn drop(&mut self) {
        self.shutdown();
    }
}

type Events = Arc<Mutex<Vec<EndpointEvent>>>;

fn record(events: &Events, event: EndpointEvent) {
    lock(events).push(event);
}

async fn serve(
    dialogs: Arc<DialogLayer>,
    mut incoming: TransactionReceiver,
    config: EndpointConfig,
    addr: SocketAddr,
    events: Events,
) {
    while let Some(mut tx) = incoming.recv().await {
        let in_dialog = tx
            .original
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        if in_dialog {
            match dialogs.match_dialog(&tx) {
                Some(mut dialog) => {
                    tokio::spawn(async move {
                        let _ = dialog.handle(&mut tx).await;
                    });
                }
                None if tx.original.method == Method::Ack => {}
                None => {
                    tokio::spawn(async move {
                        let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                    });
                }
            }
            continue;
        }
        match tx.original.method {
            Method::Invite => {
                let dialogs = Arc::clone(&dialogs);
                let events = Arc::clone(&events);
                let config = config.clone();
                tokio::spawn(async move { answer(&dialogs, tx, &config, addr, &events).await });
            }
            Method::Ack => {}
            _ => {
                tokio::spawn(async move {
                    let _ = tx.reply(StatusCode::OK).await;
                });
            }
        }
    }
}

/// Plays one incoming call through: ring, answer, then follow it until it ends.
async fn answer(
    dialogs: &DialogLayer,
    mut tx: Transaction,
    config: &EndpointConfig,
    addr: SocketAddr,
    events: &Events,
) {
    let user = tx
        .original
        .uri
        .auth
        .as_ref()
        .map(|a| a.user.clone())
        .unwrap_or_default();
    let from = tx
        .original
        .from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .map(|u| u.to_string())
        .unwrap_or_default();
    tracing::info!(%user, %from, "SIP endpoint: incoming call");
    record(
        events,
        EndpointEvent::Invited {
            user: user.clone(),
            from,
        },
    );
    let refusal = match user.as_str() {
        "busy" => Some(StatusCode::BusyHere),
        "decline" => Some(StatusCode::Decline),
        _ => None,
    };
    if let Some(status) = refusal {
        tracing::info!(code = status.code(), "SIP endpoint: refusing the call");
        record(events, EndpointEvent::Refused(status.code()));
        let _ = tx.reply(status).await;
        return;
    }
    let (state_tx, mut states) = dialogs.new_dialog_state_channel();
    let contact = rsipstack::sip::Uri::try_from(format!("sip:{user}@{addr}").as_str()).ok();
    let dialog = match dialogs.get_or_create_server_invite(&tx, state_tx, None, contact) {
        Ok(d) => d,
        Err(_) => {
            let _ = tx.reply(StatusCode::ServerInternalError).await;
            return;
        }
    };
    let mut handler = dialog.clone();
    tokio::spawn(async move {
        let _ = handler.handle(&mut tx).await;
    });
    let script = play(&dialog, config, addr, events, user != "noanswer");
    tokio::pin!(script);
    let mut script_done = false;
    loop {
        tokio::select! {
            () = &mut script, if !script_done => script_done = true,
            state = states.recv() => {
                let Some(state) = state else { break };
                if on_state(state, events).await {
                    break;
                }
            }
        }
    }
    dialogs.remove_dialog(&dialog.id());
}

/// Rings, then answers (when `answers`), on the configured timing.
async fn play(
    dialog: &InviteDialog,
    config: &EndpointConfig,
    addr: SocketAddr,
    events: &Events,
    answers: bool,
) {
    tokio::time::sleep(config.ring_after).await;
    if dialog.ringing(None, None).is_ok() {
        tracing::info!("SIP endpoint: ringing");
        record(events, EndpointEvent::Ringing);
    }
    if !answers {
        return;
    }
    tokio::time::sleep(config.answer_after.saturating_sub(config.ring_after)).await;
    let body = sdp::audio(addr.ip(), addr.port().saturating_add(2), 1, "sendrecv");
    let headers = vec![Header::ContentType("application/sdp".into())];
    if dialog
        .accept(Some(headers), Some(body.into_bytes()))
        .is_ok()
    {
        tracing::info!("SIP endpoint: answered the call");
        record(events, EndpointEvent::Answered);
    }
}

/// Follows one dialog event; true when the call is over.
async fn on_state(state: DialogState, events: &Events) -> bool {
    match state {
        DialogState::Info(_, req, handle) => {
            let body = String::from_utf8_lossy(req.body());
            let digit = body.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("signal")
                    .then(|| v.trim().chars().next())?
            });
            if let Some(d) = digit {
                tracing::info!(digit = %d, "SIP endpoint: DTMF");
                record(events, EndpointEvent::Dtmf(d));
            }
            let _ = handle.reply(StatusCode::OK).await;
        }
        DialogState::Updated(_, _, handle)
        | DialogState::Options(_, _, handle)
        | DialogState::Notify(_, _, handle)
        | DialogState::Message(_, _, handle) => {
            let _ = handle.reply(StatusCode::OK).await;
        }
        DialogState::Refer(_, _, handle) | DialogState::Publish(_, _, handle) => {
            let _ = handle.reply(StatusCode::MethodNotAllowed).await;
        }
        DialogState::Terminated(_, reason) => {
            tracing::info!(?reason, "SIP endpoint: call ended");
            record(events, EndpointEvent::Ended);
            return true;
        }
        _ => {}
    }
    false
}
