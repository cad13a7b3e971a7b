//! The folders of `src/` are layers and every dependency points down: this reads every
//! `crate::` path in the crate's code (imports and paths in expressions alike), maps
//! each file and each path to its layer, and fails on an import from a lower layer to
//! a higher one, on a circle between top-level modules, and on `super::super::`.
//! docs/architecture.md states the same table ("### Layers"); a test keeps them equal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, and the top-level modules of `src/` each holds. A module
/// not named here is a domain module at the crate root (ids, sip, events, ...): the
/// lowest layer. A layer may import its own layer and every layer before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("call", &["call"]),
    ("backend", &["backend"]),
    ("policy", &["policy"]),
    ("engine", &["engine"]),
    ("http", &["http"]),
    ("config", &["config"]),
    ("facade", &["api", "lib", "testing"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn layer_of_module(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, mods)| mods.contains(&module))
        .unwrap_or(0)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/engine/webhooks/mod.rs` → `engine`,
/// `src/ids.rs` → `ids`, `src/lib.rs` → `lib`).
fn module_of_file(path: &Path) -> String {
    let rel = path.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component");
    let first = first.as_os_str().to_str().expect("utf-8");
    first.strip_suffix(".rs").unwrap_or(first).to_owned()
}

/// The code of a file without its comments (doc links name paths that are no
/// dependency) and without string literals.
fn code_of(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let mut code = String::new();
        let mut in_str = false;
        let mut prev = '\0';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_str {
                if c == '"' && prev != '\\' {
                    in_str = false;
                }
                prev = if prev == '\\' && c == '\\' { '\0' } else { c };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
                prev = '\0';
                continue;
            }
            code.push(c);
        }
        out.push_str(&code);
        out.push('\n');
    }
    out
}

/// Names re-exported at the crate root (`pub use http::service::{SipDialService, ..}`
/// in lib.rs) and the top-level module each comes from, so that `crate::SipDialService`
/// counts as a use of `http`.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = code_of(&std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs"));
    let mut names = BTreeMap::new();
    for stmt in lib.split(';') {
        let stmt = stmt.trim();
        let Some(rest) = stmt.strip_prefix("pub use ") else {
            continue;
        };
        let module = rest
            .split("::")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let items = match (rest.find('{'), rest.rfind('}')) {
            (Some(a), Some(b)) => rest[a + 1..b].to_owned(),
            _ => rest.rsplit("::").next().unwrap_or_default().to_owned(),
        };
        for item in items.split(',') {
            let item = item.split(" as ").last().unwrap_or_default().trim();
            if !item.is_empty() {
                names.insert(item.to_owned(), module.clone());
            }
        }
    }
    names
}

/// The first segment of every `crate::` path in `code`, `crate::{a::x, b}` giving
/// `a` and `b`. `$crate::` (a macro's path, resolved where the macro is used) is not
/// a dependency of the file that declares the macro.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        from = at + "crate::".len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c == '$' || c == '_' || c.is_alphanumeric()) {
            continue;
        }
        if bytes.get(from) == Some(&b'{') {
            let mut depth = 0;
            let mut item = String::new();
            let mut firsts = Vec::new();
            for c in code[from..].chars() {
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            item.push(c);
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            firsts.push(item.clone());
                            break;
                        }
                        item.push(c);
                    }
                    ',' if depth == 1 => firsts.push(std::mem::take(&mut item)),
                    _ => item.push(c),
                }
            }
            for f in firsts {
                let head: String = f
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !head.is_empty() {
                    out.push(head);
                }
            }
        } else {
            let head: String = code[from..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                out.push(head);
            }
        }
    }
    out
}

/// Every top-level module each top-level module uses, with the files that show it.
fn graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<PathBuf>>> {
    let reexports = root_reexports();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<PathBuf>>> = BTreeMap::new();
    for file in files {
        let from = module_of_file(&file);
        let code = code_of(&std::fs::read_to_string(&file).expect("source"));
        for head in crate_paths(&code) {
            let to = reexports.get(&head).cloned().unwrap_or(head);
            if to != from && to != "self" && to != "super" {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(file.clone());
            }
        }
    }
    edges
}

#[test]
fn every_dependency_points_down() {
    let mut upward = Vec::new();
    for (from, tos) in graph() {
        for (to, files) in tos {
            let (lf, lt) = (layer_of_module(&from), layer_of_module(&to));
            if lt > lf {
                for file in files {
                    upward.push(format!(
                        "{from} ({}) imports crate::{to} ({}): {}",
                        LAYERS[lf].0,
                        LAYERS[lt].0,
                        file.strip_prefix(src()).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_circle_between_top_level_modules() {
    let edges = graph();
    // Depth-first search; a back edge to a module on the stack closes a circle.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeMap<String, BTreeSet<PathBuf>>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        stack.push(node.to_owned());
        for to in edges.get(node).into_iter().flat_map(|t| t.keys()) {
            if let Some(circle) = visit(to, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        let mut stack = Vec::new();
        if let Some(circle) = visit(node, &edges, &mut stack, &mut done) {
            panic!("a circle between modules: {}", circle.join(" -> "));
        }
    }
}

#[test]
fn no_super_super() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            code_of(&std::fs::read_to_string(f).expect("source")).contains("super::super::")
        })
        .map(|f| f.strip_prefix(src()).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "`super::super::` (use `crate::` across folders): {offenders:?}"
    );
}

#[test]
fn the_architecture_doc_states_the_same_layers() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/architecture.md"),
    )
    .expect("docs/architecture.md");
    let section = doc
        .split("### Layers")
        .nth(1)
        .expect("docs/architecture.md has a `### Layers` section");
    let documented: Vec<String> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.split('|')
                .nth(1)
                .unwrap_or_default()
                .trim()
                .trim_matches('`')
                .to_owned()
        })
        .collect();
    let table: Vec<String> = LAYERS.iter().map(|(name, _)| (*name).to_owned()).collect();
    assert_eq!(
        documented, table,
        "docs/architecture.md's layer table (lowest first) differs from this test's"
    );
}
