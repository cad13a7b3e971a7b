//! Every error code the docs name is one the API answers with. The error table of
//! docs/http-api.md (`## Errors`, `| Status | Codes | When |`) is the list; each of its
//! codes must be a string literal in some crate's source (so the table names no code
//! that was renamed or removed), and every code named anywhere else in the docs must be
//! in the table.
//!
//! A code is recognised where the docs name one, so prose that merely uses a
//! snake_case word is left alone:
//! - after an HTTP error status: ``409 `call_ended` ``;
//! - in a parenthesised list right after the words "error code":
//!   ``the API's error code (`too_many_calls`, `invalid_field`, ...)``;
//! - as the value of a JSON `"code"`: `{"error":{"code":"store_unavailable"}}`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

/// The Markdown files checked: docs/*.md and the READMEs of the workspace, crates
/// and examples.
fn doc_files() -> Vec<PathBuf> {
    let root = workspace();
    let mut files = vec![root.join("README.md")];
    files.extend(md_in(&root.join("docs")));
    for dir in ["crates", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).expect(dir).flatten() {
            let readme = entry.path().join("README.md");
            if readme.is_file() {
                files.push(readme);
            }
        }
    }
    files.sort();
    files
}

fn md_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect()
}

/// A code as the API writes one: lower-case snake_case.
fn is_code(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.ends_with('_')
}

/// The backticked words of `s`, in order.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// The codes of docs/http-api.md's error table.
fn table_codes() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(workspace().join("docs/http-api.md")).unwrap();
    let table = doc
        .split("| Status | Codes | When |")
        .nth(1)
        .expect("docs/http-api.md has the `| Status | Codes | When |` error table");
    let mut codes = BTreeSet::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').collect();
        assert!(
            cells.len() > 3 && cells[1].trim().parse::<u16>().is_ok(),
            "an error table row without a status: {row}"
        );
        codes.extend(
            backticked(cells[2])
                .into_iter()
                .filter(|c| is_code(c))
                .map(str::to_owned),
        );
    }
    assert!(codes.len() > 20, "the error table was not read: {codes:?}");
    codes
}

/// `(code, line number)` of every code `text` names, by the rules of this file's doc.
fn named_codes(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        // `409 `call_ended``: an error status, then a code.
        let bytes = line.as_bytes();
        for (at, _) in line.match_indices(" `") {
            // Bytes, not chars: the text before may end in any character.
            let digits = &bytes[at.saturating_sub(3)..at];
            let before = at.checked_sub(4).map(|j| bytes[j]);
            if digits.len() == 3
                && matches!(digits[0], b'4' | b'5')
                && digits.iter().all(u8::is_ascii_digit)
                && !before.is_some_and(|b| b.is_ascii_alphanumeric())
            {
                let rest = &line[at + 2..];
                if let Some(end) = rest.find('`')
                    && is_code(&rest[..end])
                {
                    found.push((rest[..end].to_owned(), n));
                }
            }
        }
        // `error code (`a`, `b`, ...)`.
        for (at, _) in line.match_indices("error code") {
            let rest = line[at..]
                .trim_start_matches("error codes")
                .trim_start_matches("error code");
            if let Some(list) = rest.trim_start().strip_prefix('(') {
                let list = &list[..list.find(')').unwrap_or(list.len())];
                found.extend(
                    backticked(list)
                        .into_iter()
                        .filter(|c| is_code(c))
                        .map(|c| (c.to_owned(), n)),
                );
            }
        }
        // `"code":"store_unavailable"`.
        for (at, _) in line.match_indices("\"code\":") {
            let rest = line[at + 7..].trim_start();
            if let Some(value) = rest.strip_prefix('"') {
                let value = &value[..value.find('"').unwrap_or(0)];
                if is_code(value) {
                    found.push((value.to_owned(), n));
                }
            }
        }
    }
    found
}

/// The Rust sources of every crate and example.
fn sources() -> String {
    let mut all = String::new();
    let mut dirs = vec![workspace().join("crates"), workspace().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && name != "target" && name != "tests" {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                all.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    all
}

#[test]
fn every_code_of_the_error_table_is_one_the_code_answers() {
    let src = sources();
    let missing: Vec<String> = table_codes()
        .into_iter()
        .filter(|c| !src.contains(&format!("\"{c}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/http-api.md's error table names codes no source writes: {missing:?}"
    );
}

#[test]
fn every_error_code_the_docs_name_is_in_the_error_table() {
    let table = table_codes();
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file
            .strip_prefix(workspace())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (code, line) in named_codes(&text) {
            seen += 1;
            if !table.contains(&code) {
                wrong.push(format!("{rel}:{line}: `{code}`"));
            }
        }
    }
    // The rules must keep finding the codes the docs name, or this test checks nothing.
    assert!(seen > 40, "only {seen} named codes found");
    assert!(
        wrong.is_empty(),
        "error codes named in the docs that are not in docs/http-api.md's error table:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_rules_recognise_a_named_code_and_leave_prose_alone() {
    let found = |s: &str| -> Vec<String> { named_codes(s).into_iter().map(|(c, _)| c).collect() };
    assert_eq!(found("answers 409 `call_ended` (and so is"), ["call_ended"]);
    assert_eq!(
        found("`result`: `placed`, or the API's error code (`too_many_calls`, `x_y`, ...)."),
        ["too_many_calls", "x_y"]
    );
    assert_eq!(
        found(r#"`{"error":{"code":"store_unavailable",...}}`"#),
        ["store_unavailable"]
    );
    assert_eq!(
        found(r#"`{"code":400,"message":"Invalid"}`"#),
        Vec::<String>::new()
    );
    assert_eq!(
        found("a `kind`: `rate_limited`, `timeout`"),
        Vec::<String>::new()
    );
    assert_eq!(
        found("port 5060 `sip_uri` and 1404 `x`"),
        Vec::<String>::new()
    );
}
