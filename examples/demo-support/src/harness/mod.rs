//! Test helpers for the example binaries (feature `harness`): start a demo on an
//! ephemeral port and read its URL from stdout, fetch a page over plain HTTP/1.1, stop it
//! with SIGTERM, and drive the page in headless Chromium through the one shared script
//! `tests/browser/demo-flow.mjs`.
//!
//! Browser tests need Debian's `chromium`, `node` and the npm package `playwright-core`
//! in `tests/browser/node_modules` (installed here with `npm ci` when missing). When one
//! is missing the test says so loudly and passes as skipped, except under `CI=true`, where
//! a missing browser is a failure: CI must prove the page works.

mod browser;
pub mod checks;
mod http;
mod lifecycle;
mod policies;
mod process;
pub mod safety;
mod sip_log;

pub use browser::{BrowserTools, browser_test, browser_tools, run_browser_flow, skip_browser_test};
pub use http::{HttpReply, http_request, http_request_with};
pub use process::{Exited, RunningDemo, demo_command, run_to_exit};

pub use lifecycle::{
    CALLBACK_SECRET, lifecycle_browser_test, lifecycle_browser_test_with, signed_callbacks,
    start_real_mode,
};
pub use policies::policies_browser_test;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a demo may take to print its URL (a cold debug binary on a busy 2-core box).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// Where tests leave screenshots: `target/artifacts/` (or `$CARGO_TARGET_DIR/artifacts`).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    dir
}

/// Whether CI demands every test really run (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}
