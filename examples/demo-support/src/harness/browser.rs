//! Driving the page in headless Chromium through the one shared script
//! `tests/browser/demo-flow.mjs`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::process::{collect, wait_with_timeout};
use super::{RunningDemo, artifacts_dir, in_ci, sip_log, workspace_root};

/// What a browser test needs on this machine.
#[derive(Debug, Clone)]
pub struct BrowserTools {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The folder holding `demo-flow.mjs` and its `node_modules`.
    pub script_dir: PathBuf,
}

/// Finds Chromium, node and playwright-core (running `npm ci` once when the package is
/// missing); `Err` says what is missing and how to install it.
pub fn browser_tools() -> Result<BrowserTools, String> {
    let chromium = std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or("Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")?;
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node_ok {
        return Err("node is not installed (apt-get install nodejs npm)".into());
    }
    let script_dir = workspace_root().join("tests").join("browser");
    let package = script_dir.join("node_modules").join("playwright-core");
    // Tests of one binary run on parallel threads: one `npm ci` at a time.
    static NPM: Mutex<()> = Mutex::new(());
    let _one_at_a_time = NPM.lock().unwrap_or_else(|e| e.into_inner());
    if !package.is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&script_dir)
            .status();
        if !status.is_ok_and(|s| s.success()) || !package.is_dir() {
            return Err(format!(
                "playwright-core is not installed and `npm ci` in {} failed",
                script_dir.display()
            ));
        }
    }
    Ok(BrowserTools {
        chromium,
        script_dir,
    })
}

/// Reports a browser test that cannot run: a loud skip on a developer machine, a
/// failure in CI.
pub fn skip_browser_test(test: &str, reason: &str) {
    if in_ci() {
        panic!("{test}: the browser test cannot run in CI: {reason}");
    }
    eprintln!(
        "\n==================== SKIPPED: {test} ====================\n\
         {reason}\n\
         The page was NOT tested in a browser. Install the tools with\n\
         `bash scripts/browser-test.sh` (apt chromium + npm ci), then rerun.\n\
         =========================================================\n"
    );
}

/// Runs the shared page scenario in headless Chromium against `demo`, saving a
/// screenshot as `target/artifacts/{name}.png`. `extra_args` go to the script
/// (e.g. `--expect-targets=3`). Panics with the script's and the demo's output on
/// failure; returns the screenshot path.
pub fn run_browser_flow(
    tools: &BrowserTools,
    demo: &RunningDemo,
    name: &str,
    extra_args: &[&str],
) -> PathBuf {
    let dir = artifacts_dir();
    let screenshot = dir.join(format!("{name}.png"));
    for stale in ["", "-phone", "-failure"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{stale}.png")));
    }
    let mut child = Command::new("node")
        .arg(tools.script_dir.join("demo-flow.mjs"))
        .arg(format!("--url={}/", demo.url()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .args(extra_args)
        .env("CHROMIUM_PATH", &tools.chromium)
        .current_dir(&tools.script_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = collect(child.stdout.take().expect("piped stdout"));
    let err = collect(child.stderr.take().expect("piped stderr"));
    let status = wait_with_timeout(&mut child, Duration::from_secs(240));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    std::thread::sleep(Duration::from_millis(100));
    let text = |t: &Arc<Mutex<String>>| t.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (stdout, stderr) = (text(&out), text(&err));
    print!("{stdout}");
    match status {
        Some(s) if s.success() => {
            assert!(
                screenshot.is_file(),
                "the flow passed but saved no screenshot"
            );
            println!("screenshot: {}", screenshot.display());
            screenshot
        }
        other => panic!(
            "browser flow `{name}` failed ({other:?})\n--- script stdout ---\n{stdout}\n--- script stderr ---\n{stderr}\n--- demo stderr ---\n{}",
            demo.stderr()
        ),
    }
}

/// Starts `bin` in demo mode with `envs` and runs the browser flow against it, or skips
/// loudly when the tools are missing (failing under `CI=true`).
pub fn browser_test(bin: &str, name: &str, envs: &[(&str, &str)], args: &[&str]) {
    let tools = match browser_tools() {
        Ok(tools) => tools,
        Err(reason) => return skip_browser_test(name, &reason),
    };
    let demo = RunningDemo::start(bin, envs);
    if sip_log::is_demo_mode(envs) {
        let mut args = args.to_vec();
        args.push("--sip-timing");
        run_browser_flow(&tools, &demo, name, &args);
        sip_log::assert_real_sip(&demo);
    } else {
        run_browser_flow(&tools, &demo, name, args);
    }
}
