//! The API router merges, converts and nests into a host `Router<AppState>` whose state
//! it knows nothing about, before the host calls `with_state`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use sipdial_core::SipDialApi;
use sipdial_core::fake::FakeDialer;

#[derive(Clone)]
struct AppState {
    visits: Arc<AtomicU64>,
}

async fn index(State(state): State<AppState>) -> String {
    state.visits.fetch_add(1, Ordering::Relaxed).to_string()
}

fn main() {
    let api = SipDialApi::builder(Arc::new(FakeDialer::new())).anonymous()
        .build()
        .unwrap();
    let state = AppState {
        visits: Arc::new(AtomicU64::new(0)),
    };

    let merged: Router<AppState> = Router::new()
        .route("/", get(index))
        .merge(sipdial_axum::router(api.clone()));
    let converted: Router<AppState> = Router::new()
        .route("/", get(index))
        .merge(sipdial_axum::SipDial(api.clone()));
    let from: Router<AppState> = sipdial_axum::SipDial::from(api).into();

    let nested: Router<AppState> = Router::new().nest("/api", from);

    let app: Router = merged.with_state(state.clone());
    let _converted: Router = converted.with_state(state.clone());
    let _nested: Router = nested.with_state(state);
    let _make_service = app.into_make_service();
}
