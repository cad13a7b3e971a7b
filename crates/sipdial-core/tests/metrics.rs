//! The operator metrics after a scripted run: dials (placed, refused, failed at the
//! platform), callbacks (applied, unchanged, duplicate, refused), calls ending
//! completed, canceled (our hang-up), no_answer (the ring timeout) and busy (refining
//! a provisional end), and an event stream, read back as the Prometheus text the
//! examples serve at `GET /metrics`.
//!
//! The recorder is process-global, so this binary holds this one test only.
#![cfg(feature = "fake")]

mod http_support;

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use http_body_util::Full;
use http_support::*;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use sipdial_core::api::{SipTarget, metrics};
use sipdial_core::fake::{Operation, Script};
use sipdial_core::{DialError, SipDialService};
use tower::ServiceExt;

/// Every sample of the rendered text (`name{labels}` → value), comments left out.
fn samples(handle: &PrometheusHandle) -> BTreeMap<String, f64> {
    handle
        .render()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The value of `series`, 0 when absent.
fn value(handle: &PrometheusHandle, series: &str) -> f64 {
    samples(handle).get(series).copied().unwrap_or(0.0)
}

fn updated(session: &str, call: &Value, state: &str, at: u64) -> Value {
    json!({ "sessionId": session, "event": "callUpdated", "timestamp": at, "state": state,
            "call": { "id": call["id"], "connectionId": call["connectionId"] } })
}

async fn callback(f: &Fixture, body: Value) -> String {
    let res = f.send(Method::POST, "/sip/callbacks", Some(body)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.json()["status"].as_str().unwrap().to_owned()
}

/// Every `sipdial_` sample the run leaves (histogram sums and buckets aside), with its
/// exact value.
const EXPECTED: &str = r#"
    sipdial_dials_total{target="support",result="placed"} 1
    sipdial_dials_total{target="sales",result="placed"} 3
    sipdial_dials_total{target="sales",result="replayed"} 1
    sipdial_dials_total{target="slow",result="placed"} 1
    sipdial_dials_total{target="unknown",result="invalid_field"} 1
    sipdial_dials_total{target="support",result="platform_timeout"} 1
    sipdial_platform_errors_total{op="dial",kind="timeout"} 1
    sipdial_platform_dial_seconds_count{result="ok"} 5
    sipdial_platform_dial_seconds_count{result="error"} 1
    sipdial_call_transitions_total{state="dialing"} 5
    sipdial_call_transitions_total{state="ringing"} 2
    sipdial_call_transitions_total{state="active"} 1
    sipdial_call_transitions_total{state="ended"} 4
    sipdial_calls_ended_total{outcome="completed",target="support"} 1
    sipdial_calls_ended_total{outcome="canceled",target="sales"} 1
    sipdial_calls_ended_total{outcome="no_answer",target="slow"} 1
    sipdial_calls_ended_total{outcome="failed",target="sales"} 1
    sipdial_call_outcomes_refined_total{from="failed",to="busy",target="sales"} 1
    sipdial_callbacks_total{result="accepted",reason="applied"} 6
    sipdial_callbacks_total{result="accepted",reason="duplicate"} 1
    sipdial_callbacks_total{result="accepted",reason="unchanged"} 1
    sipdial_callbacks_total{result="refused",reason="invalid_json"} 1
    sipdial_sse_subscribers 0
"#;

#[tokio::test]
async fn a_scripted_run_leaves_exact_values() {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this binary");
    metrics::describe();
    // `slow` gives up ringing after 300 ms; timers are looked at every 50 ms.
    let f = fixture_with(|b| {
        b.target(
            SipTarget::parse("slow", "sip:slow@pbx.example.com")
                .ring_timeout(Duration::from_millis(300)),
        )
        .timer_poll_interval(Duration::from_millis(50))
    });
    let s = f.session("metrics").await;

    // Dials: two placed (the default target and a named one), one naming no configured
    // target, one the platform fails.
    let support = f.dial(&s).await;
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": s, "target": "sales" })),
        )
        .await;
    assert_eq!(res.status, 201);
    let sales = res.json();
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": s, "target": "no such target" })),
        )
        .await;
    assert_eq!(res.assert_error(400), "invalid_field");
    f.fake
        .script_once(Operation::Dial, Script::Fail(DialError::Timeout));
    let res = f
        .send(Method::POST, "/sip/dial", Some(json!({ "sessionId": s })))
        .await;
    assert_eq!(res.assert_error(504), "platform_timeout");

    // Callbacks: the support call rings, answers (delivered twice) and ends busy-free;
    // one delivery is not JSON, one not even JSON-typed.
    assert_eq!(
        callback(&f, updated(&s, &support, "RINGING", 10)).await,
        "applied"
    );
    assert_eq!(
        callback(&f, updated(&s, &support, "ACTIVE", 11)).await,
        "applied"
    );
    assert_eq!(
        callback(&f, updated(&s, &support, "ACTIVE", 11)).await,
        "duplicate"
    );
    assert_eq!(
        callback(&f, updated(&s, &support, "RINGING", 12)).await,
        "unchanged"
    );
    let ended = json!({ "sessionId": s, "event": "callDestroyed", "timestamp": 13,
        "reason_code": "200", "reason_message": "OK",
        "call": { "id": support["id"], "connectionId": support["connectionId"] } });
    assert_eq!(callback(&f, ended).await, "applied");
    let res = f
        .send(Method::POST, "/sip/callbacks", Some(json!([1, 2])))
        .await;
    assert_eq!(res.assert_error(400), "invalid_json");
    let mut req = request(Method::POST, "/sip/callbacks", None);
    *req.body_mut() = Full::new("event=x".into());
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let refused_type = send_req(&f.api, req).await;
    let type_code = refused_type.code();
    assert_eq!(refused_type.status, 415, "{type_code}");

    // Our own hang-up ends the sales call.
    let id = sales["id"].as_str().unwrap();
    let res = f
        .send(Method::DELETE, &format!("/sip/calls/{id}"), None)
        .await;
    assert_eq!(res.status, 204);

    // In a second session (the first is at its dial rate): `slow` rings until its ring
    // timeout ends it; another call's connection goes first (a provisional end), then
    // the platform says busy.
    let s2 = f.session("metrics-2").await;
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": s2, "target": "slow" })),
        )
        .await;
    assert_eq!(res.status, 201);
    let slow = res.json();
    assert_eq!(
        callback(&f, updated(&s2, &slow, "RINGING", 20)).await,
        "applied"
    );
    let id = slow["id"].as_str().unwrap();
    let mut timed_out = Value::Null;
    for _ in 0..100 {
        timed_out = f
            .send(Method::GET, &format!("/sip/calls/{id}"), None)
            .await
            .json();
        if timed_out["state"] == "ended" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(timed_out["outcome"], "no_answer", "{timed_out}");
    let res = f
        .send(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": s2, "target": "sales" })),
        )
        .await;
    assert_eq!(res.status, 201);
    let busy = res.json();
    let gone = json!({ "sessionId": s2, "event": "connectionDestroyed", "timestamp": 30,
        "reason": "networkDisconnected", "connection": { "id": busy["connectionId"] } });
    assert_eq!(callback(&f, gone).await, "applied");
    let destroyed = json!({ "sessionId": s2, "event": "callDestroyed", "timestamp": 31,
        "reason_code": "486", "reason_message": "Busy Here",
        "call": { "id": busy["id"], "connectionId": busy["connectionId"] } });
    assert_eq!(callback(&f, destroyed).await, "applied");
    let id = busy["id"].as_str().unwrap();
    let refined = f
        .send(Method::GET, &format!("/sip/calls/{id}"), None)
        .await
        .json();
    assert_eq!(refined["outcome"], "busy", "{refined}");

    // A dial retried with its Idempotency-Key: placed once, replayed once.
    for _ in 0..2 {
        let mut req = request(
            Method::POST,
            "/sip/dial",
            Some(json!({ "sessionId": s2, "target": "sales" })),
        );
        req.headers_mut()
            .insert("idempotency-key", http::HeaderValue::from_static("m-1"));
        assert_eq!(send_req(&f.api, req).await.status, 201);
    }

    // An event stream counts while its body lives.
    let res = SipDialService::new(f.api.clone())
        .oneshot(request(
            Method::GET,
            &format!("/sip/events?sessionId={s}"),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(value(&handle, "sipdial_sse_subscribers"), 1.0);
    drop(res);
    assert_eq!(value(&handle, "sipdial_sse_subscribers"), 0.0);

    let got = samples(&handle);
    let expected: Vec<(&str, f64)> = EXPECTED
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.trim().rsplit_once(' ').unwrap();
            (series, value.parse().unwrap())
        })
        .collect();
    for (series, want) in &expected {
        assert_eq!(
            got.get(*series),
            Some(want),
            "{series} in\n{}",
            handle.render()
        );
    }
    let refused_type_series =
        format!(r#"sipdial_callbacks_total{{result="refused",reason="{type_code}"}}"#);
    assert_eq!(
        got.get(&refused_type_series),
        Some(&1.0),
        "{}",
        handle.render()
    );
    // Nothing else was counted: the series above are all there is (histogram sums and
    // quantiles aside).
    let mut listed: Vec<String> = expected.iter().map(|(s, _)| (*s).to_owned()).collect();
    listed.push(refused_type_series);
    listed.retain(|s| !s.contains("_seconds"));
    listed.sort();
    let counted: Vec<&String> = got
        .keys()
        .filter(|k| k.starts_with("sipdial_") && !k.contains("_seconds"))
        .collect();
    assert_eq!(
        counted,
        listed.iter().collect::<Vec<_>>(),
        "{}",
        handle.render()
    );
    // Help texts reach the exposition.
    assert!(handle.render().contains("# HELP sipdial_dials_total"));
}
