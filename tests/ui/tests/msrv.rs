//! The minimum supported Rust version is stated three times: `rust-version` in the
//! workspace manifest (what Cargo enforces for users), `rust-toolchain.toml` (what CI and
//! every contributor build with) and the MSRV line of the README (what people read).
//! CI only proves the MSRV if it builds with it, so these tests fail as soon as the three
//! drift apart or the compiler that built the tests is not the declared one.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The string value of `key` in the `[section]` table of a TOML file. Line-based: the
/// manifests keep these keys as plain `key = "value"` lines.
fn toml_string(text: &str, section: &str, key: &str) -> Option<String> {
    let header = format!("[{section}]");
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == header;
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            let v = v.split('#').next().unwrap_or_default().trim();
            return v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}

/// `1.95` or `1.95.0` as numbers; `None` for anything else (`stable`, `nightly-…`).
fn version(text: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| (2..=3).contains(&p.len()))
}

/// Whether `actual` (a full toolchain version) is the release `declared` names: the
/// same major and minor, and the same patch when `declared` gives one.
fn is_release(declared: &[u64], actual: &[u64]) -> bool {
    declared.iter().zip(actual).all(|(d, a)| d == a) && actual.len() >= declared.len()
}

fn declared_msrv() -> (String, Vec<u64>) {
    let manifest = read("Cargo.toml");
    let msrv = toml_string(&manifest, "workspace.package", "rust-version")
        .expect("the workspace manifest declares [workspace.package] rust-version");
    let parsed = version(&msrv).unwrap_or_else(|| panic!("rust-version {msrv:?} is not x.y[.z]"));
    (msrv, parsed)
}

fn toolchain_channel() -> (String, Vec<u64>) {
    let toolchain = read("rust-toolchain.toml");
    let channel = toml_string(&toolchain, "toolchain", "channel")
        .expect("rust-toolchain.toml sets [toolchain] channel");
    let parsed = version(&channel).unwrap_or_else(|| {
        panic!("rust-toolchain.toml channel {channel:?} must pin a release such as 1.95.0, so CI builds with the MSRV")
    });
    (channel, parsed)
}

#[test]
fn toolchain_pins_the_declared_msrv() {
    let (msrv, declared) = declared_msrv();
    let (channel, pinned) = toolchain_channel();
    assert_eq!(
        pinned.len(),
        3,
        "rust-toolchain.toml channel {channel:?} must be x.y.z"
    );
    assert!(
        is_release(&declared, &pinned),
        "CI builds with {channel} (rust-toolchain.toml) but the workspace declares rust-version {msrv}: \
         CI must build with the MSRV, so change one of them"
    );
}

#[test]
fn tests_were_built_by_the_pinned_toolchain() {
    let (channel, pinned) = toolchain_channel();
    let rustc = env!("SIPDIAL_BUILD_RUSTC_VERSION");
    // "rustc 1.95.0 (abcdef 2026-01-01)"
    let built = rustc
        .split_whitespace()
        .nth(1)
        .and_then(|v| version(v.split('-').next().unwrap_or(v)))
        .unwrap_or_else(|| panic!("cannot read the compiler version from {rustc:?}"));
    assert_eq!(
        built, pinned,
        "these tests were built by {rustc:?}, not by the {channel} of rust-toolchain.toml"
    );
}

#[test]
fn readme_states_the_msrv() {
    let (msrv, _) = declared_msrv();
    let readme = read("README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("MSRV"))
        .expect("README.md has an MSRV line");
    assert!(
        line.contains(&format!("Rust {msrv}")),
        "README's MSRV line {line:?} does not say Rust {msrv} (the workspace rust-version)"
    );
}

#[test]
fn version_comparison() {
    assert!(is_release(&[1, 95], &[1, 95, 0]));
    assert!(is_release(&[1, 95], &[1, 95, 2]));
    assert!(is_release(&[1, 95, 0], &[1, 95, 0]));
    assert!(!is_release(&[1, 95, 1], &[1, 95, 0]));
    assert!(!is_release(&[1, 95], &[1, 96, 0]));
    assert!(!is_release(&[1, 95], &[1, 94, 0]));
    assert_eq!(version("stable"), None);
    assert_eq!(version("1.95.0"), Some(vec![1, 95, 0]));
    assert_eq!(
        toml_string("[a]\nx = \"1\"\n[b]\nx = \"2\" # c\n", "b", "x").as_deref(),
        Some("2")
    );
}
