//! Memory per stored call, and what is left once every call has ended: the figures
//! behind docs/performance.md's "Memory per call". Machine load cannot move them: the
//! bytes are counted by the allocator (`stats_alloc`), not sampled from the process.
//!
//! `store-mem [SESSIONS [CALLS_PER_SESSION]]` (default 100 × 200) builds the API the
//! way a host does (call policies on: ring timeout, maximum duration and the expiry
//! timer every live call carries; the in-memory backend), over a dialer that keeps
//! nothing (the `FakeDialer` logs every operation, which would be counted too), then:
//! 1. dials every call through `SipDialApi::handle` (`POST /sip/dial`), all live;
//! 2. hangs every one up (`DELETE /sip/calls/{id}`), so each ends and disarms its
//!    timers;
//! 3. does that three times, and reports the heap per live call, the heap after each
//!    round (flat: what ended is forgotten beyond what is kept for reading) and the
//!    process's RSS.
//!
//! Ended calls are kept for reading (at most `MAX_ENDED_CALLS_PER_SESSION` per
//! session), so after step 2 what is left must be bounded by that, not by the number
//! of calls ever placed. Prints `STOREMEM {json}` and a Markdown row.

use std::alloc::System;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt as _, Full};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sipdial_core::api::{MAX_ENDED_CALLS_PER_SESSION, SipTarget};
use sipdial_core::{
    CallId, ClientToken, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, PlatformInfo,
    SessionId, SessionOptions, SipCall, SipDialApi, SipDialer, SipUri, StreamId, StreamInfo,
    Timestamp, TokenOptions,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes the heap holds now (`stats_alloc` counts a realloc's growth or shrink in
/// `bytes_allocated` / `bytes_deallocated` already).
fn live_bytes() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

/// The process's resident set, from `/proc/self/status` (0 where there is none).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("store-mem: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-mem: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Rounds of dialling every call and ending it again.
const ROUNDS: usize = 3;

fn arg(i: usize, default: usize) -> Result<usize, String> {
    std::env::args().nth(i).map_or(Ok(default), |a| {
        a.parse()
            .map_err(|_| format!("argument {i} must be a number"))
    })
}

async fn run() -> Result<(), String> {
    let sessions = arg(1, 100)?;
    let per_session = arg(2, 200)?;
    let dialer = Arc::new(KeepsNothing::default());
    let uri = SipUri::new("sip:support@pbx.example.com").map_err(|e| e.to_string())?;
    let api = SipDialApi::builder(dialer)
        .anonymous()
        .target(SipTarget::new("support", uri))
        .default_target("support")
        .max_active_calls_per_session(per_session)
        .dials_per_minute(u32::try_from(per_session * ROUNDS).unwrap_or(u32::MAX))
        // One client, every session: the per-client and total limits would stop it.
        .max_active_calls_per_client(usize::MAX / 2)
        .client_dials_per_minute(u32::MAX)
        .client_sessions_per_minute(u32::MAX)
        .max_active_calls_total(usize::MAX / 2)
        .dials_per_minute_total(u32::MAX)
        .default_ring_timeout(Duration::from_secs(60))
        .default_max_duration(Duration::from_secs(3600))
        .build()
        .map_err(|e| e.to_string())?;

    let mut session_ids = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let json = call(
            &api,
            Method::POST,
            "/sip/session",
            &format!(r#"{{"room":"r{i}"}}"#),
        )
        .await?;
        session_ids.push(field(&json, "sessionId")?);
    }
    settle().await;
    let before = live_bytes();

    let mut rounds = Vec::new();
    let mut per_live = 0;
    let mut rss_live = 0;
    for round in 0..ROUNDS {
        let mut call_ids = Vec::with_capacity(sessions * per_session);
        for session in &session_ids {
            for _ in 0..per_session {
                let body = format!(r#"{{"sessionId":"{session}"}}"#);
                let json = call(&api, Method::POST, "/sip/dial", &body).await?;
                call_ids.push(field(&json, "id")?);
            }
        }
        settle().await;
        // The ids kept here to hang up with are not the API's: take them out.
        let own: i64 = call_ids.iter().map(|c| (c.capacity() + 24) as i64).sum();
        let live = live_bytes() - own;
        if round == 0 {
            per_live = (live - before) / (call_ids.len().max(1) as i64);
            rss_live = rss_kib();
        }
        for id in &call_ids {
            call(&api, Method::DELETE, &format!("/sip/calls/{id}"), "").await?;
        }
        drop(call_ids);
        settle().await;
        rounds.push(live_bytes() - before);
    }
    let calls = sessions * per_session;
    let mut kept_per_session = 0;
    for session in &session_ids {
        let json = call(
            &api,
            Method::GET,
            &format!("/sip/calls?sessionId={session}&all=true"),
            "",
        )
        .await?;
        let v: serde_json::Value = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
        kept_per_session = kept_per_session.max(v["calls"].as_array().map_or(0, Vec::len));
    }
    let rss_ended = rss_kib();
    let after: Vec<String> = rounds.iter().map(|b| format!("{} KiB", b / 1024)).collect();
    println!(
        r#"STOREMEM {{"sessions":{sessions},"calls_per_round":{calls},"rounds":{ROUNDS},"bytes_per_live_call":{per_live},"heap_after_each_round":{rounds:?},"ended_kept_per_session":{kept_per_session},"rss_live_kib":{rss_live},"rss_end_kib":{rss_ended}}}"#
    );
    println!(
        "| {sessions} × {per_session} | {per_live} | {} | {kept_per_session} | {rss_live} KiB | {rss_ended} KiB |",
        after.join(" → "),
    );
    if kept_per_session > MAX_ENDED_CALLS_PER_SESSION {
        return Err(format!("{kept_per_session} ended calls kept in a session"));
    }
    // Every round ends what it placed: the heap after the last holds the same ended
    // calls as after the first. What may still grow within the minute is the dial-rate
    // window (one `Instant` per dial, in a queue that doubles), and a tenth for slack.
    let window =
        (sessions * per_session * ROUNDS * 2 * std::mem::size_of::<std::time::Instant>()) as i64;
    if let (Some(first), Some(last)) = (rounds.first(), rounds.last())
        && *last > first + first / 10 + window
    {
        return Err(format!("the heap grew from round to round: {after:?}"));
    }
    Ok(())
}

/// Lets the tasks the requests started (the dial's events, the timers) run.
async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn call(api: &SipDialApi, method: Method, path: &str, body: &str) -> Result<Bytes, String> {
    let mut req = Request::new(Full::new(Bytes::from(body.to_owned())));
    *req.method_mut() = method.clone();
    *req.uri_mut() = path.parse().map_err(|_| format!("bad path {path}"))?;
    let headers = req.headers_mut();
    headers.insert(
        header::HOST,
        http::HeaderValue::from_static("127.0.0.1:3000"),
    );
    if !body.is_empty() {
        headers.insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    let res = api.handle(req).await;
    let status = res.status();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "{method} {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    Ok(bytes)
}

fn field(json: &Bytes, name: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {name} in {v}"))
}

/// A platform that answers every request at once and remembers nothing, so that the
/// heap counted is the API's own.
#[derive(Default)]
struct KeepsNothing {
    next: AtomicU64,
}

impl KeepsNothing {
    fn id(&self, kind: &str) -> String {
        format!("{kind}-{:012}", self.next.fetch_add(1, Ordering::Relaxed))
    }
}

fn invalid(e: impl std::fmt::Display) -> DialError {
    DialError::invalid("id", e.to_string())
}

#[async_trait]
impl SipDialer for KeepsNothing {
    fn platform(&self) -> PlatformInfo {
        PlatformInfo {
            api_key: "47000001".to_owned(),
        }
    }

    async fn create_session(&self, _: SessionOptions) -> Result<SessionId, DialError> {
        SessionId::new(format!("1_{}", self.id("session"))).map_err(invalid)
    }

    fn issue_token(&self, _: &SessionId, _: TokenOptions) -> Result<ClientToken, DialError> {
        Ok(ClientToken::new("T1==token", 0))
    }

    async fn dial(&self, request: DialRequest) -> Result<SipCall, DialError> {
        Ok(SipCall {
            id: CallId::new(self.id("call")).map_err(invalid)?,
            connection_id: ConnectionId::new(self.id("connection")).map_err(invalid)?,
            stream_id: StreamId::new(self.id("stream")).map_err(invalid)?,
            session_id: request.session_id,
            created_at: Timestamp::now(),
        })
    }

    async fn hang_up(&self, _: &SessionId, _: &ConnectionId) -> Result<(), DialError> {
        Ok(())
    }

    async fn play_dtmf(&self, _: &DtmfTarget, _: &Dtmf) -> Result<(), DialError> {
        Ok(())
    }

    async fn force_mute(&self, _: &SessionId, _: &StreamId) -> Result<(), DialError> {
        Ok(())
    }

    async fn list_streams(&self, _: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        Ok(Vec::new())
    }
}
