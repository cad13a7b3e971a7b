//! docs/architecture.md names a handler file per route: this keeps that table true.
//! Every route of the route table (read through the OpenAPI document, which is built
//! from it) is listed exactly once, nothing else is listed, and each named file exists
//! and documents that route's handler (`METHOD /path` in its doc comments).

use std::collections::BTreeSet;
use std::path::Path;

use sipdial_core::api::openapi;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `(METHOD, path, file)` rows of the route → handler table.
fn documented_routes() -> Vec<(String, String, String)> {
    let doc = std::fs::read_to_string(workspace().join("docs/architecture.md"))
        .expect("docs/architecture.md");
    let table = doc
        .split("### Route → handler")
        .nth(1)
        .expect("docs/architecture.md has a `### Route → handler` section");
    table
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("`/"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let unquote = |s: &str| s.trim_matches('`').to_owned();
            (cells[1].to_owned(), unquote(cells[2]), unquote(cells[3]))
        })
        .collect()
}

fn served_routes() -> BTreeSet<(String, String)> {
    let doc = openapi::document();
    let mut routes = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            routes.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn every_route_is_listed_once_with_its_handler_file() {
    let rows = documented_routes();
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    assert_eq!(
        listed.len(),
        rows.len(),
        "a route is listed twice: {rows:?}"
    );
    assert_eq!(
        listed,
        served_routes(),
        "docs/architecture.md drifted from the route table"
    );
    for (method, path, file) in rows {
        let source = std::fs::read_to_string(workspace().join(&file))
            .unwrap_or_else(|e| panic!("{method} {path}: {file}: {e}"));
        assert!(
            source.contains(&format!("`{method} {path}")),
            "{file} does not hold the handler of {method} {path}"
        );
    }
}
