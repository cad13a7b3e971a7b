//! The dial-route ceiling: a bare hyper + reqwest handler for `POST /sip/dial` that
//! forwards the same dial body sipdial's dialer sends (a fresh `sip=true` client token,
//! the configured SIP URI, headers and digest credentials) to the same platform with a
//! fresh REST JWT, and answers 201 with the call as JSON.
//!
//! Environment: `OPENTOK_API_KEY`, `OPENTOK_API_SECRET`, `OPENTOK_API_URL` (the fake
//! platform), `SIP_URI`, `SIP_HEADERS` (JSON object, optional), `SIP_USERNAME` and
//! `SIP_PASSWORD` (optional), `HOST` (default 127.0.0.1), `PORT` (default 0). Prints
//! `ceiling-dial listening on URL`.

use std::process::ExitCode;
use std::sync::Arc;

use http::{Method, StatusCode};
use sipdial_bench_ceilings::dial_route::{config, dial};
use sipdial_bench_ceilings::{error_reply, read_body, serve};

fn main() -> ExitCode {
    let config = match config() {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("ceiling-dial: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = serve("ceiling-dial", move |req| {
        let config = Arc::clone(&config);
        async move {
            if req.method() == Method::POST && req.uri().path() == "/sip/dial" {
                dial(&config, read_body(req).await).await
            } else {
                error_reply(StatusCode::NOT_FOUND, "not_found")
            }
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling-dial: {e}");
            ExitCode::FAILURE
        }
    }
}
