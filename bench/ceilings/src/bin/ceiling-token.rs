//! The token-route ceiling: a bare hyper server that answers `POST /sip/token` with the
//! same JSON as sipdial's token route (`{"token","role","expiresAt"}`, a fresh HS256
//! client token each time, minted by the same code), and `GET /` with the bytes of
//! `PAGE_FILE` when set.
//!
//! Environment: `OPENTOK_API_KEY`, `OPENTOK_API_SECRET`, `PAGE_FILE` (optional), `HOST`
//! (default 127.0.0.1), `PORT` (default 0). Prints `ceiling-token listening on URL`.

use std::process::ExitCode;
use std::sync::Arc;

use http::{Method, StatusCode};
use sipdial_bench_ceilings::token_route::{config, page, token};
use sipdial_bench_ceilings::{error_reply, read_body, serve};

fn main() -> ExitCode {
    let config = match config() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("ceiling-token: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = serve("ceiling-token", move |req| {
        let config = Arc::clone(&config);
        async move {
            match (req.method(), req.uri().path()) {
                (&Method::POST, "/sip/token") => token(&config, read_body(req).await),
                (&Method::GET, "/") => page(&config),
                _ => error_reply(StatusCode::NOT_FOUND, "not_found"),
            }
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling-token: {e}");
            ExitCode::FAILURE
        }
    }
}
