//! One call, from INVITE to its end: maps what the far end answers into the call's
//! state, and what the REST API asks (hang-up, DTMF) into SIP.
//!
//! | far end / REST            | SIP                         | the call                       |
//! |---------------------------|-----------------------------|--------------------------------|
//! | 180 / 183                 |                             | `RINGING` (once)               |
//! | 200 with an SDP answer    | ACK                         | `ACTIVE`                       |
//! | 200 without SDP           | ACK, BYE                    | destroyed, 488                 |
//! | 401 / 407                 | INVITE with digest          |                                |
//! | 4xx–6xx final             | ACK                         | destroyed with that code       |
//! | no answer in time         | CANCEL                      | destroyed, 408                 |
//! | re-INVITE sendonly/inactive | 200 with our answer       | `ON_HOLD`, back to `ACTIVE`    |
//! | BYE                       | 200                         | destroyed, 700                 |
//! | REST hang-up              | CANCEL, or BYE once answered| (the route destroyed it)       |
//! | REST DTMF                 | INFO `application/dtmf-relay` per digit |                    |

use std::net::{SocketAddr, UdpSocket};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, TerminatedReason, TransactionHandle};
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Response, StatusCode, StatusCodeKind, Uri};
use tokio::sync::mpsc;

use super::gateway::Shared;
use super::sdp;
use super::target;
use crate::callbacks::{CallProgress, FAR_END_CLEARING};
use crate::sip_legs::Dial;

/// What the REST API asks of a call.
#[derive(Debug)]
pub(crate) enum Command {
    HangUp,
    Dtmf(String),
}

/// How long one DTMF digit lasts in the INFO body, in milliseconds.
const DIGIT_MS: u32 = 250;

/// Runs the call until it ends.
pub(crate) async fn run(shared: &Shared, dial: Dial, commands: mpsc::UnboundedReceiver<Command>) {
    let call_id = dial.call_id.clone();
    match place(shared, dial) {
        Ok(call) => call.follow(shared, commands).await,
        Err((code, message)) => {
            tracing::warn!(%call_id, code, %message, "SIP call not placed");
            end(shared, &call_id, code, message);
        }
    }
}

/// Ends the call in the platform's state (no effect when the REST API already did).
fn end(shared: &Shared, call_id: &str, code: u16, message: impl Into<String>) {
    shared.lifecycle.advance(
        call_id,
        &CallProgress::HangUp {
            code,
            message: message.into(),
        },
    );
}

struct Call {
    call_id: String,
    dialog: InviteDialog,
    states: mpsc::UnboundedReceiver<DialogState>,
    invite: tokio::task::JoinHandle<rsipstack::Result<(DialogId, Option<Response>)>>,
    /// Held for the life of the call, so the port our SDP names stays ours.
    rtp: UdpSocket,
    sip_call_id: String,
}

fn caller_uri(from: Option<&str>, default: &str) -> Result<Uri, (u16, String)> {
    let text = match from {
        Some(f) if f.starts_with("sip:") || f.starts_with("sips:") => f.to_owned(),
        Some(f) => format!("sip:{f}"),
        None => default.to_owned(),
    };
    Uri::try_from(text.as_str())
        .map_err(|_| (400, format!("the SIP gateway cannot use {text:?} as From")))
}

fn place(shared: &Shared, dial: Dial) -> Result<Call, (u16, String)> {
    let target = target::resolve(&dial.uri, shared.config.route).map_err(|u| (503, u.0))?;
    let caller = caller_uri(dial.from.as_deref(), &shared.config.default_from)?;
    let ip = shared.local.ip();
    let rtp = UdpSocket::bind(SocketAddr::new(ip, 0))
        .map_err(|e| (503, format!("no local RTP port: {e}")))?;
    let rtp_port = rtp.local_addr().map_or(0, |a| a.port());
    let offer = sdp::audio(ip, rtp_port, 1, "sendrecv");
    let contact = Uri::try_from(format!("sip:sipdial@{}", shared.local).as_str())
        .map_err(|_| (500, "the SIP gateway has no contact address".to_owned()))?;
    let headers: Vec<Header> = dial
        .headers
        .iter()
        .map(|(k, v)| Header::Other(k.clone(), v.clone()))
        .collect();
    let credential = dial.auth.map(|(username, password)| Credential {
        username,
        password,
        realm: None,
        auth_username: None,
    });
    let option = InviteOption {
        caller,
        callee: target.uri,
        destination: Some(target.next_hop),
        content_type: Some("application/sdp".to_owned()),
        offer: Some(offer.into_bytes()),
        contact,
        credential,
        headers: (!headers.is_empty()).then_some(headers),
        ..InviteOption::default()
    };
    let (state_tx, states) = shared.dialogs.new_dialog_state_channel();
    let (dialog, invite) = shared
        .dialogs
        .do_invite_async(option, state_tx)
        .map_err(|e| (503, format!("the SIP gateway cannot build the INVITE: {e}")))?;
    let sip_call_id = dialog.id().call_id.clone();
    tracing::info!(call_id = %dial.call_id, sip_call_id = %sip_call_id, uri = %dial.uri, "SIP INVITE sent");
    Ok(Call {
        call_id: dial.call_id,
        dialog,
        states,
        invite,
        rtp,
        sip_call_id,
    })
}

/// The code and message of a final response, with the far end's own reason phrase.
fn code_and_reason(resp: &Response) -> (u16, String) {
    let code = resp.status_code.code();
    let reason = resp
        .wire_reason
        .clone()
        .unwrap_or_else(|| resp.status_code.text().to_owned());
    (code, reason)
}

impl Call {
    async fn follow(mut self, shared: &Shared, mut commands: mpsc::UnboundedReceiver<Command>) {
        let ring_limit = tokio::time::sleep(shared.config.ring_timeout);
        tokio::pin!(ring_limit);
        let mut answered = false;
        let mut ours = false;
        let mut invite_done = false;
        let mut commands_open = true;
        loop {
            tokio::select! {
                state = self.states.recv() => {
                    let Some(state) = state else { break };
                    if self.on_state(shared, state, &mut answered, ours).await {
                        break;
                    }
                }
                result = &mut self.invite, if !invite_done => {
                    invite_done = true;
                    // A 2xx is followed by `Confirmed` (the event may still be queued).
                    if self.on_final(shared, result, ours) {
                        break;
                    }
                }
                command = commands.recv(), if commands_open => match command {
                    Some(Command::HangUp) | None => {
                        commands_open = false;
                        ours = true;
                        if let Err(e) = self.dialog.hangup().await {
                            tracing::debug!(call_id = %self.call_id, error = %e, "hang-up not sent");
                        }
                        if answered || invite_done {
                            break;
                        }
                    }
                    Some(Command::Dtmf(digits)) => self.send_dtmf(answered, &digits).await,
                },
                () = &mut ring_limit, if !answered && !ours => {
                    ours = true;
                    tracing::info!(call_id = %self.call_id, "no answer in time: CANCEL");
                    end(shared, &self.call_id, 408, "Request Timeout");
                    let _ = self.dialog.hangup().await;
                }
            }
        }
        drop(self.rtp);
        shared.dialogs.remove_dialog(&self.dialog.id());
    }

    /// Follows one dialog event; true when the call is over.
    async fn on_state(
        &mut self,
        shared: &Shared,
        state: DialogState,
        answered: &mut bool,
        ours: bool,
    ) -> bool {
        match state {
            DialogState::Early(_, resp) => {
                tracing::debug!(call_id = %self.call_id, status = %resp.status_code, "provisional");
                shared
                    .lifecycle
                    .advance(&self.call_id, &CallProgress::Ringing);
            }
            DialogState::Confirmed(_, resp) if !*answered => {
                *answered = true;
                if ours {
                    return false;
                }
                if !sdp::has_audio(resp.body()) {
                    tracing::warn!(call_id = %self.call_id, "200 OK without an SDP answer: BYE");
                    // The call ends now; the BYE may wait for its answer.
                    end(
                        shared,
                        &self.call_id,
                        488,
                        "Not Acceptable Here (the 200 OK carried no SDP answer)",
                    );
                    let _ = self.dialog.hangup().await;
                    return true;
                }
                tracing::info!(call_id = %self.call_id, "SIP call answered");
                shared
                    .lifecycle
                    .advance(&self.call_id, &CallProgress::Answer);
            }
            DialogState::Updated(_, req, handle) => {
                self.on_reoffer(shared, req.body(), handle).await
            }
            DialogState::Info(_, _, handle) | DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Notify(_, _, handle)
            | DialogState::Refer(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::MethodNotAllowed).await;
            }
            DialogState::Terminated(_, reason) => {
                tracing::info!(call_id = %self.call_id, ?reason, "SIP dialog ended");
                match reason {
                    TerminatedReason::UasBye => {
                        end(
                            shared,
                            &self.call_id,
                            FAR_END_CLEARING.0,
                            FAR_END_CLEARING.1,
                        );
                        return true;
                    }
                    // Before the answer the INVITE's final response says why.
                    _ if !*answered => {}
                    _ => return true,
                }
            }
            _ => {}
        }
        false
    }

    /// A re-INVITE or UPDATE: hold when its SDP says `sendonly`/`inactive`, resume on
    /// `sendrecv`; answered with our SDP mirroring its direction.
    async fn on_reoffer(&self, shared: &Shared, body: &[u8], handle: TransactionHandle) {
        let direction = sdp::direction(body);
        let ip = shared.local.ip();
        let port = self.rtp.local_addr().map_or(0, |a| a.port());
        let answer = sdp::audio(
            ip,
            port,
            2,
            direction.map_or("sendrecv", sdp::Direction::answer),
        );
        let headers = vec![Header::ContentType("application/sdp".into())];
        let _ = handle
            .respond(StatusCode::OK, Some(headers), Some(answer.into_bytes()))
            .await;
        let step = match direction {
            Some(d) if d.is_hold() => CallProgress::Hold,
            Some(_) => CallProgress::Resume,
            None => return,
        };
        shared.lifecycle.advance(&self.call_id, &step);
    }

    /// The INVITE transaction ended: a non-2xx final response (or none) ends the call;
    /// true then.
    fn on_final(
        &self,
        shared: &Shared,
        result: Result<rsipstack::Result<(DialogId, Option<Response>)>, tokio::task::JoinError>,
        ours: bool,
    ) -> bool {
        let (code, message) = match result {
            // Answered. Ours to follow on (`Confirmed` comes next), unless we had hung up:
            // then the 2xx crossed a CANCEL (or the CANCEL never reached the far end,
            // as through a route, where rsipstack sends it to the Request-URI's host),
            // rsipstack ACKs it and sends the BYE itself, and no `Confirmed` follows for
            // a dialog it already ended. Waiting for one held the call for good.
            Ok(Ok((_, Some(resp)))) if resp.status_code.kind() == StatusCodeKind::Successful => {
                return ours;
            }
            Ok(Ok((_, Some(resp)))) => code_and_reason(&resp),
            Ok(Ok((_, None))) => (408, "Request Timeout".to_owned()),
            Ok(Err(e)) => match shared.unsupported.take(&self.sip_call_id) {
                Some(algorithm) => (
                    401,
                    format!(
                        "digest algorithm {algorithm} is not supported by the SIP gateway emulation"
                    ),
                ),
                None => (503, format!("Service Unavailable ({e})")),
            },
            Err(_) => (500, "Server Internal Error".to_owned()),
        };
        if !ours {
            tracing::info!(call_id = %self.call_id, code, %message, "SIP call failed");
            end(shared, &self.call_id, code, message);
        }
        true
    }

    async fn send_dtmf(&self, answered: bool, digits: &str) {
        if !answered {
            tracing::info!(call_id = %self.call_id, "DTMF before the answer: not sent");
            return;
        }
        for digit in digits.chars() {
            // `p` is a pause in the REST API's digits, not a tone.
            if digit == 'p' {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
            let body = format!("Signal={digit}\r\nDuration={DIGIT_MS}\r\n");
            let headers = vec![Header::ContentType("application/dtmf-relay".into())];
            if let Err(e) = self
                .dialog
                .info(Some(headers), Some(body.into_bytes()))
                .await
            {
                tracing::debug!(call_id = %self.call_id, error = %e, "DTMF INFO failed");
                return;
            }
        }
    }
}
