//! `GET {mount}/metrics`: the API's operator metrics (`sipdial_core::api::metrics`) as
//! Prometheus text, for a scraper to read.
//!
//! The recorder is process-global (the `metrics` facade has one), so it is installed once
//! per process, at start-up, before the API records anything; a process that builds
//! several demos (the tests) shares it. The exporter only renders text: the app's own
//! server answers the scrape, so there is no second listener and no second TLS stack.
//! The route is open, like the rest of the demo: a production host puts it behind its
//! own access control (or on an internal port).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sipdial_core::api::metrics;

/// Where the demos serve the metrics, below their mount.
pub const METRICS_PATH: &str = "/metrics";
/// The `Content-Type` of the Prometheus text format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often buffered histogram samples are folded in, so that memory stays flat when
/// nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process); whether ours is the recorder.
/// Another recorder installed first (a host embedding the demo) wins, and `GET /metrics`
/// then answers 404.
pub fn install_metrics() -> bool {
    HANDLE.get_or_init(install).is_some()
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(metrics::PLATFORM_DIAL_SECONDS.to_owned()),
            metrics::PLATFORM_DIAL_BUCKETS,
        )
        .unwrap_or_else(|_| unreachable!("the bucket list is not empty"));
    match builder.install_recorder() {
        Ok(handle) => {
            metrics::describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("sipdial-metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(
                    "metrics upkeep thread did not start ({e}); scrapes still fold samples in"
                );
            }
            Some(handle)
        }
        Err(e) => {
            tracing::warn!("metrics: another recorder is installed ({e}); GET /metrics is off");
            None
        }
    }
}

/// The metrics as Prometheus text; `None` when [`install_metrics`] did not install ours.
pub fn render_metrics() -> Option<String> {
    HANDLE
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorder_renders_the_api_series_with_help_and_buckets() {
        assert!(install_metrics());
        assert!(install_metrics(), "installing twice keeps the first");
        metrics::describe();
        ::metrics::histogram!(metrics::PLATFORM_DIAL_SECONDS, "result" => "ok").record(0.07);
        let text = render_metrics().expect("ours is installed");
        assert!(
            text.contains("# TYPE sipdial_platform_dial_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(r#"sipdial_platform_dial_seconds_bucket{result="ok",le="0.1"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"sipdial_platform_dial_seconds_bucket{result="ok",le="0.05"} 0"#),
            "{text}"
        );
    }
}
