//! The whole conformance suite (HTTP and SSE cases) with every case's API over a Redis
//! backend of its own, through the Axum router (in process and on a real socket) and the
//! Actix scope (on a real socket).

mod support;

use sipdial_core::testing::{run_sse_suite_on, run_suite_on};
use support::forms::{ActixServed, Merged, Served};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_over_redis() {
    let redis = redis_or_skip!();
    run_suite_on::<Merged>(support::factory(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_suite_passes_over_redis() {
    let redis = redis_or_skip!();
    run_sse_suite_on::<Served>(support::factory(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_over_redis_through_actix() {
    let redis = redis_or_skip!();
    run_suite_on::<ActixServed>(support::factory(redis.url())).await;
    run_sse_suite_on::<ActixServed>(support::factory(redis.url())).await;
}
