//! Every fuzz target's property, replayed under `cargo test` on the checked-in seeds
//! (`fuzz/seeds/<target>/`) and on every input a fuzzing run found to crash
//! (`fuzz/regressions/<target>/`, copied there from `fuzz/artifacts/`), plus the
//! hand-written regressions of bugs the hostile-input suite found.

use std::path::PathBuf;

use sipdial_hostile_tests::props;

/// A property over the fuzzer's input.
type Property = fn(&[u8]);

/// The fuzz targets and the property each one checks (the same table as `fuzz/`).
const TARGETS: &[(&str, Property)] = &[
    ("sip_uri", props::sip_uri),
    ("sip_from", props::sip_from),
    ("sip_headers", props::sip_headers_json),
    ("dtmf", props::dtmf),
    ("room", props::room),
    ("connection_data", props::connection_data),
    ("session_id", props::session_id),
    ("session_format", props::session_format_round_trip),
    ("dial_body", props::dial_body),
    ("api_request", |d| {
        let _ = props::api_request(d);
    }),
    ("callback", |d| {
        let _ = props::callback_request(d);
    }),
];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn every_fuzz_target_is_replayed_here() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut here: Vec<String> = TARGETS.iter().map(|(t, _)| (*t).to_owned()).collect();
    here.sort();
    assert_eq!(on_disk, here);
}

#[test]
fn seeds_and_found_crashes_hold_every_property() {
    let mut replayed = 0;
    for (target, property) in TARGETS {
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| property(&data));
                assert!(outcome.is_ok(), "{target}: {} fails", path.display());
                replayed += 1;
            }
        }
    }
    assert!(replayed >= TARGETS.len(), "only {replayed} inputs replayed");
}

/// Found by the hostile-input suite: serde reads a struct from an array of its fields,
/// so `["<sessionId>",null,null,null,null]` was a valid dial body.
#[test]
fn a_json_array_is_not_a_dial_body() {
    let e = sipdial_core::api::fuzzing::parse_dial_body(br#"["1_abc",null,null,null,null]"#)
        .unwrap_err();
    assert_eq!((e.status().as_u16(), e.code()), (400, "invalid_json"));
    props::dial_body(br#"["1_abc",null,null,null,null]"#);
}

/// Found by the hostile-input suite: a header name given twice kept the last value.
#[test]
fn a_header_given_twice_is_refused() {
    let e = sipdial_core::api::fuzzing::parse_dial_body(
        br#"{"sessionId":"1_abc","headers":{"X-A":"vetted","X-A":"dialed"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.code(), "invalid_field");
    assert_eq!(e.message(), "invalid `headers`: has a key given twice");
    let e = sipdial_core::api::fuzzing::parse_dial_body(
        br#"{"sessionId":"1_abc","sessionId":"1_def"}"#,
    )
    .unwrap_err();
    assert_eq!(e.message(), "invalid `sessionId`: is given twice");
}

/// The API under fuzz answers the seeded requests with success, so the fuzzer starts
/// from inputs that reach the dialer and the property's dialer accounting is exercised.
#[test]
fn api_seeds_reach_the_dialer() {
    let status = |d: &[u8]| props::api_request(d).map(|s| s.as_u16());
    assert_eq!(status(b"\x00\x00{\"sessionId\":\"{sid}\"}"), Some(201));
    // 409 once a replayed seed hung the call up (the API is shared by the whole run).
    assert!(matches!(
        status(b"\x03\x00{\"digits\":\"1\"}"),
        Some(204 | 409)
    ));
    assert_eq!(status(b"\x00\x02{\"sessionId\":\"{sid}\"}"), Some(415));
    assert_eq!(status(b"\x06\x01"), Some(200));
}
